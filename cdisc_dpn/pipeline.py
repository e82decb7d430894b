"""The one place that knows the order of the stages (STAGES): specs, read, map + ledger, check, write,
define, validate, report. The CLI commands that run part of it (validate, define, suites) call the
stage functions here (load_study_specs, describe_study, validate_written_folder), never their own order.

Everything is written into a temporary folder beside the output and moved into place only when
the run completes, so a failed or interrupted run leaves the previous output untouched; a run with
data errors does not replace a clean previous output but goes beside it (see output_folder).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

import numpy as np

from cdisc_dpn import __version__
from cdisc_dpn.cascade import group_consequences
from cdisc_dpn.errors import Finding, InputError, OutputError, Severity, count_by_severity
from cdisc_dpn.derive.catalogue import known_algorithms
from cdisc_dpn.derive.context import RunSettings
from cdisc_dpn.mapping.engine import map_study
from cdisc_dpn.frames import DomainFrame
from cdisc_dpn.mapping.ledger import UNACCOUNTED, build_ledger
from cdisc_dpn.finding_codes import code_description
from cdisc_dpn.output_folder import FolderBusy, OutputClaim, claim_output, errors_folder, writable_problem
from cdisc_dpn.raw.checks import check_duplicate_records, check_subjects_enrolled, check_unused_columns
from cdisc_dpn.raw.readers import read_form
from cdisc_dpn.raw.table import RawTable
from cdisc_dpn.spec.columns import declared_columns
from cdisc_dpn.spec.loader import load_specs
from cdisc_dpn.spec.model import DatasetSpec, Specs
from cdisc_dpn.terminology import load_terminology
from cdisc_dpn.xpt.checks import check_dataset, transliterate
from cdisc_dpn.xpt.metadata import XptDataset, XptVariable
from cdisc_dpn.xpt.writer import coded_columns, split_dataset, write_xpt, xpt_file_name

#: The stages of a run, in the order run_pipeline runs them (the keys of RunResult.timings).
STAGES = ("specs", "read", "map", "check", "write", "define", "validate", "report")
DEFAULT_SPLIT_BYTES = 5 * 1000 ** 3          # FDA TCG: 5 GB
DEFAULT_CREATED = "2000-01-01T00:00:00"

Progress = Callable[[str], None]


@dataclass
class RunConfig:
    study_dir: Path
    raw_dir: Path
    out_dir: Path
    created: str | None = None            # ISO datetime for define/Dataset-JSON; default from study.yaml
    data_cutoff: str | None = None        # dates after it are findings; default from study.yaml
    continue_on_write_errors: bool = False
    dataset_json: bool = True
    ndjson: bool = False
    split_bytes: int = DEFAULT_SPLIT_BYTES
    open_rules: bool = True               # run the CDISC Open Rules beside the suites and own rules
    rules_dir: Path | None = None         # a newer Open Rules folder (default: the shipped SDTMIG rules)
    rule_ids: tuple[str, ...] = ()        # run only these Open Rules (CORE-NNNNNN or CDISC ids)

    def as_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


@dataclass
class RunResult:
    out_dir: Path
    datasets: dict[str, int]
    findings: list[Finding]
    outputs: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    ledger_summary: list[dict] = field(default_factory=list)
    kept_clean: Path | None = None        # a clean previous output left in place (this run has errors)
    replaced: bool = False                # an earlier output was replaced by this run
    cleaned: list[str] = field(default_factory=list)   # leftovers of interrupted runs removed first
    late_signal: str | None = None        # SIGTERM/SIGINT that arrived during the final swap (run completed)
    worker: dict[str, float] = field(default_factory=dict)   # GX worker's own peak_rss_mb, cpu_seconds ({}: none)

    @property
    def counts(self) -> dict[str, int]:
        return count_by_severity(self.findings)

    @property
    def exit_code(self) -> int:
        return 1 if self.counts["error"] else 0


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _quiet(_message: str) -> None:
    pass


# --------------------------------------------------------------------------- stages
def load_study_specs(study_dir: Path) -> tuple[Specs, list[Finding]]:
    """Stage "specs": the mapping specs, checked against the algorithm catalogue and the rule catalogue."""
    specs, findings = load_specs(study_dir, algorithms=known_algorithms())
    check_rule_severities(specs)
    return specs, findings


def read_raw(specs: Specs, raw_dir: Path) -> dict[str, RawTable]:
    """Read every declared form; all unusable files are reported together (InputError)."""
    if not raw_dir.is_dir():
        raise InputError(f"raw folder {raw_dir} does not exist", [Finding(
            "READ-MISSING", Severity.ERROR, f"raw folder {raw_dir} does not exist", stage="read", file=str(raw_dir),
            fix="pass --raw with the folder holding the CRF exports")])
    raw, problems = {}, []
    for form in specs.study.forms:
        try:
            raw[form.name] = read_form(raw_dir, form, declared_columns(specs, form.name, known_algorithms()))
        except InputError as exc:
            problems.extend(exc.findings)
    if problems:
        raise InputError(f"{len(problems)} raw file problem(s)", problems)
    return raw


def xpt_metadata(spec: DatasetSpec) -> XptDataset:
    keys = {k: i for i, k in enumerate(spec.keys, start=1)}
    return XptDataset(spec.name, spec.label, tuple(
        XptVariable(v.name, v.label, v.type, v.length, data_type=v.data_type, key_sequence=keys.get(v.name))
        for v in sorted(spec.variables, key=lambda v: v.order)))


def prepare_frames(domains: dict[str, DomainFrame], specs: Specs) -> tuple[dict[str, DomainFrame], list[Finding]]:
    """Apply the study's declared transliteration, then the XPT constraint checks (all collected)."""
    findings: list[Finding] = []
    table = dict(specs.study.transliteration)
    prepared = {}
    for name, dom in domains.items():
        frame = dom.frame
        if table:
            frame, notes = transliterate(frame, table, dataset=name)
            findings.extend(notes)
        prepared[name] = DomainFrame(dom.spec, frame, dom.provenance)
        findings.extend(check_dataset(frame, xpt_metadata(dom.spec)))
    return prepared, findings


def drop_empty_datasets(domains: dict[str, DomainFrame]) -> tuple[dict[str, DomainFrame], list[Finding]]:
    """Datasets without records are not submitted (FDA): not written, not in define.xml, not validated."""
    kept, findings = {}, []
    for name, dom in domains.items():
        if len(dom.frame):
            kept[name] = dom
            continue
        findings.append(Finding(
            "RUN-EMPTY-DATASET", Severity.NOTICE, f"dataset {name} has no records: no XPT or Dataset-JSON is "
            "written and define.xml does not describe it (empty datasets are not submitted)", stage="write",
            dataset=name, spec_file=dom.spec.file or None, spec_line=dom.spec.where.line,
            fix="nothing to do if nothing was collected (e.g. no adverse events); else check the raw form"))
    return kept, findings


def write_datasets(domains: dict[str, DomainFrame], sdtm_dir: Path, config: RunConfig, specs: Specs,
                   created: str,
                   written: Callable[[str, DomainFrame, dict[str, int], dict[str, np.ndarray]], None] | None = None,
                   first_rows: dict[str, dict[str, np.ndarray]] | None = None,
                   ) -> tuple[dict[str, dict[str, int]], list[Finding], dict[str, Path]]:
    """XPT (plus split parts and Dataset-JSON) for every dataset (already checked by prepare_frames);
    returns the final lengths. `written` is told each dataset, its final lengths and the value codes of
    its character columns (`distinct.value_codes`, valid while the call lasts) as soon as its XPT is
    written. `first_rows`, when given, is filled with dataset -> text variable -> the first row of each
    distinct value (small: what define profiling needs, without the per-row codes)."""
    lengths: dict[str, dict[str, int]] = {}
    findings: list[Finding] = []
    paths: dict[str, Path] = {}
    stamp = datetime.fromisoformat(created)
    for name, dom in domains.items():
        meta = xpt_metadata(dom.spec)
        path = sdtm_dir / xpt_file_name(name)
        # check=False: prepare_frames ran check_dataset on these very frames and metadata, and the run
        # stopped there on any error unless --continue-on-write-errors asked to write anyway
        coded = coded_columns(dom.frame, meta)      # each distinct text found once, for XPT and Dataset-JSON
        result = write_xpt(path, dom.frame, meta, created=stamp, check=False, coded=coded)
        lengths[name] = dict(result.lengths)
        if first_rows is not None:
            first_rows[name] = {c: t.first for c, t in coded.items()}
        paths[name] = path
        if written is not None:
            written(name, dom, lengths[name], {c: t.codes for c, t in coded.items()})
        if result.bytes > config.split_bytes:
            parts = split_dataset(path, dom.frame, meta, config.split_bytes, sdtm_dir / "split", created=stamp,
                                  check=False, coded=coded)
            findings.append(Finding("WRITE-SPLIT", Severity.NOTICE,
                                    f"{name} is {result.bytes} bytes; split into {len(parts)} parts in split/",
                                    stage="write", dataset=name))
        if config.dataset_json:
            from cdisc_dpn.xpt.datasetjson import write_dataset_json

            suffix = ".ndjson" if config.ndjson else ".json"
            fixed = XptDataset(meta.name, meta.label, tuple(
                XptVariable(v.name, v.label, v.type, lengths[name].get(v.name, v.length), v.display_format,
                            v.data_type, v.key_sequence) for v in meta.variables))
            write_dataset_json(sdtm_dir / "json" / f"{name.lower()}{suffix}", dom.frame, fixed,
                               study_oid=specs.study.studyid, metadata_version_oid=f"MDV.{specs.study.studyid}",
                               created=created, ndjson=config.ndjson, lengths=lengths[name], coded=coded)
        del coded
    return lengths, findings, paths


# --------------------------------------------------------------------------- the run
def check_rule_severities(specs: Specs) -> None:
    """study.yaml `validation: severity:` may only name rules that exist (a typo must not pass silently)."""
    from cdisc_dpn.validation.catalogue import load_catalogue, with_severities

    overrides = specs.study.validation.get("severity") or {}
    try:
        with_severities(load_catalogue(), overrides)
    except KeyError as exc:
        finding = Finding("SPEC-RULE-UNKNOWN", Severity.ERROR, f"validation: severity names unknown rule(s) {exc}",
                          stage="spec", file="study.yaml", spec_line=specs.study.where.line,
                          fix="use rule ids from validation/rules.yaml (DPN-...)")
        raise InputError("study.yaml names unknown validation rules", [finding]) from None


def open_rules_config(config: RunConfig, specs: Specs):
    """The Open Rules settings of a run: CLI options plus study.yaml `validation: not_applicable:`."""
    return open_rules_settings(specs, enabled=config.open_rules, folder=config.rules_dir, ids=tuple(config.rule_ids))


def open_rules_settings(specs: Specs | None, *, enabled: bool = True, folder: Path | None = None,
                        ids: tuple[str, ...] = ()):
    """Open Rules options plus, with specs, study.yaml `validation: not_applicable:`."""
    from cdisc_dpn.validation.open_rules.runs import OpenRulesConfig

    not_applicable = dict(specs.study.validation.get("not_applicable") or {}) if specs is not None else {}
    return OpenRulesConfig(enabled=enabled, folder=folder, ids=tuple(ids), not_applicable=not_applicable)


def check_output_folder(config: RunConfig) -> None:
    """The output folder is replaced whole, so it must not hold the inputs or anything else of value."""
    out = config.out_dir.resolve()
    problems = []
    for label, path in (("mapping specs (--study)", config.study_dir), ("raw exports (--raw)", config.raw_dir)):
        inside = Path(path).resolve()
        if inside == out or out in inside.parents:
            problems.append(f"the {label} folder {path} is inside the output folder {config.out_dir}")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "manifest.json").is_file())):
        problems.append(f"{config.out_dir} exists and is not a cdisc-dpn output folder (no manifest.json)")
    beside = errors_folder(out)                  # where a run with errors goes when `out` is clean
    if beside.exists() and (not beside.is_dir() or (any(beside.iterdir()) and
                                                    not (beside / "manifest.json").is_file())):
        problems.append(f"{beside} exists and is not a cdisc-dpn output folder (no manifest.json); a run with "
                        f"errors would be written there")
    unwritable = writable_problem(config.out_dir)
    if unwritable:
        problems.append(unwritable)
    if problems:
        findings = [Finding("RUN-OUTPUT-FOLDER", Severity.ERROR, p, stage="run", file=str(config.out_dir),
                            fix="choose an empty or new --out folder you can write to, or one written by "
                                "cdisc-dpn before")
                    for p in problems]
        raise InputError("the output folder cannot be used", findings)


def _created(config: RunConfig, specs: Specs) -> str:
    return created_time(config.created, specs)


def created_time(option: str | None, specs: Specs) -> str:
    """CreationDateTime of define.xml and Dataset-JSON: --created, else study.yaml, else a fixed time."""
    return str(option or specs.study.define.get("created") or DEFAULT_CREATED)


def run_pipeline(config: RunConfig, progress: Progress = _quiet, detail: Progress = _quiet) -> RunResult:
    """Convert, write, validate and describe one study; raises CdiscDpnError for unusable input
    (also when another run holds the output folder) and RunInterrupted on SIGTERM/SIGINT.

    `progress` is called at each stage, `detail` with progress inside a stage (validation)."""
    from cdisc_dpn.validation import running_gx_worker

    check_output_folder(config)
    try:
        # the GX worker starts first: Great Expectations imports while the raw files are read and mapped
        with claim_output(config.out_dir.resolve()) as claim, running_gx_worker() as gx:
            result = _convert_and_publish(config, progress, claim, detail, gx)
        if gx is not None:                    # stopped now: what it used itself, read before it stopped
            result.worker = dict(gx.stats)
        return result
    except FolderBusy as exc:
        raise InputError("the output folder is in use by another run", [Finding(
            "RUN-OUTPUT-LOCKED", Severity.ERROR, str(exc), stage="run", file=str(config.out_dir),
            value=str(exc.holder.get("pid", "")),
            fix="wait for that run to finish, or choose another --out folder")]) from None


def _convert_and_publish(config: RunConfig, progress: Progress, claim: OutputClaim,
                         detail: Progress = _quiet, gx=None) -> RunResult:
    """Every stage, then the finished folder swapped in through the claim."""
    timings: dict[str, float] = {}
    findings: list[Finding] = []

    def stage(label: str):
        progress(label)
        return time.perf_counter()

    t = stage("Loading mapping specs")
    specs, spec_findings = load_study_specs(config.study_dir)
    findings.extend(spec_findings)
    timings["specs"] = time.perf_counter() - t

    t = stage("Reading raw CRF exports")
    raw = read_raw(specs, config.raw_dir)
    findings.extend(notice for table in raw.values() for notice in table.notices)
    findings.extend(check_subjects_enrolled(specs.study, raw))
    findings.extend(check_duplicate_records(raw))
    findings.extend(check_unused_columns(specs, raw, known_algorithms()))
    timings["read"] = time.perf_counter() - t

    t = stage("Mapping to SDTM")
    terminology = load_terminology(specs.terminology)
    cutoff = config.data_cutoff or specs.study.define.get("data_cutoff") or ""
    mapped = map_study(specs, terminology, raw, RunSettings(data_cutoff=str(cutoff)))
    findings.extend(mapped.findings)
    ledger, ledger_findings = build_ledger(specs, raw, mapped)
    findings.extend(ledger_findings)
    raw = {name: table.released() for name, table in raw.items()}      # later stages use files and row counts
    timings["map"] = time.perf_counter() - t

    t = stage("Checking XPT constraints")
    non_empty, empty_findings = drop_empty_datasets(mapped.domains)
    findings.extend(empty_findings)
    domains, write_findings = prepare_frames(non_empty, specs)
    findings.extend(write_findings)
    mapped.domains = non_empty = {}          # the prepared frames are the ones written from here on
    write_errors = [f for f in write_findings if f.severity is Severity.ERROR]
    if write_errors and not config.continue_on_write_errors:
        raise OutputError(f"{len(write_errors)} XPT constraint violation(s); nothing was written "
                          f"(use --continue-on-write-errors to write anyway)",
                          group_consequences(findings, specs, mapped.unavailable))
    timings["check"] = time.perf_counter() - t

    created = _created(config, specs)
    tmp = claim.new_temp()
    try:
        result = _write_all(config, specs, terminology, raw, domains, ledger, findings, created, tmp, timings,
                            stage, unavailable=mapped.unavailable, detail=detail, gx=gx)
        out_dir, result.replaced, result.kept_clean = publish_output(claim, tmp, result.exit_code == 1)
    except BaseException:
        claim.discard(tmp)
        raise
    result.cleaned = list(claim.removed)
    result.late_signal = claim.late_signal
    result.out_dir = out_dir
    result.outputs = {k: str(out_dir / Path(v).relative_to(tmp)) if str(v).startswith(str(tmp)) else v
                      for k, v in result.outputs.items()}
    return result


def _write_all(config, specs, terminology, raw, domains, ledger, findings, created, tmp: Path, timings,
               stage, unavailable=None, detail: Progress = _quiet, gx=None) -> RunResult:
    from cdisc_dpn.validation import submit_suite, validate_domains, write_reports, write_suites

    severities = specs.study.validation.get("severity") or {}

    def to_gx(name: str, domain: DomainFrame, final_lengths: dict[str, int], codes: dict[str, np.ndarray]) -> None:
        submit_suite(gx, name, domain, terminology, lengths=final_lengths, severities=severities, codes=codes)

    sdtm_dir, report_dir, raw_out = tmp / "sdtm", tmp / "report", tmp / "raw"
    for d in (sdtm_dir, report_dir, raw_out):
        d.mkdir(parents=True)
    for table in raw.values():
        shutil.copy2(table.path, raw_out / table.path.name)
        os.utime(raw_out / table.path.name, (0, 0))

    t = stage("Writing XPT and Dataset-JSON")
    first_rows: dict[str, dict[str, np.ndarray]] = {}
    lengths, write_notes, xpt_paths = write_datasets(domains, sdtm_dir, config, specs, created,
                                                     written=to_gx if gx is not None else None, first_rows=first_rows)
    findings.extend(write_notes)
    timings["write"] = time.perf_counter() - t

    t = stage("Building Define-XML 2.1")
    define_path = sdtm_dir / "define.xml"
    findings.extend(describe_study(specs, terminology, list(domains.values()), lengths, created, define_path,
                                   first_rows))
    del first_rows
    timings["define"] = time.perf_counter() - t

    t = stage("Validating (expectation suites + conformance rules)")
    write_suites([d.spec for d in domains.values()], terminology, report_dir / "suites")
    validation = validate_domains(domains, terminology, specs=specs, define_path=define_path, lengths=lengths,
                                  severities=severities, progress=detail,
                                  open_rules=open_rules_config(config, specs), gx=gx)
    validation.define_file = "sdtm/define.xml"          # relative: reports must not name the temporary folder
    findings.extend(validation.findings)
    run_id = _run_id(config, specs, raw)
    timings["validate"] = time.perf_counter() - t

    t = stage("Writing reports and manifest")
    findings = group_consequences(findings, specs, unavailable)
    all_findings = sorted(findings, key=lambda f: (f.severity.rank, f.stage, f.code, f.dataset or "",
                                                   f.file or "", f.source_row or 0, f.row or 0, f.message))
    full = _with_conversion_counts(validation, all_findings)
    report_paths = write_reports(full, report_dir, run_id=run_id, ledger=ledger.by_form())
    ledger_path = report_dir / "ledger.csv"
    ledger.rows.to_csv(ledger_path, index=False, lineterminator="\n")
    result = RunResult(tmp, {n: len(d) for n, d in domains.items()}, all_findings, timings=timings,
                       ledger_summary=ledger.summary())
    manifest = _manifest(config, specs, raw, tmp, result, run_id, validation)
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    timings["report"] = time.perf_counter() - t
    result.outputs = {"sdtm": str(sdtm_dir), "define": str(define_path), "define_html": str(sdtm_dir / "define.html"),
                      **{f"report_{k}": str(v) for k, v in report_paths.items()}, "ledger": str(ledger_path),
                      "manifest": str(tmp / "manifest.json")}
    return result


def describe_study(specs: Specs, terminology, domains: list[DomainFrame], lengths: dict[str, dict[str, int]],
                   created: str, define_path: Path,
                   first_rows: dict[str, dict[str, np.ndarray]] | None = None) -> list[Finding]:
    """Stage "define": define.xml (checked against the data and the schema) and define.html beside it."""
    from cdisc_dpn.define import build_define, check_define, render_define_html, write_define

    tree, findings = build_define(specs, terminology, domains, lengths, created=created,
                                  file_oid=specs.study.define.get("file_oid"), first_rows=first_rows)
    findings += check_define(tree, domains, lengths)
    write_define(tree, define_path)
    render_define_html(tree, define_path.with_suffix(".html"))
    return findings


def read_written_datasets(specs: Specs, data_dir: Path) -> tuple[list[DomainFrame], dict[str, dict[str, int]]]:
    """The XPT files of a finished run that the specs describe (SUPPxx included), with their lengths:
    the input of `define` run on its own."""
    import pandas as pd

    from cdisc_dpn.spec.supp import supp_dataset_spec
    from cdisc_dpn.xpt.reader import read_xpt

    all_specs = {d.name: d for d in specs.datasets}
    all_specs.update({d.supp_name: supp_dataset_spec(d) for d in specs.datasets if d.supplemental})
    domains, lengths = [], {}
    for name, spec in all_specs.items():
        path = data_dir / f"{name.lower()}.xpt"
        if not path.is_file():
            continue
        frame, meta = read_xpt(path)
        lengths[name] = {v.name: v.length for v in meta.variables}
        domains.append(DomainFrame(spec, frame, pd.DataFrame(index=frame.index)))
    return domains, lengths


def validate_written_folder(folder: Path, report_dir: Path, *, specs: Specs | None, define_path: Path | None,
                            open_rules, progress: Progress = _quiet):
    """Stages "validate" and "report" on a folder of datasets from any tool (with the study's rule
    severities and not-applicable rules when specs are given); returns (result, report paths)."""
    from cdisc_dpn.validation import validate_folder, write_reports

    severities = dict(specs.study.validation.get("severity") or {}) if specs is not None else {}
    result = validate_folder(folder, define_path=define_path, specs=specs, severities=severities,
                             open_rules=open_rules, progress=progress)
    return result, write_reports(result, report_dir, run_id="validate")


def _with_conversion_counts(validation, all_findings: list[Finding]):
    """The report covers the whole run: conversion findings (read, map, ledger, write, define) are
    counted beside the validation rules, one line per finding code."""
    from dataclasses import replace as dc_replace

    from cdisc_dpn.validation.runner import RuleCount

    counts = dict(validation.rule_counts)
    for f in all_findings:
        if f.stage == "validate":
            continue
        rc = counts.get(f.code)
        if rc is None:
            description = code_description(f.code) or f"{f.stage} stage: {f.code}"
            rc = counts[f.code] = RuleCount(f.code, f.severity.value, f"{description} ({f.stage} stage)",
                                            "conversion")
        rc.failures += 1
        rc.listed += 1
        if f.dataset:
            rc.datasets[f.dataset] = rc.datasets.get(f.dataset, 0) + 1
    return dc_replace(validation, findings=list(all_findings), rule_counts=dict(sorted(counts.items())))


def _run_id(config: RunConfig, specs: Specs, raw: dict[str, RawTable]) -> str:
    """Deterministic: the same inputs, specs and options give the same run id."""
    digest = hashlib.sha256(specs.checksum.encode())
    for name in sorted(raw):
        digest.update(name.encode() + _sha256(raw[name].path).encode())
    digest.update(json.dumps({k: v for k, v in config.as_dict().items() if k not in ("raw_dir", "out_dir",
                                                                                     "study_dir")},
                             sort_keys=True).encode())
    return digest.hexdigest()[:16]


def _manifest(config, specs, raw, tmp: Path, result: RunResult, run_id: str, validation) -> dict:
    outputs = {}
    for path in sorted(tmp.rglob("*")):
        if path.is_file() and path.name != "manifest.json":
            outputs[str(path.relative_to(tmp))] = {"sha256": _sha256(path), "bytes": path.stat().st_size}
    unaccounted = sum(r[UNACCOUNTED] for r in result.ledger_summary)
    return {
        "tool": {"name": "cdisc-dpn", "version": __version__},
        "run_id": run_id,
        "study": specs.study.studyid,
        "standards": dict(specs.study.standards),
        "configuration": {k: v for k, v in config.as_dict().items() if k not in ("raw_dir", "out_dir")},
        "spec_checksum": specs.checksum,
        "inputs": {t.path.name: {"form": name, "sha256": _sha256(t.path), "rows": len(t)}
                   for name, t in sorted(raw.items())},
        "outputs": outputs,
        "datasets": result.datasets,
        "findings": result.counts,
        "ledger": {"forms": result.ledger_summary, "unaccounted_rows": unaccounted},
        "validation": {"rules_run": validation.rules_run, "expectations": validation.expectations},
    }


def publish_output(claim: OutputClaim, tmp: Path, has_errors: bool) -> tuple[Path, bool, Path | None]:
    """Swap the finished folder in: (where it went, whether an output was replaced, the clean output
    kept in place when this run has errors)."""
    target = claim.destination(has_errors)
    replaced = target.exists()
    kept = claim.out_dir if target != claim.out_dir else None
    return claim.publish(tmp, has_errors), replaced, kept
