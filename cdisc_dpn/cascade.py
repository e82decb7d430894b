"""Cause and consequence: findings that only follow from a dataset or variable that could not be built.

A root cause is a finding with `cause` set by the mapping engine: "DM" (the dataset was not built)
or "DM.USUBJID" (the variable could not be derived and is empty). Findings that follow from it
(the datasets reading it, the raw rows of its forms, the validation findings about the empty
variable) get `caused_by` so that the console and the reports show them under the cause, once,
instead of as hundreds of separate problems. Nothing is dropped: the consequences keep their
severity and stay in report.json and report.xlsx.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

from cdisc_dpn.errors import Finding, Severity
from cdisc_dpn.mapping.engine import computation_order, datasets_read_by, referenced_variables
from cdisc_dpn.derive.catalogue import get_algorithm
from cdisc_dpn.spec.model import DatasetSpec, Specs

#: SUPP-- variables that identify the parent record: wrong when a parent key variable is empty
_SUPP_LINK = frozenset({"USUBJID", "IDVAR", "IDVARVAL", "QNAM"})


@dataclass
class _Scope:
    """What one root cause makes unreliable."""

    key: str
    datasets: set[str] = field(default_factory=set)          # every finding of these is a consequence
    forms: set[str] = field(default_factory=set)             # raw forms whose unaccounted rows follow from it
    variables: dict[str, set[str]] = field(default_factory=dict)  # dataset -> variables left empty
    key_variable: str | None = None                          # a record key left empty (links across datasets)
    readers: set[str] = field(default_factory=set)           # datasets that read the broken one


def _source_forms(spec: DatasetSpec) -> set[str]:
    src = spec.source
    return ({src.form} if src.form else set()) | {m.form for m in src.stack} | {j.form for j in src.joins}


def _dependent_variables(spec: DatasetSpec, variable: str) -> set[str]:
    """The variable and every variable of the same dataset computed from it, transitively."""
    names = {v.name for v in spec.variables}
    reads: dict[str, set[str]] = {}
    for v in spec.variables:
        reads[v.name] = referenced_variables(v.algorithm) & names
    affected = {variable}
    ordered, _phases = computation_order(spec)
    changed = True
    while changed:
        changed = False
        for v in ordered:
            if v.name not in affected and reads.get(v.name, set()) & affected:
                affected.add(v.name)
                changed = True
    return affected


def _scopes(findings: Iterable[Finding], specs: Specs, unavailable: Mapping[str, str]) -> list[_Scope]:
    by_name = {d.name: d for d in specs.datasets}
    readers = {d.name: {o.name for o in specs.datasets if d.name in datasets_read_by(o)} for d in specs.datasets}
    scopes: dict[str, _Scope] = {}
    for f in findings:
        if not f.cause or f.cause in scopes:
            continue
        scope = _Scope(f.cause)
        dataset, _, variable = f.cause.partition(".")
        spec = by_name.get(dataset)
        if spec is None:
            continue
        scope.readers = set(readers.get(dataset, set()))
        scope.readers |= {by_name[r].supp_name for r in scope.readers if r in by_name and by_name[r].supplemental}
        if variable:
            scope.variables[dataset] = _dependent_variables(spec, variable)
            if spec.supplemental:
                scope.variables[spec.supp_name] = {variable}
            if variable in spec.keys and variable != "STUDYID":
                scope.key_variable = variable
        else:
            scope.datasets |= {dataset} | ({spec.supp_name} if spec.supplemental else set())
            scope.forms |= _source_forms(spec)
        scopes[f.cause] = scope
    # datasets not built because they read a broken one belong to the same root
    for name, root in unavailable.items():
        if root in scopes and name in by_name:
            spec = by_name[name]
            scopes[root].datasets |= {name} | ({spec.supp_name} if spec.supplemental else set())
            scopes[root].forms |= _source_forms(spec)
    return list(scopes.values())


def _follows(f: Finding, scope: _Scope) -> bool:
    if f.dataset and f.dataset in scope.datasets:
        return True
    if f.code == "LEDGER-UNACCOUNTED" and (f.extra or {}).get("form") in scope.forms:
        return True
    variables = scope.variables.get(f.dataset or "")
    if variables is not None:
        if f.variable in variables:
            return True
        if scope.key_variable and (f.variable is None or f.variable in _SUPP_LINK):
            return True                     # record identity (keys, SUPP-- links) rests on the empty key
    if scope.key_variable and f.variable == scope.key_variable:
        # a conformance rule linking records across datasets by the empty key (e.g. USUBJID in DM),
        # or the key copied into a dataset built from the broken one
        return "rule" in (f.extra or {}) or f.dataset in scope.readers
    if scope.key_variable and f.variable is None and f.dataset in scope.readers and f.stage == "validate":
        return True                         # record keys of a dataset built from the broken one
    return False


def group_consequences(findings: list[Finding], specs: Specs, unavailable: Mapping[str, str] | None = None
                       ) -> list[Finding]:
    """The findings with `caused_by` set on every consequence of a root cause (order kept)."""
    scopes = _scopes(findings, specs, unavailable or {})
    if not scopes:
        return findings
    out = []
    for f in findings:
        if not f.cause and not f.caused_by:
            scope = next((s for s in scopes if _follows(f, s)), None)
            if scope is not None:
                f = replace(f, caused_by=scope.key)
        out.append(f)
    return out


# --------------------------------------------------------------------------- summaries (console, reports)
@dataclass
class CauseGroup:
    cause: Finding
    consequences: list[Finding]

    def counts(self) -> list[tuple[str, str, int]]:
        """(code, datasets, count) of the consequences, largest first."""
        c = Counter(f.code for f in self.consequences)
        where: dict[str, set[str]] = {}
        for f in self.consequences:
            if f.dataset:
                where.setdefault(f.code, set()).add(f.dataset)
        return sorted(((code, ", ".join(sorted(where.get(code, ()))), n) for code, n in c.items()),
                      key=lambda t: (-t[2], t[0]))


def cause_groups(findings: Iterable[Finding]) -> list[CauseGroup]:
    """Root causes (errors first, in the order given) with the findings that follow from each."""
    findings = list(findings)
    groups: dict[str, CauseGroup] = {}
    for f in sorted((f for f in findings if f.cause), key=lambda f: f.severity.rank):
        groups.setdefault(f.cause, CauseGroup(f, []))
    for f in findings:
        if f.caused_by in groups:
            groups[f.caused_by].consequences.append(f)
    return list(groups.values())


def code_counts(findings: Iterable[Finding], severity: Severity) -> list[tuple[str, int]]:
    """(code, count) of one severity, most frequent first."""
    c = Counter(f.code for f in findings if f.severity is severity)
    return sorted(c.items(), key=lambda t: (-t[1], t[0]))


def _alike(findings: list[Finding]) -> list[list[Finding]]:
    """Findings that say the same thing about the same value, in first-seen order."""
    groups: dict[tuple, list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.code, f.message, f.value, f.dataset, f.variable, f.fix), []).append(f)
    return list(groups.values())


def _where_else(findings: list[Finding], shown: int = 5) -> str:
    places: dict[str, None] = {}
    for f in findings:
        if f.file and f.source_row:
            places[f"{f.file} row {f.source_row}"] = None
        elif f.dataset and f.row:
            places[f"{f.dataset} row {f.row}"] = None
        elif f.usubjid:
            places[f.usubjid] = None
    text = ", ".join(list(places)[:shown]) or "see the report"
    return text + (", ..." if len(places) > shown else "")


def console_lines(findings: list[Finding], limit: int = 10) -> list[tuple[str, str | None]]:
    """What the console shows after a run: root causes first (each with its fix and what follows from
    it), then other errors, then the warning and notice codes with counts. (text, colour) pairs."""
    lines: list[tuple[str, str | None]] = []
    groups = cause_groups(findings)
    if groups:
        following = sum(len(g.consequences) for g in groups)
        lines.append((f"Root causes ({len(groups)}; {following} finding(s) follow from them), fix these first:",
                      "red"))
        for g in groups[:limit]:
            lines.append((f"  {g.cause.render()}", "red"))
            if g.consequences:
                parts = "; ".join(f"{n} {code}" + (f" ({ds})" if ds else "") for code, ds, n in g.counts()[:6])
                more = len(g.counts()) - 6
                lines.append((f"      {len(g.consequences)} finding(s) follow from it and are listed under it in "
                              f"the report: {parts}" + (f", and {more} more kinds" if more > 0 else ""), None))
        if len(groups) > limit:
            lines.append((f"  ... and {len(groups) - limit} more root causes (see the report)", None))
    others = [f for f in findings if f.severity is Severity.ERROR and not f.cause and not f.caused_by]
    if others:
        alike = _alike(others)
        shown = max(limit - min(len(groups), limit), 3)
        first = f", the first {shown} kinds" if len(alike) > shown else ""
        lines.append((f"Errors ({len(others)} in {len(alike)} kind(s){first}):", "red"))
        for same in alike[:shown]:
            lines.append((f"  {same[0].render()}", "red"))
            if len(same) > 1:
                lines.append((f"      and {len(same) - 1} more like it: {_where_else(same[1:])}", None))
        if len(alike) > shown:
            counts = ", ".join(f"{code} {n}" for code, n in code_counts(others, Severity.ERROR))
            lines.append((f"  ... and {len(alike) - shown} more kinds (see the report); by code: {counts}", None))
    for severity, colour in ((Severity.WARNING, "yellow"), (Severity.NOTICE, None)):
        counts = code_counts((f for f in findings if not f.caused_by), severity)
        following = sum(1 for f in findings if f.caused_by and f.severity is severity)
        if counts or following:
            total = sum(n for _c, n in counts)
            lines.append((f"{severity.value.capitalize()}s ({total}" + (f", plus {following} following from the root "
                          f"causes" if following else "") + ")" + (": " if counts else "")
                          + ", ".join(f"{code} {n}" for code, n in counts), colour))
    return lines
