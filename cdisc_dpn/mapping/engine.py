"""Apply the dataset specs to the raw forms: the only place that knows the mapping phases.

Phase A, per dataset in spec order: build the working frame, compute row-level variables and
SUPP-- qualifier values. Phase B, datasets in dependency order: generated records, derived
records, sort, dataset-level variables (--SEQ, study days, flags), types, column order, SUPP--.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from cdisc_dpn.derive.long_text import split_long_values
from cdisc_dpn.errors import Finding, Severity
from cdisc_dpn.derive.context import InputUnavailable, MappingContext, MappingProblem, RunSettings
from cdisc_dpn.frames import DomainFrame
from cdisc_dpn.derive.catalogue import DATASET, ROW, get_algorithm
from cdisc_dpn.mapping.source import Exclusion, JoinUse, SourceProblem, build_working_frame
from cdisc_dpn.raw.table import SOURCE_FILE, SOURCE_ROW, RawTable
from cdisc_dpn.spec.model import AlgorithmCall, DatasetSpec, Specs, VariableSpec
from cdisc_dpn.spec.supp import long_text_qualifier, supp_dataset_spec
from cdisc_dpn.standards.kinds import number_text
from cdisc_dpn.terminology import Terminology


@dataclass
class MappingResult:
    domains: dict[str, DomainFrame]
    findings: list[Finding]
    exclusions: list[Exclusion] = field(default_factory=list)
    join_uses: list[JoinUse] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)   # dataset not built -> root cause key


@dataclass
class _Work:
    spec: DatasetSpec
    src: pd.DataFrame
    out: pd.DataFrame
    supp: pd.DataFrame
    failed: bool = False
    stripped: dict = field(default_factory=dict)          # raw columns stripped, per working frame
    columns: list | None = None                           # the source rows' columns before any were left out


def _finding(ds: DatasetSpec, message: str, where, code: str = "MAP-SPEC", variable: str | None = None,
             fix: str | None = None, cause: str | None = None, caused_by: str | None = None) -> Finding:
    return Finding(code, Severity.ERROR, message, stage="map", dataset=ds.name, variable=variable,
                   file=getattr(where, "file", None), spec_line=getattr(where, "line", None), fix=fix,
                   cause=None if caused_by else cause, caused_by=caused_by)


def _what(ds: DatasetSpec, variable: str | None) -> str:
    return f"{ds.name}.{variable}" if variable else ds.name


def _inputs(call: AlgorithmCall) -> str:
    """The inputs a call names, as its algorithm declares them: raw columns, variables, datasets."""
    algorithm = get_algorithm(call.name)
    reads = algorithm.inputs(call.params) if algorithm is not None else None
    if reads is None:
        return "no named inputs"
    columns = reads.columns + [column for _form, column in reads.form_columns]
    variables = [name for name in reads.variables if name in _given_variables(algorithm, call.params)] + \
        [f"{dataset}.{name}" for dataset, name in reads.other_variables]
    datasets = reads.datasets + reads.dataset_rows
    parts = [f"raw column(s) {', '.join(dict.fromkeys(columns))}" if columns else "",
             f"variable(s) {', '.join(dict.fromkeys(variables))}" if variables else "",
             f"dataset(s) {', '.join(dict.fromkeys(datasets))}" if datasets else ""]
    return "; ".join(p for p in parts if p) or "no named inputs"


def _given_variables(algorithm, params) -> set[str]:
    """The variables named in the spec itself (not only by a default or implicitly, like USUBJID)."""
    return set(algorithm.params.reads(params).variables) - set(algorithm.params.implicit) \
        if algorithm.params is not None and params else set()


def _missing_names(exc: KeyError) -> list[str]:
    """The names a KeyError is about (a bare key, or pandas' "None of ['X'] are in the columns")."""
    import re

    text = str(exc.args[0]) if exc.args else ""
    names = re.findall(r"'([^']+)'", text) if "[" in text else [text]
    return [n for n in names if n] or ["an input"]


def _unexpected(ds: DatasetSpec, call: AlgorithmCall, exc: Exception, variable: str | None = None,
                target: str | None = None) -> Finding:
    """An algorithm stopped on data it did not expect: said in SDTM terms, never as Python exception text."""
    target = target or _what(ds, variable)
    if isinstance(exc, KeyError):
        names = ", ".join(_missing_names(exc))
        return _finding(ds, f"{target} could not be derived: algorithm {call.name!r} needs {names}, which its "
                            f"input does not have (inputs: {_inputs(call)})", call.where,
                        code="MAP-ALGORITHM-FAILED", variable=variable, cause=target,
                        fix=f"make sure {names} is derived in the dataset(s) the algorithm reads and spelled as "
                            f"there, or give the algorithm the right input in the spec")
    finding = _finding(ds, f"{target} could not be derived: algorithm {call.name!r} cannot process the values of "
                           f"its inputs ({_inputs(call)})", call.where, code="MAP-ALGORITHM-FAILED",
                       variable=variable, cause=target,
                       fix="check the input values against what the algorithm expects (see its documentation); "
                           "if they are valid, report it with report.json")
    finding.extra["internal_error"] = f"{type(exc).__name__}: {exc}"
    return finding


def _not_built(ds: DatasetSpec, call: AlgorithmCall, exc: InputUnavailable, variable: str | None,
               target: str | None = None) -> Finding:
    """A consequence: the call reads a dataset that could not be built."""
    verb = "not added" if target else "not derived"
    target = target or _what(ds, variable)
    return _finding(ds, f"{target} {verb}: algorithm {call.name!r} reads {exc.dataset}, which could not be "
                        f"built", call.where, code="MAP-ALGORITHM-FAILED", variable=variable,
                    caused_by=exc.cause, fix=f"fix the cause reported for {exc.dataset} first")


def _unavailable_input(ctx: MappingContext, call: AlgorithmCall) -> InputUnavailable | None:
    algorithm = get_algorithm(call.name)
    for name in sorted(algorithm.datasets_read(call.params) if algorithm is not None else ()):
        if name in ctx.unavailable:
            return InputUnavailable(name, ctx.unavailable[name])
    return None


def _run(ctx: MappingContext, call: AlgorithmCall, target: VariableSpec) -> pd.Series | None:
    algorithm = get_algorithm(call.name)
    if algorithm is None:
        ctx.findings.append(_finding(ctx.dataset, f"unknown algorithm {call.name!r}", call.where, variable=target.name,
                                     cause=_what(ctx.dataset, target.name)))
        return None
    ctx.call = call
    ctx.variable_name = target.name
    try:
        missing = _unavailable_input(ctx, call)
        if missing is not None:
            raise missing
        result = algorithm.function(ctx, algorithm.with_defaults(call.params), target)
    except InputUnavailable as exc:
        ctx.findings.append(_not_built(ctx.dataset, call, exc, target.name))
        return None
    except MappingProblem as exc:
        ctx.findings.append(_finding(ctx.dataset, f"{_what(ctx.dataset, target.name)}: {exc}", call.where,
                                     variable=target.name, fix=exc.fix or "correct the algorithm parameters in the spec",
                                     cause=_what(ctx.dataset, target.name)))
        return None
    except Exception as exc:  # noqa: BLE001 - a data shape the algorithm did not expect: report, never crash
        ctx.findings.append(_unexpected(ctx.dataset, call, exc, target.name))
        return None
    if isinstance(result, pd.Series):
        return result.reindex(ctx.src.index)
    return pd.Series(result, index=ctx.src.index)


def referenced_variables(call: AlgorithmCall) -> set[str]:
    """Variables of the same dataset a call reads, as its algorithm declares them (defaults applied)."""
    algorithm = get_algorithm(call.name)
    return algorithm.variables_read(call.params) if algorithm is not None else set()


def computation_order(spec: DatasetSpec) -> tuple[list[VariableSpec], dict[str, str]]:
    """Variables in an order where each comes after those it reads, and each one's phase.

    Spec order is kept wherever the references allow; a variable reading a dataset-phase
    variable runs in the dataset phase too.
    """
    names = {v.name for v in spec.variables}
    refs = {}
    for v in spec.variables:
        refs[v.name] = referenced_variables(v.algorithm) & names - {v.name}
    ordered: list[VariableSpec] = []
    placed: set[str] = set()
    pending = list(spec.variables)
    while pending:
        progress = False
        for var in list(pending):
            if refs[var.name] <= placed:
                ordered.append(var)
                placed.add(var.name)
                pending.remove(var)
                progress = True
        if not progress:          # a reference cycle: keep spec order, the engine reports the missing input
            ordered.extend(pending)
            break
    phases: dict[str, str] = {}
    for var in ordered:
        algorithm = get_algorithm(var.algorithm.name)
        phase = algorithm.phase if algorithm else ROW
        if any(phases.get(r) == DATASET for r in refs[var.name]):
            phase = DATASET
        phases[var.name] = phase
    return ordered, phases


def datasets_read_by(spec: DatasetSpec) -> set[str]:
    """The other datasets a dataset's algorithms read (built before it)."""
    deps: set[str] = set()
    calls = [v.algorithm for v in spec.variables] + [d.algorithm for d in spec.derived_records] + \
        [q.algorithm for q in spec.supplemental]
    if spec.source.generator:
        calls.append(spec.source.generator)
    for call in calls:
        algorithm = get_algorithm(call.name)
        if algorithm is not None:
            deps |= algorithm.datasets_read(call.params)
    deps.discard(spec.name)
    return deps


def _text_of(value) -> str:
    return number_text(value) if isinstance(value, float) else str(value)


def _as_text(values: pd.Series) -> pd.Series:
    """Character values: "" for missing, whole numbers without ".0" (each distinct value formatted once)."""
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return values
    missing = values.isna()
    table = {v: _text_of(v) for v in pd.unique(values[~missing])}
    return values.map(table, na_action="ignore").where(~missing, "")


def _rank_codes(column: pd.Series) -> np.ndarray | None:
    """Each row's rank among the column's distinct values (-1 for missing), or None when the values
    are not all text or all numbers (then pandas decides the order)."""
    codes, uniques = pd.factorize(column)
    values = np.asarray(uniques)
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) not in ("string", "empty"):
        return None
    if values.dtype.kind not in "OifU":
        return None
    rank = np.empty(len(values), dtype=np.int64)
    rank[np.argsort(values, kind="stable")] = np.arange(len(values))
    return np.where(codes < 0, -1, rank[codes] if len(values) else codes)


def sort_positions(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """Row positions in `frame.sort_values(keys, kind="stable", na_position="first")` order, sorting
    each key's distinct values once and the rows by integer ranks (a stable lexsort)."""
    ranks = []
    for key in keys:
        rank = _rank_codes(frame[key])
        if rank is None:
            order = frame.sort_values(keys, kind="stable", na_position="first").index
            return frame.index.get_indexer(order)
        ranks.append(rank)
    return np.lexsort(ranks[::-1]) if len(frame) else np.arange(0)


def _extend_source(src: pd.DataFrame, added: int) -> pd.DataFrame:
    """The working frame grown by `added` rows that come from no raw row: raw columns missing,
    provenance "" / 0 (what concatenating a provenance-only frame gives, without copying the
    wide frame through concat)."""
    start = len(src)
    src = src.reset_index(drop=True)
    grown = src.reindex(range(start + added))
    filler = {SOURCE_FILE: pd.Series([""] * added, index=range(start, start + added)),
              SOURCE_ROW: pd.Series([0] * added, index=range(start, start + added))}
    for name, tail in filler.items():
        grown[name] = pd.concat([src[name], tail]) if name in src.columns else tail.reindex(grown.index)
    return grown


def _supp_as_variable(q) -> VariableSpec:
    return VariableSpec(name=q.qnam, label=q.qlabel, type="Char", order=0, core="Perm", origin=q.origin,
                        algorithm=q.algorithm, codelist=q.codelist, where=q.where)


class MappingEngine:
    def __init__(self, specs: Specs, terminology: Terminology, raw: dict[str, RawTable],
                 settings: RunSettings | None = None):
        self.specs = specs
        self.terminology = terminology
        self.raw = raw
        self.settings = settings or RunSettings()
        self.findings: list[Finding] = []
        self.exclusions: list[Exclusion] = []
        self.join_uses: list[JoinUse] = []
        self.work: dict[str, _Work] = {}
        self.domains: dict[str, DomainFrame] = {}
        self.unavailable: dict[str, str] = {}      # dataset not built -> the root cause key it follows from

    # ---------------------------------------------------------------- helpers
    def _context(self, w: _Work) -> MappingContext:
        return MappingContext(self.specs, self.terminology, w.spec, self.raw, self.domains,
                              {n: x.out for n, x in self.work.items() if n not in self.unavailable}, w.src, w.out,
                              self.settings, self.findings, unavailable=self.unavailable, stripped=w.stripped,
                              source_columns=w.columns)

    def _compute(self, w: _Work, phase: str) -> None:
        ctx = self._context(w)
        ordered, phases = computation_order(w.spec)
        for var in ordered:
            if phases.get(var.name, ROW) != phase:
                continue
            values = _run(ctx, var.algorithm, var)
            w.out[var.name] = values if values is not None else (np.nan if var.type == "Num" else "")
            ctx.out = w.out

    def _names_in(self, spec: DatasetSpec) -> set[str]:
        """Every text a dataset's algorithm calls hold (with defaults), and its form's subject column:
        a superset of the raw columns its algorithms can read (they read only columns their
        parameters name, or the subject column)."""
        found: set[str] = set()

        def scan(node) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    found.add(str(key))
                    scan(value)
            elif isinstance(node, (list, tuple)):
                for item in node:
                    scan(item)
            elif node is not None:
                found.add(str(node))

        calls = [v.algorithm for v in spec.variables] + [d.algorithm for d in spec.derived_records] + \
            [q.algorithm for q in spec.supplemental]
        for call in calls:
            algorithm = get_algorithm(call.name)
            scan(algorithm.with_defaults(call.params) if algorithm else dict(call.params))
        for form in (spec.source.form, *(m.form for m in spec.source.stack)):
            own = self.specs.study.form(form) if form else None
            if own is not None and own.subject_column:
                found.add(own.subject_column)
        return found

    def _dependencies(self, spec: DatasetSpec) -> set[str]:
        return datasets_read_by(spec)

    # ---------------------------------------------------------------- phase A
    def _start(self, spec: DatasetSpec) -> _Work:
        gen = spec.source.generator
        if gen is not None:
            src = pd.DataFrame()
        else:
            try:
                src, exclusions, uses, columns = build_working_frame(spec, self.raw, self._names_in(spec))
            except SourceProblem as exc:
                self.findings.append(replace(exc.finding, cause=spec.name))
                self.unavailable[spec.name] = spec.name
                return _Work(spec, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), failed=True)
            self.exclusions.extend(exclusions)
            self.join_uses.extend(uses)
        w = _Work(spec, src, pd.DataFrame(index=src.index), pd.DataFrame(index=src.index))
        if gen is None:
            w.columns = columns
            self._row_phase(w)
        return w

    def _row_phase(self, w: _Work) -> None:
        self._compute(w, ROW)
        self._qualifiers(w, ROW)

    def _qualifiers(self, w: _Work, phase: str) -> None:
        """SUPP-- values; a qualifier reading dataset-level values (flags, study days) waits for them."""
        _ordered, phases = computation_order(w.spec)
        ctx = self._context(w)
        for q in w.spec.supplemental:
            algorithm = get_algorithm(q.algorithm.name)
            q_phase = algorithm.phase if algorithm else ROW
            if any(phases.get(ref) == DATASET for ref in referenced_variables(q.algorithm)):
                q_phase = DATASET
            if q_phase != phase:
                continue
            values = _run(ctx, q.algorithm, _supp_as_variable(q))
            w.supp[q.qnam] = _as_text(values) if values is not None else ""

    # ---------------------------------------------------------------- phase B
    def _generate(self, w: _Work) -> None:
        gen = w.spec.source.generator
        algorithm = get_algorithm(gen.name)
        if algorithm is None or algorithm.kind != "source":
            self.findings.append(_finding(w.spec, f"unknown generator {gen.name!r}", gen.where, cause=w.spec.name))
            self._fail(w, w.spec.name)
            return
        ctx = self._context(w)
        ctx.call = gen
        try:
            missing = _unavailable_input(ctx, gen)
            if missing is not None:
                raise missing
            src = algorithm.function(ctx, algorithm.with_defaults(gen.params))
        except InputUnavailable as exc:
            self.findings.append(_not_built(w.spec, gen, exc, None))
            self._fail(w, exc.cause)
            return
        except MappingProblem as exc:
            self.findings.append(_finding(w.spec, f"{w.spec.name} cannot be generated: {exc}", gen.where,
                                          cause=w.spec.name))
            self._fail(w, w.spec.name)
            return
        except Exception as exc:  # noqa: BLE001
            self.findings.append(replace(_unexpected(w.spec, gen, exc), cause=w.spec.name))
            self._fail(w, w.spec.name)
            return
        src = src.reset_index(drop=True)
        if SOURCE_FILE not in src.columns:
            src[SOURCE_FILE] = ""
            src[SOURCE_ROW] = 0
        w.src, w.out, w.supp = src, pd.DataFrame(index=src.index), pd.DataFrame(index=src.index)
        self._row_phase(w)

    def _fail(self, w: _Work, cause: str) -> None:
        w.failed = True
        self.unavailable[w.spec.name] = cause

    def _derived_records(self, w: _Work) -> None:
        for d in w.spec.derived_records:
            algorithm = get_algorithm(d.algorithm.name)
            if algorithm is None or algorithm.kind != "records":
                self.findings.append(_finding(w.spec, f"unknown derived-records algorithm {d.algorithm.name!r}",
                                              d.algorithm.where))
                continue
            ctx = self._context(w)
            ctx.call = d.algorithm
            try:
                missing = _unavailable_input(ctx, d.algorithm)
                if missing is not None:
                    raise missing
                new = algorithm.function(ctx, algorithm.with_defaults(d.algorithm.params))
            except InputUnavailable as exc:
                self.findings.append(_not_built(w.spec, d.algorithm, exc, None,
                                                target=f"derived records of {w.spec.name}"))
                continue
            except MappingProblem as exc:
                self.findings.append(_finding(w.spec, f"derived records of {w.spec.name} not added: {exc}",
                                              d.algorithm.where))
                continue
            except Exception as exc:  # noqa: BLE001
                self.findings.append(replace(_unexpected(w.spec, d.algorithm, exc,
                                                         target=f"derived records of {w.spec.name}"), cause=None))
                continue
            if new is None or new.empty:
                continue
            start = len(w.out)
            new = new.reset_index(drop=True)
            new.index = range(start, start + len(new))
            w.out = pd.concat([w.out.reset_index(drop=True), new], sort=False)
            w.out.index = range(len(w.out))
            w.src = _extend_source(w.src, len(new))
            w.supp = w.supp.reset_index(drop=True).reindex(range(len(w.out)), fill_value="")
            for var in w.spec.variables:
                if var.name in w.out.columns:
                    if var.type == "Num":
                        w.out[var.name] = pd.to_numeric(w.out[var.name], errors="coerce")
                    else:
                        w.out[var.name] = w.out[var.name].where(w.out[var.name].notna(), "")

    def _sort(self, w: _Work, sorted_by: list[str] | None = None) -> list[str]:
        """Rows in spec sort order; returns the keys sorted by. `sorted_by`: the keys of an earlier
        sort, when only dataset-phase variables changed since (a stable sort by the same keys, none
        of them recomputed, leaves the rows where they are)."""
        keys = [k for k in w.spec.sort if k in w.out.columns]
        if sorted_by is not None and keys == sorted_by:
            _ordered, phases = computation_order(w.spec)
            if all(phases.get(k) != DATASET for k in keys):
                return keys
        if not keys or w.out.empty:
            return keys
        positions = sort_positions(w.out, keys)
        plain = pd.RangeIndex(len(w.out))
        if np.array_equal(positions, plain) and all(isinstance(f.index, pd.RangeIndex) and f.index.equals(plain)
                                                    for f in (w.out, w.src, w.supp)):
            return keys                       # already in order
        w.out = w.out.take(positions).reset_index(drop=True)
        w.src = w.src.take(positions).reset_index(drop=True)
        w.supp = w.supp.take(positions).reset_index(drop=True)
        return keys

    def _finish(self, w: _Work) -> None:
        if w.spec.source.generator is not None:
            self._generate(w)
            if w.failed:
                return
        self._derived_records(w)
        keys = self._sort(w)
        self._compute(w, DATASET)
        self._qualifiers(w, DATASET)
        self._sort(w, sorted_by=keys)
        out = pd.DataFrame(index=w.out.index)
        for var in sorted(w.spec.variables, key=lambda v: v.order):
            col = w.out[var.name] if var.name in w.out.columns else pd.Series(index=w.out.index, dtype=object)
            if var.type == "Num":
                out[var.name] = pd.to_numeric(col, errors="coerce").astype(float)
            else:
                out[var.name] = _as_text(col)
        provenance = pd.DataFrame({SOURCE_FILE: w.src[SOURCE_FILE].fillna("").astype(str).values
                                   if SOURCE_FILE in w.src.columns else "",
                                   SOURCE_ROW: pd.to_numeric(w.src[SOURCE_ROW], errors="coerce").fillna(0)
                                   .astype(int).values if SOURCE_ROW in w.src.columns else 0})
        out, continuations = split_long_values(w.spec, out)
        self.domains[w.spec.name] = DomainFrame(w.spec, out.reset_index(drop=True), provenance)
        if w.spec.supplemental or continuations:
            self._build_supp(w, out, provenance, continuations)
        self._release(w)

    @staticmethod
    def _release(w: _Work) -> None:
        """Drop a finished dataset's raw working frame and qualifier values (its `out` stays: later
        datasets' algorithms read it through ctx.rows)."""
        w.src, w.supp = pd.DataFrame(), pd.DataFrame()
        w.stripped.clear()

    def _build_supp(self, w: _Work, parent: pd.DataFrame, provenance: pd.DataFrame,
                    continuations: dict[str, pd.Series]) -> None:
        from cdisc_dpn.derive.suppqual import build_supp_frame

        spec = supp_dataset_spec(w.spec)
        parent_spec, qualifiers = w.spec, w.supp
        if continuations:      # SDTMIG 4.5.3.2: the text a long_text variable did not keep
            implied = tuple(long_text_qualifier(w.spec, qnam) for qnam in continuations)
            parent_spec = replace(w.spec, supplemental=w.spec.supplemental + implied)
            qualifiers = w.supp.assign(**{q: c.values for q, c in continuations.items()})
        frame, prov, findings = build_supp_frame(parent_spec, parent, qualifiers, provenance)
        self.findings.extend(findings)
        self.domains[spec.name] = DomainFrame(spec, frame, prov)

    # ---------------------------------------------------------------- entry
    def run(self) -> MappingResult:
        for spec in self.specs.datasets:
            self.work[spec.name] = self._start(spec)
        pending = [s.name for s in self.specs.datasets if not self.work[s.name].failed]
        deps = {name: self._dependencies(self.work[name].spec) for name in pending}
        known = {s.name for s in self.specs.datasets}
        for name, d in deps.items():
            for missing in sorted(d - known):
                spec = self.work[name].spec
                self.findings.append(_finding(spec, f"needs dataset {missing}, which the study does not define",
                                              spec.where, fix=f"add {missing} to datasets: in study.yaml"))
            deps[name] = d & set(pending)
        done: set[str] = set()
        while pending:
            ready = [n for n in pending if deps[n] <= done]
            if not ready:
                cycle = ", ".join(f"{n} needs {sorted(deps[n] - done)}" for n in pending)
                self.findings.append(Finding("MAP-CYCLE", Severity.ERROR, f"datasets depend on each other: {cycle}",
                                             stage="map", fix="remove one dependency (dataset: parameter)"))
                break
            for name in ready:
                self._finish(self.work[name])
                done.add(name)
                pending.remove(name)
        ordered = {s.name: self.domains[s.name] for s in self.specs.datasets if s.name in self.domains}
        for name, dom in self.domains.items():
            if name not in ordered:
                ordered[name] = dom
        return MappingResult(ordered, self.findings, self.exclusions, self.join_uses, dict(self.unavailable))


def map_study(specs: Specs, terminology: Terminology, raw: dict[str, RawTable],
              settings: RunSettings | None = None) -> MappingResult:
    return MappingEngine(specs, terminology, raw, settings).run()
