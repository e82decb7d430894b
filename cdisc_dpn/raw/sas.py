"""SAS transport (XPT) and sas7bdat forms: numbers become the text their SAS format shows.

pyreadstat reads the raw numbers (its own date conversion is switched off) and the format
of each variable; this module turns them into text with the meaning the EDC gave them:
  - date, time and datetime formats -> ISO 8601 (days / seconds since 1960-01-01), to the
    precision the format shows (TIME5. -> "08:30", TIME8. -> "08:30:00");
  - w.d formats (5.1, F8.2, COMMA10.2, Zw.d) -> d decimals, rounded half away from zero
    ("66" with 5.1 -> "66.0"), unless the form says `numbers: raw`;
  - user formats -> their text from the form's `value_formats:` map, else from the formats
    catalogue (`format_catalog:`); a user format neither declares keeps its codes, with a notice.
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Callable

import pandas as pd

from cdisc_dpn.errors import Finding
from cdisc_dpn.raw.cells import cell_text
from cdisc_dpn.raw.failure import read_error, read_notice
from cdisc_dpn.spec.model import FormSpec

SAS_EPOCH = datetime(1960, 1, 1)
_DATE = re.compile(r"^(DATE|DAY|DDMMYY[BCDNPS]?|MMDDYY[BCDNPS]?|YYMMDD[BCDNPS]?|E8601DA|B8601DA|IS8601DA|"
                   r"MONYY|YYMON|MMYY[BCDNPS]?|YYMM[BCDNPS]?|YYQ|WEEKDATE|WEEKDATX|WORDDATE|WORDDATX|DOWNAME|"
                   r"MONNAME|YEAR|JULIAN|NLDATE\w*|MINGUO|NENGO)\d*\.?\d*$")
_DATETIME = re.compile(r"^(DATETIME|DATEAMPM|E8601DT|B8601DT|IS8601DT|E8601DZ|NLDATM\w*|MDYAMPM)\d*\.?\d*$")
_TIME = re.compile(r"^(TIME|TOD|HHMM|HOUR|MMSS|TIMEAMPM|E8601TM|B8601TM|IS8601TM|E8601TZ|NLTIM\w*)\d*\.?\d*$")
_DECIMALS = re.compile(r"^(F|COMMA|COMMAX|DOLLAR|DOLLARX|EURO|EUROX|NLNUM|Z|BEST|PERCENT)?(\d+)?\.?(\d+)?$")
_PLAIN = re.compile(r"^\$?(CHAR|F|BEST|W|\$)?\d*\.?\d*$")


def _format_name(fmt: str) -> str:
    """'$YNF.' -> 'YNF', 'SEXF' -> 'SEXF', 'DATE9.' -> 'DATE9.'."""
    return fmt.upper().lstrip("$").rstrip(".")


def _iso_date(days: float) -> str:
    return (date(1960, 1, 1) + timedelta(days=math.floor(days))).isoformat()


def _width(match: re.Match, upper: str) -> int | None:
    digits = re.match(r"\d+", upper[match.end(1):])
    return int(digits.group()) if digits else None


def _iso_datetime(seconds_shown: bool) -> Callable[[float], str]:
    pattern = "%Y-%m-%dT%H:%M:%S" if seconds_shown else "%Y-%m-%dT%H:%M"
    return lambda seconds: (SAS_EPOCH + timedelta(seconds=math.floor(seconds))).strftime(pattern)


def _iso_time(seconds_shown: bool) -> Callable[[float], str]:
    def convert(seconds: float) -> str:
        whole = math.floor(seconds) % 86400
        text = f"{whole // 3600:02d}:{whole % 3600 // 60:02d}"
        return f"{text}:{whole % 60:02d}" if seconds_shown else text
    return convert


def _decimals_text(decimals: int) -> Callable[[float], str]:
    quantum = Decimal(1).scaleb(-decimals)
    return lambda v: str(Decimal(repr(v)).quantize(quantum, rounding=ROUND_HALF_UP))


def _number_converter(fmt: str, numbers: str) -> tuple[str, Callable[[float], str]] | None:
    """(kind, converter) for a numeric format; None when the format is a user format."""
    upper = fmt.upper()
    match = _DATETIME.match(upper)
    if match:   # DATETIME16. shows minutes, DATETIME18.+ seconds; E8601DT16. minutes, 19.+ seconds
        width = _width(match, upper)
        return "datetime", _iso_datetime(width is None or width >= (18 if match.group(1) == "DATETIME" else 19))
    match = _TIME.match(upper)
    if match:   # TIME5. and HHMM. show hours and minutes, TIME8. seconds too
        width = _width(match, upper)
        return "time", _iso_time(match.group(1) != "HHMM" and (width is None or width >= 7))
    if _DATE.match(upper):
        return "date", _iso_date
    match = _DECIMALS.match(upper)
    if match:
        if numbers == "raw" or match.group(1) == "BEST" or not match.group(3):
            return "number", cell_text
        return "number", _decimals_text(int(match.group(3)))
    return None


def _column_text(values: pd.Series, convert: Callable[[float], str]) -> list[str]:
    cache: dict = {}
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append("")
            continue
        text = cache.get(v)
        if text is None:
            text = cache[v] = convert(float(v))
        out.append(text)
    return out


def _catalog_labels(raw_dir: Path, form: FormSpec, path: Path) -> dict[str, dict[str, str]]:
    if not form.format_catalog:
        return {}
    import pyreadstat

    catalog = raw_dir / form.format_catalog
    if not catalog.is_file() or not catalog.resolve().is_relative_to(raw_dir.resolve()):
        raise read_error("READ-MISSING", f"formats catalogue {form.format_catalog} not found in {raw_dir}", path,
                         "copy the .sas7bcat into the raw folder or fix format_catalog: in study.yaml", form=form)
    try:
        _, meta = pyreadstat.read_sas7bcat(str(catalog))
    except Exception as exc:  # noqa: BLE001 - pyreadstat raises its own error types; the message is useful
        raise read_error("READ-SAS", f"not a readable SAS formats catalogue ({exc})", catalog,
                         "export the catalogue again (PROC FORMAT CNTLOUT, or copy formats.sas7bcat)",
                         form=form) from None
    return {_format_name(name): {cell_text(k): str(v) for k, v in labels.items()}
            for name, labels in (meta.value_labels or {}).items()}


def read_sas(path: Path, form: FormSpec,
             raw_dir: Path | None = None) -> tuple[list[str], list[list[str]], list[Finding]]:
    """Header, rows as text and notices of a SAS dataset."""
    import pyreadstat

    if path.stat().st_size == 0:
        raise read_error("READ-EMPTY", "the file is empty", path, "export the dataset again", form=form)
    reader: Callable = pyreadstat.read_xport if form.format == "xpt" else pyreadstat.read_sas7bdat
    try:
        frame, meta = reader(str(path), disable_datetime_conversion=True)
    except Exception as exc:  # noqa: BLE001 - pyreadstat raises its own ReadstatError and others
        raise read_error("READ-SAS", f"not a readable SAS {form.format} file ({exc})", path,
                         "export the dataset again as SAS transport v5 or sas7bdat", form=form) from None
    user_formats = {**_catalog_labels(raw_dir or path.parent, form, path), **form.value_formats}
    formats = meta.original_variable_types or {}
    types = meta.readstat_variable_types or {}
    notices: list[Finding] = []
    undeclared: dict[str, list[str]] = {}
    columns: list[list[str]] = []
    for name in frame.columns:
        fmt = str(formats.get(name) or "")
        values = frame[name]
        numeric = types.get(name) == "double"
        converter = _number_converter(fmt, form.numbers) if numeric else None
        text = _column_text(values, converter[1]) if converter else [cell_text(v) for v in values]
        user = _format_name(fmt)
        is_user = (converter is None and bool(fmt)) if numeric else (fmt.startswith("$")
                                                                      and not _PLAIN.match(fmt.upper()))
        if is_user:
            labels = user_formats.get(user)
            if labels is None:
                undeclared.setdefault(user, []).append(str(name))
            else:
                text = [labels.get(t.strip(), t) if t.strip() else t for t in text]
        columns.append(text)
    for user, names in sorted(undeclared.items()):
        notices.append(read_notice(
            "READ-SAS-USER-FORMAT", f"column(s) {', '.join(names)} carry the SAS user format {user}, which no "
            f"value_formats: entry or formats catalogue declares; the stored codes are kept", path,
            f"declare value_formats: {{{user}: {{code: text, ...}}}} or format_catalog: for this form in study.yaml",
            column=names[0], form=form))
    header = [str(c) for c in frame.columns]
    rows = [list(r) for r in zip(*columns)] if columns else []
    return header, rows, notices
