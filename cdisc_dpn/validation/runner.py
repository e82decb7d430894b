"""validate_domains / validate_folder: GX suites + conformance rules -> ValidationResult.

Findings carry the SDTM row (1-based), USUBJID, the value, the raw file/row behind the record
when the DomainFrame's provenance knows it, and the spec file:line of the checked variable
(in `file`/`spec_line` when no raw provenance is known, always in extra["spec"]).
At most `max_rows_listed` records are listed per rule, dataset and variable; counts are complete.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Collection, Iterable, Mapping

import numpy as np
import pandas as pd

from cdisc_dpn.errors import Finding, Severity
from cdisc_dpn.frames import DomainFrame
from cdisc_dpn.raw.table import SOURCE_FILE, SOURCE_ROW
from cdisc_dpn.spec.model import DatasetSpec, Specs
from cdisc_dpn.standards.kinds import number_text
from cdisc_dpn.terminology.ct import Terminology
from cdisc_dpn.validation.catalogue import with_severities, Catalogue, load_catalogue, render
from cdisc_dpn.validation.conformance import CHECKS, CheckContext, Violation
from cdisc_dpn.validation.gx_runner import Outcome, shared_runner
from cdisc_dpn.validation.suites import build_suite

if TYPE_CHECKING:
    from cdisc_dpn.validation.gx_worker import GxWorker
    from cdisc_dpn.validation.open_rules.runs import OpenRulesConfig

STAGE = "validate"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RuleCount:
    rule_id: str
    severity: str
    description: str
    kind: str                                  # expectation | rule
    failures: int = 0                          # failing records (or dataset-level problems), all counted
    listed: int = 0                            # findings listed in the report
    datasets: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "severity": self.severity, "description": self.description,
                "kind": self.kind, "failures": self.failures, "listed": self.listed,
                "datasets": dict(sorted(self.datasets.items()))}


@dataclass
class ValidationResult:
    findings: list[Finding]
    rule_counts: dict[str, RuleCount]
    rules_run: int                             # conformance rules run
    expectations: int                          # GX expectations run
    datasets: dict[str, int]                   # dataset -> records checked
    duration: float = 0.0                      # seconds; never written to the deterministic reports
    ct_version: str = ""
    define_file: str | None = None
    open_rules: dict[str, Any] = field(default_factory=dict)   # Open Rules summary (rules run, not run and why)

    @property
    def error_count(self) -> int:
        return sum(c.failures for c in self.rule_counts.values() if c.severity == Severity.ERROR.value)

    @property
    def passed(self) -> bool:
        return self.error_count == 0

    def failures_by_severity(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Severity}
        for c in self.rule_counts.values():
            counts[c.severity] += c.failures
        return counts


def sort_key(f: Finding) -> tuple:
    return (f.severity.rank, f.code, f.dataset or "", f.variable or "", f.row or 0, f.usubjid or "",
            f.value or "", f.message)


def _display_path(path: str | None) -> str | None:
    if not path:
        return path
    p = Path(path)
    if p.is_absolute():
        try:
            return p.resolve().relative_to(PROJECT_ROOT).as_posix()
        except ValueError:
            return p.as_posix()
    return path


def value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        return number_text(value)
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return str(value)


class _Collector:
    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        self.findings: list[Finding] = []
        self.counts: dict[str, RuleCount] = {}

    def count(self, rule_id: str, severity: Severity, description: str, kind: str) -> RuleCount:
        if rule_id not in self.counts:
            self.counts[rule_id] = RuleCount(rule_id, severity.value, description, kind)
        return self.counts[rule_id]

    def add(self, rc: RuleCount, dataset: str | None, total: int, findings: list[Finding]) -> None:
        rc.failures += total
        rc.listed += len(findings)
        if dataset:
            rc.datasets[dataset] = rc.datasets.get(dataset, 0) + total
        self.findings.extend(findings)


@dataclass
class _Dataset:
    name: str
    frame: pd.DataFrame
    provenance: pd.DataFrame | None
    spec: DatasetSpec

    def usubjid(self, row: int) -> str | None:
        if "USUBJID" in self.frame.columns and 0 <= row < len(self.frame):
            return value_text(self.frame["USUBJID"].iat[row]) or None
        return None

    def source(self, row: int) -> tuple[str | None, int | None]:
        p = self.provenance
        if p is None or not (0 <= row < len(p)) or SOURCE_FILE not in p.columns:
            return None, None
        file = value_text(p[SOURCE_FILE].iat[row])
        srow = p[SOURCE_ROW].iat[row] if SOURCE_ROW in p.columns else None
        srow = int(srow) if srow is not None and not pd.isna(srow) and int(srow) > 0 else None
        return (file or None), srow

    def spec_where(self, variable: str | None) -> tuple[str | None, int | None]:
        var = self.spec.variable(variable) if variable else None
        where = var.where if var is not None else self.spec.where
        file = where.file if where.file != "<none>" else (self.spec.file or None)
        return _display_path(file), where.line


def _finding(code: str, severity: Severity, message: str, ds: _Dataset | None, variable: str | None, row: int,
             value: str | None, spec: tuple[str | None, int | None], usubjid: str | None = None,
             extra: dict[str, Any] | None = None) -> Finding:
    raw_file, raw_row = ds.source(row) if ds is not None and row >= 0 else (None, None)
    spec_file, spec_line = spec
    extra = dict(extra or {})
    if spec_file:
        extra["spec"] = f"{spec_file}:{spec_line}" if spec_line else spec_file
    if raw_file:
        extra["source"] = f"{raw_file}, row {raw_row}" if raw_row else raw_file
    return Finding(
        code=code, severity=severity, message=message, stage=STAGE, dataset=ds.name if ds else None,
        variable=variable, usubjid=usubjid or (ds.usubjid(row) if ds is not None and row >= 0 else None),
        value=value or None, row=row + 1 if row >= 0 else None,
        file=raw_file or spec_file, source_row=raw_row if raw_file else None,
        spec_line=None if raw_file else spec_line, extra=extra)


# --------------------------------------------------------------------------- GX outcomes
def _column_order_detail(expected: list[str], observed: list[str]) -> str:
    missing = [c for c in expected if c not in observed]
    extra = [c for c in observed if c not in expected]
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if extra:
        parts.append("not in the spec " + ", ".join(extra))
    if not parts:
        common = [c for c in observed if c in expected]
        for i, (a, b) in enumerate(zip(common, [c for c in expected if c in observed])):
            if a != b:
                parts.append(f"position {i + 1} is {a}, the spec puts {b} there")
                break
    return "; ".join(parts) or "order differs"


def _gx_findings(outcome: Outcome, ds: _Dataset, collector: _Collector) -> None:
    meta = outcome.meta
    rule = collector.catalogue.expectation(meta["rule_id"])
    severity = Severity(meta.get("severity", rule.severity.value))
    rc = collector.count(rule.id, severity, rule.description, "expectation")
    if outcome.success and outcome.exception is None:
        return
    variable = meta.get("variable")
    spec = (_display_path(meta.get("spec_file")), meta.get("spec_line"))
    fields: dict[str, Any] = {"dataset": ds.name, "variable": variable, **(meta.get("params") or {})}
    result = outcome.result
    if outcome.exception is not None:
        # the library's exception text is for a bug report (extra.internal_error), not for the message
        message = (f"expectation {outcome.type} on {ds.name}.{variable or ''} could not run, so this check "
                   f"was not made; please report it with report.json")
        collector.add(rc, ds.name, 1, [_finding("VAL-GX-EXCEPTION", Severity.NOTICE, message, ds, variable, -1,
                                                None, spec, extra={"internal_error": str(outcome.exception)})])
        return
    rows = result.get("unexpected_index_list")
    if rows is None:
        if outcome.type == "expect_table_columns_to_match_ordered_list":
            fields["detail"] = _column_order_detail(list(outcome.kwargs["column_list"]),
                                                    list(result.get("observed_value") or ds.frame.columns))
        else:
            fields["detail"] = value_text(result.get("observed_value"))
        collector.add(rc, ds.name, 1, [_finding(rule.id, severity, render(rule.message, fields), ds, variable, -1,
                                                None, spec)])
        return
    total = int(result.get("unexpected_count") or len(rows))
    listed = sorted(int(r) for r in rows)[: collector.catalogue.max_rows]
    if outcome.type == "expect_compound_columns_to_be_unique":
        cols = list(outcome.kwargs["column_list"])
        values = [", ".join(f"{c}={value_text(ds.frame[c].iat[r])}" for c in cols) for r in listed]
    else:
        col = ds.frame[outcome.kwargs["column"]]
        values = [value_text(col.iat[r]) if not isinstance(col.iat[r], str) else col.iat[r] for r in listed]
    out = []
    for r, v in zip(listed, values):
        out.append(_finding(rule.id, severity, render(rule.message, {**fields, "value": v, "usubjid": ds.usubjid(r)}),
                            ds, variable, r, v, spec, extra={"expectation": outcome.type}))
    collector.add(rc, ds.name, total, out)


def _worker_lost(problem: str, collector: _Collector) -> None:
    rc = collector.count("VAL-GX-WORKER", Severity.NOTICE, "The expectation suites' worker process stopped; "
                         "they ran in the main process instead.", "expectation")
    message = (f"the worker process running the expectation suites was given up: {problem}; the suites it had "
               f"not answered for ran in the main process, so every check was made")
    collector.add(rc, None, 1, [_finding("VAL-GX-WORKER", Severity.NOTICE, message, None, None, -1, None,
                                         (None, None), extra={"internal_error": problem})])


# --------------------------------------------------------------------------- conformance rules
def _rule_findings(rule, violations: Iterable[Violation], datasets: Mapping[str, _Dataset],
                   collector: _Collector) -> None:
    rc = collector.count(rule.id, rule.severity, rule.description, "rule")
    rule_spec = (_display_path(collector.catalogue.file), rule.line)
    for v in violations:
        recs = v.records
        total = len(recs)
        if total == 0:
            continue
        ds = datasets.get(v.dataset) if v.dataset else None
        spec = ds.spec_where(v.variable) if ds is not None else rule_spec
        listed = recs.sort_values("row", kind="stable").head(collector.catalogue.max_rows)
        out = []
        for rec in listed.to_dict("records"):
            row = int(rec.pop("row"))
            # A check may name the spec line behind each record (e.g. the plausible range it broke).
            record_spec = (_display_path(rec.pop("spec_file", None)) or None, rec.pop("spec_line", None) or None)
            where = record_spec if record_spec[0] else spec
            fields = {**rule.params, "dataset": v.dataset, "variable": v.variable,
                      **{k: value_text(x) for k, x in rec.items()}}
            usubjid = fields.get("usubjid") or None
            f = _finding(rule.id, rule.severity, render(rule.message, fields), ds, v.variable, row,
                         fields.get("value"), where, usubjid=usubjid,
                         extra={"rule": f"{rule_spec[0]}:{rule_spec[1]}" if rule_spec[1] else rule_spec[0]})
            if ds is None:
                f = replace(f, dataset=v.dataset)
            out.append(f)
        collector.add(rc, v.dataset, total, out)


# --------------------------------------------------------------------------- entry points
def _prepare(domains: Mapping[str, DomainFrame]) -> dict[str, _Dataset]:
    out = {}
    for name in sorted(domains):
        d = domains[name]
        frame = d.frame.reset_index(drop=True)     # GX batches get object strings (gx_runner), not a copy here
        prov = d.provenance.reset_index(drop=True) if d.provenance is not None and len(d.provenance) == len(frame) \
            else None
        out[name] = _Dataset(name, frame, prov, d.spec)
    return out


def _selected(catalogue: Catalogue, rule_ids: Collection[str] | None) -> frozenset[str] | None:
    if rule_ids is None:
        return None
    selected = frozenset(rule_ids)
    unknown = selected - {r.id for r in catalogue.rules} - set(catalogue.expectations)
    if unknown:
        raise ValueError(f"unknown rule id(s) {', '.join(sorted(unknown))}: not in {catalogue.file}")
    return selected


def _suite(spec: DatasetSpec, terminology: Terminology, catalogue: Catalogue, *, lengths: Mapping[str, int] | None,
           column_order: list[str] | None, selected: frozenset[str] | None) -> dict | None:
    """The suite a dataset is validated with (None when the selected rules leave nothing in it)."""
    suite = build_suite(spec, terminology, lengths=lengths, column_order=column_order, catalogue=catalogue)
    if selected is not None:
        suite = {**suite, "expectations": [e for e in suite["expectations"] if e["meta"]["rule_id"] in selected]}
        if not suite["expectations"]:
            return None
    return suite


def submit_suite(gx: "GxWorker", name: str, domain: DomainFrame, terminology: Terminology, *,
                 lengths: Mapping[str, int] | None = None, severities: Mapping[str, str] | None = None,
                 rules_path: Path | None = None, codes: Mapping[str, Any] | None = None) -> None:
    """Hand a finished dataset to the GX worker, so its verdicts are ready when `validate_domains` is
    called with the same data and options (with other options the suite differs and runs there).
    `codes`: `distinct.value_codes` of some of its columns, when the caller has them (the writer's)."""
    catalogue = with_severities(load_catalogue(rules_path), severities or {})
    suite = _suite(domain.spec, terminology, catalogue, lengths=lengths, column_order=None, selected=None)
    if suite is not None:
        gx.submit(name, domain.frame, suite, codes)


def validate_domains(domains: Mapping[str, DomainFrame], terminology: Terminology, *, specs: Specs | None = None,
                     define_path: Path | None = None, lengths: Mapping[str, Mapping[str, int]] | None = None,
                     rules_path: Path | None = None,
                     column_orders: Mapping[str, list[str]] | None = None,
                     severities: Mapping[str, str] | None = None,
                     rule_ids: Collection[str] | None = None,
                     progress: Callable[[str], None] | None = None,
                     open_rules: "OpenRulesConfig | None" = None,
                     gx: "GxWorker | None" = None) -> ValidationResult:
    """Run the spec-generated GX suites and the conformance rules on in-memory SDTM datasets.

    `lengths`: dataset -> variable -> declared XPT length (used when the spec has none, and for
    the define.xml length check). `column_orders` overrides the expected column list per dataset.
    `rule_ids` runs only those expectation types and conformance rules (all when None); an id
    that is in neither the catalogue's rules nor its expectations is a ValueError.
    `progress` is told what is done (per dataset, then per rule); the caller decides what to print.
    `gx`: a worker the datasets were handed to (`submit_suite`); its verdicts are taken in dataset
    order after the rules ran, and a dataset it does not answer for runs here, so the findings are
    the same either way.
    """
    tell = progress or (lambda _message: None)
    started = time.perf_counter()
    catalogue = with_severities(load_catalogue(rules_path), severities or {})
    selected = _selected(catalogue, rule_ids)
    collector = _Collector(catalogue)
    datasets = _prepare(domains)
    lengths = lengths or {}

    def run_suites() -> int:
        expectations = 0
        for number, (name, ds) in enumerate(datasets.items(), start=1):
            tell(f"expectations: {name} ({number}/{len(datasets)} datasets, {expectations} expectations done)")
            suite = _suite(ds.spec, terminology, catalogue, lengths=lengths.get(name),
                           column_order=(column_orders or {}).get(name), selected=selected)
            if suite is None:
                continue
            done = gx.outcomes(name, domains[name].frame, suite) if gx is not None else None
            outcomes, ran = done if done is not None else shared_runner().run(suite, ds.frame)
            expectations += ran
            for outcome in outcomes:
                _gx_findings(outcome, ds, collector)
        if gx is not None and gx.problem is not None:
            _worker_lost(gx.problem, collector)
        return expectations

    # With a worker the suites' verdicts are taken last, so the rules run while it finishes (the
    # findings are sorted, so the order they are collected in does not show in any output).
    expectations = run_suites() if gx is None else None
    done_text = "expectation suites running in the worker process" if gx is not None else \
        f"{expectations} expectations done"
    define = None
    if define_path is not None:
        from cdisc_dpn.validation.define_meta import read_define
        define = read_define(Path(define_path))
    ctx = CheckContext({n: d.frame for n, d in datasets.items()}, {n: d.spec for n, d in datasets.items()},
                       define, lengths, specs.terminology.plausible_ranges if specs is not None else ())
    open_outcome = _run_open_rules(open_rules, datasets, lengths, collector, severities or {}) \
        if open_rules is not None and open_rules.enabled else None
    rules_run = 0
    for number, rule in enumerate(catalogue.rules, start=1):
        tell(f"conformance rules: {rule.id} ({number}/{len(catalogue.rules)}; {done_text})")
        if open_outcome is not None and rule.open_rules and all(open_outcome.ran(r) for r in rule.open_rules):
            continue                       # the CDISC Open Rule(s) checking the same thing ran instead
        chk = CHECKS[rule.check]
        if selected is not None and rule.id not in selected:
            continue
        if chk.needs_define and define is None:
            continue
        rules_run += 1
        _rule_findings(rule, chk.function(ctx, **rule.params), datasets, collector)
    if expectations is None:
        expectations = run_suites()
    findings = sorted(collector.findings, key=sort_key)
    return ValidationResult(
        findings=findings, rule_counts=dict(sorted(collector.counts.items())), rules_run=rules_run,
        expectations=expectations, datasets={n: len(d.frame) for n, d in datasets.items()},
        duration=time.perf_counter() - started, ct_version=terminology.version,
        define_file=_display_path(str(define_path)) if define_path else None,
        open_rules=open_outcome.summary() if open_outcome is not None else {})


# --------------------------------------------------------------------------- CDISC Open Rules
def _presence_dataset(rule) -> str | None:
    """The one dataset a Domain Presence Check names (CORE-000581: DM), so its finding belongs to that
    dataset (and, when the dataset could not be built, to that root cause) rather than to the study."""
    if rule.rule_type != "Domain Presence Check":
        return None
    names: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("name"), str) and node.get("operator") in ("exists", "not_exists"):
                names.add(node["name"].upper())
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(rule.check)
    return names.pop() if len(names) == 1 else None


def _run_open_rules(config, datasets: Mapping[str, _Dataset], lengths: Mapping[str, Mapping[str, int]],
                    collector: _Collector, severities: Mapping[str, str]):
    """Run the Open Rules on the datasets; their hits become findings with raw row and spec line."""
    from cdisc_dpn.validation.open_rules.engine import message_of
    from cdisc_dpn.validation.open_rules.runs import run_open_rules
    from cdisc_dpn.validation.open_rules.study import from_frames

    study = from_frames({n: d.frame for n, d in datasets.items()},
                        labels={n: d.spec.label for n, d in datasets.items()},
                        types={n: {v.name: v.type for v in d.spec.variables} for n, d in datasets.items()},
                        var_labels={n: {v.name: v.label for v in d.spec.variables} for n, d in datasets.items()},
                        lengths=lengths)
    outcome = run_open_rules(config, study)
    for run in outcome.runs:
        rule = run.rule
        severity = Severity(severities.get(rule.id, Severity.ERROR.value))
        ids = "/".join(rule.authority_ids)
        rc = collector.count(rule.id, severity, f"{rule.description} ({ids})" if ids else rule.description,
                             "open rule")
        where = _display_path(str(rule.path))
        by_dataset: dict[str, list] = {}
        for hit in run.hits:
            by_dataset.setdefault(hit.dataset, []).append(hit)
        for name, hits in sorted(by_dataset.items()):
            ds = datasets.get(name)
            out = []
            for hit in hits[: collector.catalogue.max_rows]:
                named = [(k, v) for k, v in hit.values if not k.startswith("$") and "." not in k]
                variable, value = named[0] if named else (None, None)
                if variable == "variable_name" and value:      # metadata checks name the variable concerned
                    variable, value = str(value), dict(named).get("variable_value", value)
                spec = ds.spec_where(variable) if ds is not None else (where, None)
                f = _finding(rule.id, severity, f"{rule.id} ({ids}): {message_of(rule, hit)}", ds, variable,
                             (hit.record - 1) if hit.record else -1, value, spec,
                             extra={"cdisc_ids": ids, "rule": where})
                out.append(f if ds is not None else replace(f, dataset=_presence_dataset(rule) or name))
            collector.add(rc, name, len(hits), out)
        for name, error in sorted(run.errors.items()):
            rc_err = collector.count("VAL-OPEN-RULE-ERROR", Severity.WARNING,
                                     "An Open Rule could not be evaluated on a dataset (engine error).", "open rule")
            collector.add(rc_err, name, 1, [_finding("VAL-OPEN-RULE-ERROR", Severity.WARNING,
                                                     f"{rule.id} could not run on {name}: {error}", datasets.get(name),
                                                     None, -1, None, (where, None))])
    for problem in outcome.problems:
        rc_load = collector.count("VAL-OPEN-RULE-LOAD", Severity.WARNING, "An Open Rule could not be loaded.",
                                  "open rule")
        collector.add(rc_load, None, 1, [_finding("VAL-OPEN-RULE-LOAD", Severity.WARNING,
                                                  f"{problem.rule_id or problem.path}: {problem.message}", None, None,
                                                  -1, None, (_display_path(str(problem.path)), None))])
    return outcome


def validate_folder(folder: Path, *, define_path: Path | None = None, specs: Specs | None = None,
                    terminology: Terminology | None = None, rules_path: Path | None = None,
                    progress: Callable[[str], None] | None = None,
                    open_rules: "OpenRulesConfig | None" = None,
                    severities: Mapping[str, str] | None = None) -> ValidationResult:
    """Validate a folder of datasets (ours or another tool's) against the specs or SDTMIG 3.4; with
    specs, the study's own rule severities apply, as they do in a run (unless `severities` is given)."""
    from cdisc_dpn.terminology.ct import load_terminology
    from cdisc_dpn.validation.folder import read_folder

    started = time.perf_counter()
    loaded = read_folder(Path(folder), specs)
    if terminology is None:
        terminology = load_terminology(specs.terminology if specs is not None else None)
    if define_path is not None and specs is None:      # no specs: define.xml says which terms the study uses
        from cdisc_dpn.validation.define_meta import read_define_codelists, with_define_codelists
        loaded, terminology = with_define_codelists(loaded, terminology, read_define_codelists(Path(define_path)))
    result = validate_domains(loaded.domains, terminology, specs=specs, define_path=define_path,
                              lengths=loaded.lengths, rules_path=rules_path, column_orders=loaded.column_orders,
                              severities=severities if severities is not None else (
                                  specs.study.validation.get("severity") or {} if specs is not None else None),
                              progress=progress, open_rules=open_rules)
    result.duration = time.perf_counter() - started
    return result
