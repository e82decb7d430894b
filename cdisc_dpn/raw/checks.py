"""Checks across raw forms before mapping: enrolment, duplicates, unused columns, columns the specs name."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from cdisc_dpn.distinct import on_distinct
from cdisc_dpn.errors import Finding, InputError, Severity
from cdisc_dpn.raw.readers import read_form
from cdisc_dpn.raw.table import PROVENANCE, SOURCE_ROW, RawTable
from cdisc_dpn.spec.columns import column_uses, declared_columns, mapped_column_uses
from cdisc_dpn.spec.model import Specs, StudySpec


def _stripped(values: pd.Series) -> pd.Series:
    return values.astype(str).str.strip()


def check_subjects_enrolled(study: StudySpec, raw: dict[str, RawTable]) -> list[Finding]:
    """Every subject in a form must be in the enrolment form named by study.yaml `subject.form`."""
    enrol_form = study.subject.get("form")
    enrol = raw.get(str(enrol_form)) if enrol_form else None
    if enrol is None:
        return []
    enrol_col = study.subject.get("subject_column") or (study.form(enrol.form).subject_column if study.form(enrol.form) else None)
    if not enrol_col or enrol_col not in enrol.frame.columns:
        return []
    known = set(on_distinct(enrol.frame[enrol_col], _stripped))
    findings = []
    for name, table in raw.items():
        spec = study.form(name)
        col = spec.subject_column if spec else None
        if name == enrol.form or not col or col not in table.frame.columns:
            continue
        subjects = on_distinct(table.frame[col], _stripped)         # each distinct subject stripped once
        stray = table.frame[(subjects != "") & ~subjects.isin(known)]
        for subject, source_row in zip(stray[col], stray[SOURCE_ROW]):      # every row: each is a query
            findings.append(Finding(
                "RAW-SUBJECT-NOT-ENROLLED", Severity.ERROR,
                f"subject {subject!r} is in form {name!r} but not in the enrolment form {enrol.form!r}",
                stage="read", file=table.path.name, source_row=int(source_row), column=col,
                value=str(subject), fix="correct the subject number or add the subject to the enrolment export"))
    return findings


def check_duplicate_records(raw: dict[str, RawTable]) -> list[Finding]:
    """Rows identical in every column are reported (the first is kept by the mapping, the rest flagged)."""
    findings = []
    for name, table in raw.items():
        data = table.frame.drop(columns=[c for c in PROVENANCE if c in table.frame.columns])
        if data.empty:
            continue
        dup = data.duplicated(keep="first")
        if not dup.any():
            continue
        # every duplicate is listed (each is a query), with the row it repeats: one pass over groups
        group = data.groupby(list(data.columns), dropna=False, sort=False).ngroup()
        first_row = table.frame[SOURCE_ROW].groupby(group.values).transform("first")
        for row, first in zip(table.frame.loc[dup, SOURCE_ROW], first_row[dup.values]):
            findings.append(Finding(
                "RAW-DUPLICATE-ROW", Severity.WARNING, f"row duplicates row {int(first)} in every column",
                stage="read", file=table.path.name, source_row=int(row),
                fix="remove the duplicate from the EDC export or confirm it is a real repeated record"))
    return findings



def check_unused_columns(specs, raw: dict[str, RawTable], algorithms) -> list[Finding]:
    """Collected columns no spec reads: a notice per form, so nothing collected is dropped unnoticed.

    What a spec reads is what spec.columns.mapped_column_uses finds, form by form: the enrolment form's
    subject and site columns, each dataset's source (stack, joins, filters, unpivot) and the raw columns
    its algorithms declare as inputs (`algorithms`: the catalogue, derive.catalogue.known_algorithms()).
    A column is used in the form that has it, not in every form with a column of that name.
    """
    used: dict[str, set[str]] = {}
    for use in mapped_column_uses(specs, algorithms):
        for form in use.forms:
            used.setdefault(form, set()).add(use.column)
    findings = []
    for name, table in raw.items():
        spec = specs.study.form(name)
        if spec is not None and spec.exclude_reason:
            continue
        unused = [c for c in table.data_columns if c not in used.get(name, ())]
        if unused:
            findings.append(Finding(
                "RAW-COLUMN-UNUSED", Severity.NOTICE,
                f"{len(unused)} column(s) of form {name!r} are not used by any dataset spec: {', '.join(unused)}",
                stage="read", file=table.path.name, row=None, column=unused[0], value=", ".join(unused),
                fix="map them (a variable or a SUPP-- qualifier) or confirm they are operational fields"))
    return findings


def check_spec_columns(specs: Specs, raw_dir: Path | str, algorithms) -> tuple[list[Finding], dict[str, RawTable]]:
    """Every column the specs name, against the raw files as read (after each form's `columns:` map).

    Returns the findings (errors for missing columns and unreadable files, the readers' notices)
    and the forms that could be read. Used by `spec check --raw` before a run; `algorithms` is the
    catalogue, whose parameter models say which parameters name raw columns.
    """
    raw_dir = Path(raw_dir)
    findings: list[Finding] = []
    tables: dict[str, RawTable] = {}
    for form in specs.study.forms:
        try:
            tables[form.name] = read_form(raw_dir, form, declared_columns(specs, form.name, algorithms))
        except InputError as exc:
            findings.extend(exc.findings)
            continue
        findings.extend(tables[form.name].notices)
    reported: set[tuple] = set()
    for use in column_uses(specs, algorithms):
        readable = [tables[f] for f in use.forms if f in tables]
        if len(readable) < len(use.forms) or any(use.column in t.frame.columns for t in readable):
            continue
        key = (use.forms, use.column, use.where.file, use.where.line)
        if key in reported:
            continue
        reported.add(key)
        files = ", ".join(t.path.name for t in readable)
        have = ", ".join(readable[0].data_columns[:30])
        renamed = {new: old for old, new in (specs.study.form(use.forms[0]).columns or {}).items()}
        findings.append(Finding(
            "SPEC-RAW-COLUMN", Severity.ERROR,
            f"{use.what} names column {use.column!r}, which form {' / '.join(use.forms)} ({files}) does not have",
            stage="spec", file=use.where.file, spec_line=use.where.line, column=use.column, value=use.column,
            fix=f"the form has: {have}{' (after the columns: map)' if renamed else ''}; fix the spec, add the "
                "column to the form's columns: map in study.yaml, or re-export the form"))
    return findings, tables
