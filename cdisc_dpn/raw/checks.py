"""Checks across raw forms before mapping: subjects missing from enrolment, duplicate records."""
from __future__ import annotations


from cdisc_dpn.errors import Finding, Severity
from cdisc_dpn.raw.table import PROVENANCE, SOURCE_ROW, RawTable
from cdisc_dpn.spec.model import StudySpec


def check_subjects_enrolled(study: StudySpec, raw: dict[str, RawTable]) -> list[Finding]:
    """Every subject in a form must be in the enrolment form named by study.yaml `subject.form`."""
    enrol_form = study.subject.get("form")
    enrol = raw.get(str(enrol_form)) if enrol_form else None
    if enrol is None:
        return []
    enrol_col = study.subject.get("subject_column") or (study.form(enrol.form).subject_column if study.form(enrol.form) else None)
    if not enrol_col or enrol_col not in enrol.frame.columns:
        return []
    known = set(enrol.frame[enrol_col].astype(str).str.strip())
    findings = []
    for name, table in raw.items():
        spec = study.form(name)
        col = spec.subject_column if spec else None
        if name == enrol.form or not col or col not in table.frame.columns:
            continue
        subjects = table.frame[col].astype(str).str.strip()
        stray = table.frame[(subjects != "") & ~subjects.isin(known)]
        for _, row in stray.head(50).iterrows():
            findings.append(Finding(
                "RAW-SUBJECT-NOT-ENROLLED", Severity.ERROR,
                f"subject {row[col]!r} is in form {name!r} but not in the enrolment form {enrol.form!r}",
                stage="read", file=table.path.name, source_row=int(row[SOURCE_ROW]), column=col,
                value=str(row[col]), fix="correct the subject number or add the subject to the enrolment export"))
    return findings


def check_duplicate_records(raw: dict[str, RawTable]) -> list[Finding]:
    """Rows identical in every column are reported (the first is kept by the mapping, the rest flagged)."""
    findings = []
    for name, table in raw.items():
        data = table.frame.drop(columns=[c for c in PROVENANCE if c in table.frame.columns])
        if data.empty:
            continue
        dup = data.duplicated(keep="first")
        for idx in data.index[dup][:50]:
            first = data.index[(data == data.loc[idx]).all(axis=1)][0]
            findings.append(Finding(
                "RAW-DUPLICATE-ROW", Severity.WARNING,
                f"row duplicates row {int(table.frame.at[first, SOURCE_ROW])} in every column",
                stage="read", file=table.path.name, source_row=int(table.frame.at[idx, SOURCE_ROW]),
                fix="remove the duplicate from the EDC export or confirm it is a real repeated record"))
    return findings



def _strings(node) -> set[str]:
    if isinstance(node, str):
        return {node}
    if isinstance(node, dict):
        return set().union(*(_strings(k) | _strings(v) for k, v in node.items())) if node else set()
    if isinstance(node, (list, tuple, set, frozenset)):
        return set().union(*(_strings(v) for v in node)) if node else set()
    if hasattr(node, "__dataclass_fields__"):
        return set().union(*(_strings(getattr(node, f)) for f in node.__dataclass_fields__))
    return set()


def check_unused_columns(specs, raw: dict[str, RawTable]) -> list[Finding]:
    """Collected columns no spec names: a notice per form, so nothing collected is dropped unnoticed."""
    named = _strings(specs.datasets) | _strings(specs.study.subject)
    findings = []
    for name, table in raw.items():
        spec = specs.study.form(name)
        if spec is not None and spec.exclude_reason:
            continue
        unused = [c for c in table.data_columns if c not in named and f"{name}.{c}" not in named]
        if unused:
            findings.append(Finding(
                "RAW-COLUMN-UNUSED", Severity.NOTICE,
                f"{len(unused)} column(s) of form {name!r} are not used by any dataset spec: {', '.join(unused)}",
                stage="read", file=table.path.name, row=None, column=unused[0],
                fix="map them (a variable or a SUPP-- qualifier) or confirm they are operational fields"))
    return findings
