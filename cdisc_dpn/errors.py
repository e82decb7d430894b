"""Exception types and the Finding record shared by every stage.

Stages collect Findings and return them; they raise only when the input is unusable
(InputError, SpecError), which the CLI maps to exit code 2.
"""
from __future__ import annotations

from dataclasses import dataclass, field, asdict
from enum import Enum
from typing import Any, Iterable


VALUE_LIMIT = 60                   # characters of an offending value shown in a message


def quote_value(value: Any, limit: int = VALUE_LIMIT) -> str:
    """A value as it appears in messages: quoted, control characters escaped, long text cut with '...'."""
    text = str(value)
    shown = text if len(text) <= limit else text[: max(limit - 3, 1)] + "..."
    return "'" + shown.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r") \
        .replace("\t", "\\t") + "'"


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "notice": 2}[self.value]


@dataclass(frozen=True)
class Finding:
    """One problem found by a stage, with enough context to locate and fix it."""

    code: str                      # stable id, e.g. "MAP-DATE-001", "SD0083", "GX-IN-SET"
    severity: Severity
    message: str
    stage: str = ""                # read, spec, map, derive, write, validate, define
    dataset: str | None = None
    variable: str | None = None
    usubjid: str | None = None
    value: str | None = None
    row: int | None = None         # row in the SDTM dataset (1-based), when known
    file: str | None = None        # raw file or spec file
    source_row: int | None = None  # row in the raw file (1-based, header is row 1)
    column: str | None = None      # raw column
    spec_line: int | None = None   # line in the spec file
    spec_file: str | None = None   # spec file, when `file` is the raw file
    fix: str | None = None         # what to do about it
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    cause: str | None = None       # on a root cause: what it broke, "DM" (dataset) or "DM.USUBJID" (variable)
    caused_by: str | None = None   # on a consequence: the `cause` it follows from (reported under it)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return {k: v for k, v in data.items() if v not in (None, {}, "")}

    def shown_value(self, limit: int = VALUE_LIMIT) -> str:
        """The offending value as quoted text, cut to `limit` characters ("" when there is none)."""
        return quote_value(self.value, limit) if self.value is not None else ""

    def location(self) -> str:
        parts = []
        if self.file:
            where = self.file
            if self.source_row:
                where += f", row {self.source_row}"
            elif self.spec_line and not self.spec_file:
                where += f":{self.spec_line}"
            parts.append(where)
        if self.column:
            parts.append(f"column {self.column}")
        if self.dataset:
            ds = self.dataset + (f".{self.variable}" if self.variable else "")
            if self.row:
                ds += f" row {self.row}"
            parts.append(ds)
        if self.usubjid:
            parts.append(f"USUBJID {self.usubjid}")
        if self.spec_file:
            parts.append(f"spec {self.spec_file}" + (f":{self.spec_line}" if self.spec_line else ""))
        return "; ".join(parts)

    def render(self) -> str:
        text = f"[{self.severity.value.upper()} {self.code}] {self.message}"
        if self.value is not None and str(self.value) not in self.message:
            text += f": value {self.shown_value()}"
        loc = self.location()
        if loc:
            text += f" ({loc})"
        if self.fix:
            text += f" -> {self.fix}"
        return text


def count_by_severity(findings: Iterable[Finding]) -> dict[str, int]:
    counts = {s.value: 0 for s in Severity}
    for f in findings:
        counts[f.severity.value] += 1
    return counts


class CdiscDpnError(Exception):
    """Base class; carries the findings that explain it."""

    exit_code = 2

    def __init__(self, message: str, findings: Iterable[Finding] = ()):
        super().__init__(message)
        self.findings = list(findings)


class InputError(CdiscDpnError):
    """Raw input that cannot be used (missing file, unreadable, wrong columns)."""


class SpecError(CdiscDpnError):
    """A mapping spec that cannot be used; all problems are in .findings."""


class OutputError(CdiscDpnError):
    """Output that must not be written (e.g. XPT constraint violations): a data problem, exit 1."""

    exit_code = 1
