"""Read raw CRF exports (CSV, XLSX, SAS XPT/sas7bdat, CDISC ODM-XML) into RawTables.

Every reader returns text cells ("" for empty) so that nothing is reinterpreted before the
spec says how; unusable files raise InputError with the file, row and what to do.
"""
from __future__ import annotations

import csv
import io
import math
import zipfile
from datetime import date, datetime, time
from pathlib import Path
from typing import Callable

import pandas as pd

from cdisc_dpn.errors import Finding, InputError, Severity
from cdisc_dpn.raw.table import SOURCE_FILE, SOURCE_ROW, RawTable
from cdisc_dpn.spec.model import FormSpec

# Encodings tried only to name the likely culprit in an error message; never to read data.
_SUSPECT_ENCODINGS = ("gb18030", "cp1252", "latin-1")


def _fail(code: str, message: str, path: Path, fix: str, row: int | None = None,
          column: str | None = None) -> InputError:
    finding = Finding(code, Severity.ERROR, message, stage="read", file=str(path), source_row=row,
                      column=column, fix=fix)
    return InputError(finding.render(), [finding])


def cell_text(value: object) -> str:
    """A cell as the text a person sees: integral floats without '.0', dates as ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S") if (value.hour, value.minute, value.second) != (0, 0, 0) \
            else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _table(form: str, path: Path, header: list[str], rows: list[list[str]], first_row: int = 2) -> RawTable:
    header = [str(h).strip() for h in header]
    width = len(header)
    padded = [(r + [""] * width)[:width] for r in rows]
    frame = pd.DataFrame(padded, columns=header, dtype=object) if padded else pd.DataFrame(columns=header, dtype=object)
    frame[SOURCE_FILE] = path.name
    frame[SOURCE_ROW] = list(range(first_row, first_row + len(padded)))
    return RawTable(form, path, frame.reset_index(drop=True))


def _check_header(header: list[str], path: Path) -> None:
    seen = set()
    for i, name in enumerate(header, start=1):
        name = str(name).strip()
        if not name:
            raise _fail("READ-HEADER", f"column {i} of the header row has no name", path,
                        "give every column a name in the first row", row=1)
        if name in seen:
            raise _fail("READ-HEADER", f"column name {name!r} appears twice in the header", path,
                        "make column names unique", row=1, column=name)
        seen.add(name)


def read_csv(path: Path, form: FormSpec) -> RawTable:
    data = path.read_bytes()
    if not data.strip():
        raise _fail("READ-EMPTY", "the file is empty", path, "export the form again; an empty form needs a header row")
    if b"\x00" in data[:4096]:
        raise _fail("READ-NOT-TEXT", "the file is binary, not CSV text", path,
                    "export the form as CSV (comma-separated, UTF-8)")
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise _fail("READ-NOT-CSV", "the file is an HTML page saved with a .csv name", path,
                    "download the export itself, not the web page that links to it")
    if data.startswith(b"PK\x03\x04"):
        raise _fail("READ-NOT-CSV", "the file is a ZIP/XLSX workbook saved with a .csv name", path,
                    "save it as CSV, or declare format: xlsx for this form in study.yaml")
    try:
        text = data.decode(form.encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        if isinstance(exc, LookupError):
            raise _fail("READ-ENCODING", f"unknown encoding {form.encoding!r} declared for this form", path,
                        "use a Python codec name, e.g. utf-8-sig") from None
        line = data[:exc.start].count(b"\n") + 1
        guess = next((e for e in _SUSPECT_ENCODINGS if _decodes(data, e)), None)
        hint = f"; it decodes as {guess}" if guess else ""
        raise _fail("READ-ENCODING", f"byte 0x{data[exc.start]:02X} at line {line} is not valid "
                    f"{form.encoding}{hint}", path,
                    f"re-export as UTF-8, or declare encoding: {guess or '<codec>'} for this form in study.yaml",
                    row=line) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = [r for r in reader]
    except csv.Error as exc:
        raise _fail("READ-CSV", f"malformed CSV: {exc}", path, "check quoting in the export",
                    row=reader.line_num) from None
    header = rows[0]
    _check_header(header, path)
    body = rows[1:]
    for i, r in enumerate(body, start=2):
        if len(r) > len(header) and any(x.strip() for x in r[len(header):]):
            raise _fail("READ-WIDTH", f"row has {len(r)} cells but the header has {len(header)}", path,
                        "check for an unquoted comma in a value (e.g. a decimal comma)", row=i)
    # Drop trailing wholly empty lines (Excel leaves them); keep empty rows inside the data.
    while body and not any(x.strip() for x in body[-1]):
        body.pop()
    return _table(form.name, path, header, body)


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def read_xlsx(path: Path, form: FormSpec) -> RawTable:
    """XLSX via calamine (Rust reader, an order of magnitude faster than openpyxl on large lab exports)."""
    from python_calamine import CalamineWorkbook

    if path.stat().st_size == 0:
        raise _fail("READ-EMPTY", "the file is empty", path, "export the workbook again")
    if not zipfile.is_zipfile(path):
        raise _fail("READ-XLSX", "not a readable XLSX workbook (not a ZIP container)", path,
                    "the file is truncated or not an Excel workbook; export it again")
    try:
        book = CalamineWorkbook.from_path(str(path))
        if form.sheet and form.sheet not in book.sheet_names:
            raise _fail("READ-XLSX", f"sheet {form.sheet!r} not found (sheets: {', '.join(book.sheet_names)})",
                        path, "fix `sheet:` for this form in study.yaml")
        sheet = book.get_sheet_by_name(form.sheet) if form.sheet else book.get_sheet_by_index(0)
        rows = [[cell_text(v) for v in r] for r in sheet.to_python(skip_empty_area=False)]
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - calamine reports damage with its own exception types
        raise _fail("READ-XLSX", f"not a readable XLSX workbook ({type(exc).__name__}: {exc})", path,
                    "the file is truncated or not an Excel workbook; export it again") from None
    while rows and not any(x.strip() for x in rows[-1]):
        rows.pop()
    if not rows:
        raise _fail("READ-EMPTY", "the sheet is empty", path, "export the form again with its header row")
    header = rows[0]
    while header and not str(header[-1]).strip():
        header = header[:-1]
    _check_header(header, path)
    return _table(form.name, path, header, [r[:len(header)] for r in rows[1:]])


def read_sas(path: Path, form: FormSpec) -> RawTable:
    import pyreadstat

    if path.stat().st_size == 0:
        raise _fail("READ-EMPTY", "the file is empty", path, "export the dataset again")
    reader: Callable = pyreadstat.read_xport if form.format == "xpt" else pyreadstat.read_sas7bdat
    try:
        frame, _meta = reader(str(path))
    except Exception as exc:  # pyreadstat raises its own ReadstatError and others; message is useful
        raise _fail("READ-SAS", f"not a readable SAS {form.format} file ({exc})", path,
                    "export the dataset again as SAS transport v5 or sas7bdat") from None
    header = [str(c) for c in frame.columns]
    rows = [[cell_text(v) for v in rec] for rec in frame.itertuples(index=False, name=None)]
    return _table(form.name, path, header, rows)


def read_odm(path: Path, form: FormSpec) -> RawTable:
    """CDISC ODM 1.3 ClinicalData: one row per ItemGroupData of the form (FormOID = form.sheet or name)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.parse(str(path), parser).getroot()
    except etree.XMLSyntaxError as exc:
        raise _fail("READ-ODM", f"not well-formed XML ({exc})", path, "export the ODM file again") from None
    form_oid = form.sheet or form.name
    records: list[dict[str, str]] = []
    columns: list[str] = ["SUBJECT", "STUDYEVENT", "STUDYEVENTREPEAT"]
    for subject in root.iter("{*}SubjectData"):
        for event in subject.iter("{*}StudyEventData"):
            for fd in event.iter("{*}FormData"):
                if fd.get("FormOID") != form_oid:
                    continue
                for group in fd.iter("{*}ItemGroupData"):
                    rec = {"SUBJECT": subject.get("SubjectKey", ""), "STUDYEVENT": event.get("StudyEventOID", ""),
                           "STUDYEVENTREPEAT": event.get("StudyEventRepeatKey", "")}
                    for item in group.iter("{*}ItemData"):
                        oid = item.get("ItemOID", "")
                        if oid not in columns:
                            columns.append(oid)
                        rec[oid] = item.get("Value", "")
                    records.append(rec)
    return _table(form.name, path, columns, [[r.get(c, "") for c in columns] for r in records])


READERS: dict[str, Callable[[Path, FormSpec], RawTable]] = {
    "csv": read_csv, "xlsx": read_xlsx, "xpt": read_sas, "sas7bdat": read_sas, "odm": read_odm, "xml": read_odm,
}


def read_form(raw_dir: Path, form: FormSpec) -> RawTable:
    """Read one declared form and check it has the columns the spec relies on."""
    path = raw_dir / form.file
    if not path.resolve().is_relative_to(raw_dir.resolve()):
        raise _fail("READ-PATH", f"form file {form.file!r} is outside the raw folder", path,
                    "give a file name relative to --raw")
    if not path.is_file():
        raise _fail("READ-MISSING", f"form {form.name!r}: file {form.file} not found in {raw_dir}", path,
                    "export the form into the raw folder, or fix `file:` in study.yaml")
    reader = READERS.get(form.format)
    if reader is None:
        raise _fail("READ-FORMAT", f"unknown format {form.format!r} for form {form.name!r}", path,
                    f"use one of: {', '.join(sorted(READERS))}")
    table = reader(path, form)
    missing = [c for c in form.required_columns if c not in table.frame.columns]
    if missing:
        near = ", ".join(table.data_columns[:30])
        raise _fail("READ-MISSING-COLUMN", f"form {form.name!r} lacks column(s) {', '.join(missing)}", path,
                    f"the file has: {near}; re-export with these columns or fix required_columns in study.yaml",
                    row=1, column=missing[0])
    return table
