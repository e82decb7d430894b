"""Read raw CRF exports (CSV, XLSX, SAS XPT/sas7bdat, CDISC ODM-XML) into RawTables.

Every reader returns text cells ("" for empty) so that nothing is reinterpreted before the
spec says how; unusable files raise InputError with the file, row, spec line and what to do.
A form's `columns:` map renames raw columns to the names the specs use as the form is read.
Blank lines are skipped and reported as a notice with their row numbers; they are never records.
"""
from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from cdisc_dpn.errors import Finding, InputError
from cdisc_dpn.raw.cells import cell_text, column_text
from cdisc_dpn.raw.encoding import decode_text
from cdisc_dpn.raw.failure import read_error, read_notice, row_list
from cdisc_dpn.raw.odm import read_odm
from cdisc_dpn.raw.sas import read_sas
from cdisc_dpn.raw.table import SOURCE_FILE, SOURCE_ROW, RawTable
from cdisc_dpn.spec.model import FormSpec

__all__ = ["READERS", "cell_text", "read_form"]

_LINE_END = re.compile(r"\r\n|\r|\n")
_OTHER_DELIMITERS = (";", "\t", "|")


class _Rows:
    """Header and records of a grid-shaped file, with each record's row number in the file.

    A reader that cleans column by column hands `columns` (one list of text per header name,
    each as long as `numbers`) instead of `rows`."""

    def __init__(self, header: list[str], rows: list[list[str]] | None, numbers: list[int],
                 notices: list[Finding] | None = None, columns: list[list[str]] | None = None,
                 text_shared: bool = False):
        self.header, self.rows, self.numbers, self.notices = header, rows, numbers, notices or []
        self.columns = columns
        self.text_shared = text_shared      # one object per distinct text already (RawTable skips that work)


def _blank(record: list[str]) -> bool:
    return not "".join(record).strip()


def _without_blank_lines(path: Path, form: FormSpec, rows: list[list[str]], numbers: list[int],
                         what: str = "blank line") -> tuple[list[list[str]], list[int], list[Finding]]:
    flags = [_blank(r) for r in rows]
    if not any(flags):
        return rows, numbers, []
    blank = [n for n, flag in zip(numbers, flags) if flag]
    kept = [(r, n) for r, n, flag in zip(rows, numbers, flags) if not flag]
    return [r for r, _ in kept], [n for _, n in kept], [_blank_notice(path, form, blank, what)]


def _blank_notice(path: Path, form: FormSpec, blank: list[int], what: str) -> Finding:
    return read_notice("READ-BLANK-LINES", f"{len(blank)} {what}(s) skipped, not records: row(s) "
                       f"{row_list(blank)}", path, "nothing to do; if lines were doubled by a line-ending "
                       "conversion, export the form again", form=form, row=blank[0])


def _blank_rows(columns: list[list[str]], rows: int) -> np.ndarray:
    """Which rows have only blank cells (as _blank says), decided column by column on distinct values."""
    blank = np.ones(rows, dtype=bool)
    for column in columns:
        blank_values = {v for v in set(column) if not v.strip()}
        if not blank_values:
            return np.zeros(rows, dtype=bool)       # a column without a blank cell: no row is blank
        if blank_values == {""}:
            blank &= np.array(column, dtype=object) == ""
        else:
            blank &= np.fromiter((v in blank_values for v in column), dtype=bool, count=rows)
        if not blank.any():
            break
    return blank


def _check_header(header: list[str], path: Path, form: FormSpec) -> None:
    seen = set()
    row = form.header_row
    if _blank(header):
        raise read_error("READ-HEADER", f"row {row} (the header row) is blank", path,
                         "remove the blank lines above the header, or set header_row: for this form", row=row,
                         form=form)
    for i, name in enumerate(header, start=1):
        name = str(name).strip()
        if not name:
            raise read_error("READ-HEADER", f"column {i} of the header row has no name", path,
                             "give every column a name in the header row", row=row, form=form)
        if name in seen:
            raise read_error("READ-HEADER", f"column name {name!r} appears twice in the header", path,
                             "make column names unique", row=row, column=name, form=form)
        seen.add(name)


def _skip_title_lines(text: str, path: Path, form: FormSpec) -> str:
    skip = form.header_row - 1
    if skip <= 0:
        return text
    ends = list(_LINE_END.finditer(text))
    if len(ends) < skip:
        raise read_error("READ-HEADER", f"header_row is {form.header_row} but the file has only {len(ends)} "
                         "line(s)", path, "fix header_row / skip_rows for this form in study.yaml", form=form)
    return text[ends[skip - 1].end():]


def _check_csv_header(header: list[str], path: Path, form: FormSpec) -> None:
    if len(header) == 1 and form.delimiter == ",":
        other = next((d for d in _OTHER_DELIMITERS if d in header[0]), None)
        if other:
            shown = "tab" if other == "\t" else other
            raise read_error("READ-DELIMITER", f"the header row is one column {header[0][:80]!r}; the file looks "
                             f"separated by {shown!r}, not commas", path,
                             f'declare delimiter: "{shown}" for this form in study.yaml', row=form.header_row,
                             form=form)
    _check_header(header, path, form)


def _plain_csv(text: str, delimiter: str) -> tuple[list[str], list[np.ndarray]] | None:
    """Header and body columns of a plain CSV, parsed by pandas' C tokenizer; None when the text is
    anything but plain, for the careful reader to read (and to word its problems).

    Plain: no quote, NUL, byte-order mark or lone carriage return; no blank line; every line has
    exactly as many cells as the header and no cell longer than the csv module allows. Each line
    is then one record, split at each delimiter: what csv.reader gives, without a list per row."""
    if not text or '"' in text or "\x00" in text or text[0] == "\ufeff":
        return None
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            return None
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if not lines or "" in lines or max(map(len, lines)) > csv.field_size_limit():
        return None
    header = lines[0].split(delimiter)
    if set(map(str.count, lines, itertools.repeat(delimiter))) != {len(header) - 1}:
        return None
    if len(lines) == 1:
        return header, [np.empty(0, dtype=object) for _ in header]
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, header=None, skiprows=1, names=range(len(header)),
                            dtype=object, na_filter=False, quoting=csv.QUOTE_NONE, skip_blank_lines=False,
                            index_col=False, engine="c")
    except Exception:  # noqa: BLE001 - anything unusual is the careful reader's to read and to report
        return None
    columns = [frame[i].to_numpy(dtype=object) for i in range(len(header))]
    if frame.shape != (len(lines) - 1, len(header)) or _blank_rows(columns, len(frame)).any():
        return None             # blank-only rows are skipped and reported by the careful reader
    return header, columns


def read_csv(path: Path, form: FormSpec) -> _Rows:
    data = path.read_bytes()
    if not data.strip():
        raise read_error("READ-EMPTY", "the file is empty", path,
                         "export the form again; an empty form needs a header row", form=form)
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise read_error("READ-NOT-CSV", "the file is an HTML page saved with a .csv name", path,
                         "download the export itself, not the web page that links to it", form=form)
    if data.startswith(b"PK\x03\x04"):
        raise read_error("READ-NOT-CSV", "the file is a ZIP/XLSX workbook saved with a .csv name", path,
                         "save it as CSV, or declare format: xlsx for this form in study.yaml", form=form)
    text, notices = decode_text(data, path, form)
    text = _skip_title_lines(text, path, form)
    if len(form.delimiter) != 1:
        raise read_error("READ-DELIMITER", f"delimiter {form.delimiter!r} is not one character", path,
                         'declare delimiter: ";" (or tab, pipe, comma) for this form in study.yaml', form=form)
    fast = _plain_csv(text, form.delimiter)
    if fast is not None:
        header, columns = fast
        _check_csv_header(header, path, form)
        first = form.header_row + 1
        # pandas' C parser boxes each distinct text of a column once (per chunk): already shared
        return _Rows(header, None, list(range(first, first + (len(columns[0]) if columns else 0))), notices,
                     columns=columns, text_shared=True)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=form.delimiter)
    rows: list[list[str]] = []
    numbers: list[int] = []
    offset = form.header_row - 1
    ended = 0                       # lines consumed so far; a record starts on the next one
    try:
        for record in reader:
            numbers.append(offset + ended + 1)
            ended = reader.line_num
            rows.append(record)
    except csv.Error as exc:
        raise read_error("READ-CSV", f"malformed CSV: {exc}", path, "check quoting in the export",
                         row=offset + reader.line_num, form=form) from None
    if not rows:
        raise read_error("READ-EMPTY", "the file has no header row", path,
                         "export the form again; an empty form needs a header row", form=form)
    header = rows[0]
    _check_csv_header(header, path, form)
    body, body_numbers, blank_notices = _without_blank_lines(path, form, rows[1:], numbers[1:])
    for r, n in zip(body, body_numbers):
        if len(r) > len(header) and any(x.strip() for x in r[len(header):]):
            sep = "comma" if form.delimiter == "," else repr(form.delimiter)
            raise read_error("READ-WIDTH", f"row has {len(r)} cells but the header has {len(header)}", path,
                             f"check for an unquoted {sep} in a value (e.g. a decimal comma)", row=n, form=form)
    return _Rows(header, body, body_numbers, notices + blank_notices)


def read_xlsx(path: Path, form: FormSpec) -> _Rows:
    """XLSX via calamine (Rust reader, an order of magnitude faster than openpyxl on large lab exports);
    cells are turned into text column by column, and the body goes to the frame as columns."""
    from python_calamine import CalamineWorkbook

    if path.stat().st_size == 0:
        raise read_error("READ-EMPTY", "the file is empty", path, "export the workbook again", form=form)
    if not zipfile.is_zipfile(path):
        raise read_error("READ-XLSX", "not a readable XLSX workbook (not a ZIP container)", path,
                         "the file is truncated or not an Excel workbook; export it again", form=form)
    try:
        book = CalamineWorkbook.from_path(str(path))
        if form.sheet and form.sheet not in book.sheet_names:
            raise read_error("READ-XLSX", f"sheet {form.sheet!r} not found (sheets: {', '.join(book.sheet_names)})",
                             path, "fix `sheet:` for this form in study.yaml", form=form)
        sheet = book.get_sheet_by_name(form.sheet) if form.sheet else book.get_sheet_by_index(0)
        cells = sheet.to_python(skip_empty_area=False)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - calamine reports damage with its own exception types
        raise read_error("READ-XLSX", f"not a readable XLSX workbook ({type(exc).__name__}: {exc})", path,
                         "the file is truncated or not an Excel workbook; export it again", form=form) from None
    end = len(cells)
    while end and _blank(column_text(cells[end - 1])):     # formatted but empty rows Excel keeps below the data
        end -= 1
    start = form.header_row - 1
    if start >= end:
        raise read_error("READ-EMPTY", "the sheet is empty" if form.header_row == 1 else
                         f"the sheet has no row {form.header_row} (header_row)", path,
                         "export the form again with its header row", form=form)
    header = column_text(cells[start])
    while header and not str(header[-1]).strip():
        header = header[:-1]
    _check_header(header, path, form)
    body = cells[start + 1:end]
    width = len(header)
    if any(len(r) < width for r in body):        # a short row: its missing cells are empty
        body = [r if len(r) >= width else list(r) + [None] * (width - len(r)) for r in body]
    columns = [column_text(c) for c in itertools.islice(zip(*body), width)] if body else [[] for _ in header]
    numbers = list(range(form.header_row + 1, form.header_row + 1 + len(body)))
    blank = _blank_rows(columns, len(body))
    notices = []
    if blank.any():
        keep = ~blank
        notices.append(_blank_notice(path, form, [n for n, b in zip(numbers, blank.tolist()) if b], "blank row"))
        columns = [list(itertools.compress(c, keep.tolist())) for c in columns]
        numbers = list(itertools.compress(numbers, keep.tolist()))
    return _Rows(header, None, numbers, notices, columns=columns)


def _read_sas(path: Path, form: FormSpec, raw_dir: Path) -> _Rows:
    header, rows, notices = read_sas(path, form, raw_dir)
    return _Rows(header, rows, list(range(2, 2 + len(rows))), notices)


def _read_odm(path: Path, form: FormSpec, declared: tuple[str, ...]) -> _Rows:
    header, rows, lines, notices = read_odm(path, form, declared)
    return _Rows(header, rows, lines, notices)


READERS: dict[str, Callable[..., _Rows]] = {
    "csv": lambda path, form, raw_dir, declared: read_csv(path, form),
    "xlsx": lambda path, form, raw_dir, declared: read_xlsx(path, form),
    "xpt": lambda path, form, raw_dir, declared: _read_sas(path, form, raw_dir),
    "sas7bdat": lambda path, form, raw_dir, declared: _read_sas(path, form, raw_dir),
    "odm": lambda path, form, raw_dir, declared: _read_odm(path, form, declared),
    "xml": lambda path, form, raw_dir, declared: _read_odm(path, form, declared),
}


def _renamed_header(header: list[str], path: Path, form: FormSpec) -> list[str]:
    """Apply the form's `columns:` map (raw name -> spec name); every raw name must be in the file."""
    header = [str(h).strip() for h in header]
    if not form.columns:
        return header
    missing = [raw for raw in form.columns if raw not in header]
    if missing:
        raise read_error("READ-MISSING-COLUMN", f"form {form.name!r}: the columns: map renames "
                         f"{', '.join(missing)}, which the file does not have", path,
                         f"the file has: {', '.join(header[:30])}; fix the columns: map in study.yaml or "
                         "re-export the form", row=form.header_row, column=missing[0], form=form)
    renamed = [form.columns.get(h, h) for h in header]
    seen: dict[str, str] = {}
    for raw, new in zip(header, renamed):
        if new in seen:
            raise read_error("READ-HEADER", f"form {form.name!r}: columns {seen[new]!r} and {raw!r} would both be "
                             f"named {new!r} after the columns: map", path,
                             "rename one of them to another name in the columns: map", row=form.header_row,
                             column=raw, form=form)
        seen[new] = raw
    return renamed


def _table(form: FormSpec, path: Path, rows: _Rows) -> RawTable:
    header = _renamed_header(rows.header, path, form)
    width = len(header)
    if rows.columns is not None:
        frame = pd.DataFrame(dict(zip(header, rows.columns)), columns=header, dtype=object) if rows.numbers else \
            pd.DataFrame(columns=header, dtype=object)
    else:
        padded = [r if len(r) == width else (list(r) + [""] * width)[:width] for r in rows.rows]
        frame = pd.DataFrame(padded, columns=header, dtype=object) if padded else \
            pd.DataFrame(columns=header, dtype=object)
    frame[SOURCE_FILE] = path.name
    frame[SOURCE_ROW] = rows.numbers
    return RawTable(form.name, path, frame.reset_index(drop=True), rows.notices,
                    text_shared=rows.text_shared and rows.columns is not None)


def read_form(raw_dir: Path, form: FormSpec, declared: tuple[str, ...] = ()) -> RawTable:
    """Read one declared form and check it has the columns the spec relies on.

    `declared`: the columns the specs name for this form (spec.columns.declared_columns); an ODM
    export leaves out empty items, so those become empty columns instead of missing ones.
    """
    path = raw_dir / form.file
    if not path.resolve().is_relative_to(raw_dir.resolve()):
        raise read_error("READ-PATH", f"form file {form.file!r} is outside the raw folder", path,
                         "give a file name relative to --raw", form=form)
    if not path.is_file():
        raise read_error("READ-MISSING", f"form {form.name!r}: file {form.file} not found in {raw_dir}", path,
                         "export the form into the raw folder, or fix `file:` in study.yaml", form=form)
    reader = READERS.get(form.format)
    if reader is None:
        raise read_error("READ-FORMAT", f"unknown format {form.format!r} for form {form.name!r}", path,
                         f"use one of: {', '.join(sorted(READERS))}", form=form)
    odm = form.format in ("odm", "xml")
    expected = tuple(dict.fromkeys((*form.columns.values(), *form.required_columns, *declared))) if odm else ()
    table = _table(form, path, reader(path, form, raw_dir, expected))
    missing = [c for c in form.required_columns if c not in table.frame.columns]
    if missing:
        near = ", ".join(table.data_columns[:30])
        raise read_error("READ-MISSING-COLUMN", f"form {form.name!r} lacks column(s) {', '.join(missing)}", path,
                         f"the file has: {near}; re-export with these columns or fix required_columns in study.yaml",
                         row=form.header_row, column=missing[0], form=form)
    return table
