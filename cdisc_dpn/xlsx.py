"""Deterministic XLSX files with formula-safe cells: the one owner for the spec workbook and report.xlsx.

Same content -> same bytes (fixed zip entry times, fixed document timestamps), and no text cell that
a spreadsheet would run as a formula (CSV/formula injection: a cell from raw data such as
`=HYPERLINK(...)` must reach a reviewer as text).
"""
from __future__ import annotations

import datetime as _dt
import io
import re
import zipfile
from typing import Any

FIXED_TIME = _dt.datetime(2000, 1, 1)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

#: Leads that make a spreadsheet read a cell as a formula or split it (OWASP "CSV injection"):
#: = + - @, and tab / carriage return (which some importers strip before the formula sign).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(text: str) -> bool:
    """True when the text starts with a formula lead, also after leading blanks (" =1+1")."""
    return text.startswith(FORMULA_LEADS) or text.lstrip().startswith(FORMULA_LEADS)


def formula_safe(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading quote; other values pass unchanged."""
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value


def new_workbook(*, write_only: bool = False, title: str | None = None):
    """An openpyxl workbook with fixed document properties (creator, timestamps), no sheet yet."""
    from openpyxl import Workbook

    wb = Workbook(write_only=write_only)
    if not write_only:
        wb.remove(wb.active)
    wb.properties.creator = "cdisc-dpn"
    wb.properties.lastModifiedBy = "cdisc-dpn"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    if title is not None:
        wb.properties.title = title
    return wb


def workbook_bytes(wb) -> bytes:
    """The saved workbook, made deterministic: fixed zip entry times and document timestamps."""
    buffer = io.BytesIO()
    wb.save(buffer)
    return deterministic_zip(buffer.getvalue())


def deterministic_zip(data: bytes) -> bytes:
    """Rewrite an XLSX (zip) so that the same content gives the same bytes."""
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                                 rb"\g<1>" + stamp + rb"\g<2>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, content)
    return out.getvalue()
