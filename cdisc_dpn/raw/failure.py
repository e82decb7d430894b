"""The one way a reader refuses a file: an InputError carrying a finding with file, row, spec line and fix."""
from __future__ import annotations

from pathlib import Path

from cdisc_dpn.errors import Finding, InputError, Severity
from cdisc_dpn.spec.model import FormSpec

STUDY_FILE = "study.yaml"


def read_error(code: str, message: str, path: Path, fix: str, row: int | None = None, column: str | None = None,
               form: FormSpec | None = None, value: str | None = None) -> InputError:
    finding = Finding(code, Severity.ERROR, message, stage="read", file=str(path), source_row=row, column=column,
                      value=value, fix=fix, spec_file=STUDY_FILE if form is not None else None,
                      spec_line=form.where.line if form is not None else None)
    return InputError(finding.render(), [finding])


def read_notice(code: str, message: str, path: Path, fix: str | None = None, column: str | None = None,
                form: FormSpec | None = None, row: int | None = None,
                severity: Severity = Severity.NOTICE) -> Finding:
    return Finding(code, severity, message, stage="read", file=path.name, source_row=row, column=column, fix=fix,
                   spec_file=STUDY_FILE if form is not None else None,
                   spec_line=form.where.line if form is not None else None)


def row_list(rows: list[int], limit: int = 20) -> str:
    """Row numbers for a message: '4, 9, 12' or '4, 9, ... (and 300 more)'."""
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown if len(rows) <= limit else f"{shown} (and {len(rows) - limit} more)"
