"""EDC date text to ISO 8601, keeping partial dates partial, and ISO 8601 date arithmetic.

Formats are written with tokens DD, MM, MON, YYYY (e.g. "DD/MM/YYYY", "DD-MON-YYYY",
"YYYY-MM-DD"); "UN", "UNK", "UK" or "--" in a day or month position means unknown.
A known day with an unknown month cannot be expressed in ISO 8601 and is cut to the year.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
UNKNOWN = {"UN", "UNK", "UK", "--", "XX", "NK", "??"}
DEFAULT_FORMATS = ("YYYY-MM-DD", "DD/MM/YYYY", "DD-MON-YYYY", "DDMONYYYY", "DD MON YYYY", "YYYY-MM", "YYYY")

ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
ISO_DATETIME = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2}))?)?)?)?)?$")


@dataclass(frozen=True)
class ParsedDate:
    iso: str            # "" when nothing usable
    problem: str = ""   # why the text could not be used fully ("" when fine)

    @property
    def complete(self) -> bool:
        return len(self.iso) >= 10


@lru_cache(maxsize=64)
def _format_regex(fmt: str) -> tuple[re.Pattern, tuple[str, ...]]:
    tokens = []
    pattern = ""
    i = 0
    while i < len(fmt):
        for tok, rx in (("YYYY", r"(\d{4}|UNKN|UNK|UN|UK|--)"), ("MON", r"([A-Za-z]{3}|UNK|UN|UK|--)"),
                        ("DD", r"(\d{1,2}|UNK|UN|UK|--|XX|NK)"), ("MM", r"(\d{1,2}|UNK|UN|UK|--|XX|NK)")):
            if fmt.startswith(tok, i):
                tokens.append(tok)
                pattern += rx
                i += len(tok)
                break
        else:
            pattern += re.escape(fmt[i])
            i += 1
    return re.compile(f"^{pattern}$", re.IGNORECASE), tuple(tokens)


def parse_date(text: str, formats: tuple[str, ...] = DEFAULT_FORMATS) -> ParsedDate:
    """ISO 8601 (possibly partial) for an EDC date; problem says why when it cannot be used."""
    if isinstance(text, str):          # the same date text recurs across forms and datasets: parsed once
        return _parse_date_text(text, tuple(formats))
    return _parse_date(text, formats)


@lru_cache(maxsize=1 << 16)
def _parse_date_text(text: str, formats: tuple[str, ...]) -> ParsedDate:
    return _parse_date(text, formats)


def _parse_date(text, formats: tuple[str, ...]) -> ParsedDate:
    raw = " ".join(str(text or "").split())
    if not raw:
        return ParsedDate("")
    for fmt in formats:
        rx, tokens = _format_regex(fmt)
        m = rx.match(raw)
        if not m:
            continue
        parts = dict(zip(tokens, m.groups()))
        year_txt = parts.get("YYYY", "")
        if not year_txt.isdigit():
            return ParsedDate("", f"year unknown in {raw!r}")
        year = int(year_txt)
        month_txt = (parts.get("MM") or parts.get("MON") or "").upper()
        day_txt = (parts.get("DD") or "").upper()
        if "MM" not in parts and "MON" not in parts:
            return ParsedDate(f"{year:04d}")
        if month_txt in UNKNOWN:
            return ParsedDate(f"{year:04d}")
        month = MONTHS.get(month_txt) if "MON" in parts else int(month_txt)
        if not month or not 1 <= month <= 12:
            return ParsedDate("", f"impossible month in {raw!r}")
        if "DD" not in parts or day_txt in UNKNOWN:
            return ParsedDate(f"{year:04d}-{month:02d}")
        day = int(day_txt)
        if not 1 <= day <= calendar.monthrange(year, month)[1]:
            return ParsedDate("", f"impossible date {raw!r}")
        return ParsedDate(f"{year:04d}-{month:02d}-{day:02d}")
    return ParsedDate("", f"{raw!r} matches none of the date formats {', '.join(formats)}")


def parse_time(text: str) -> tuple[str, str]:
    """ "HH:MM" or "HH:MM:SS" -> ISO time part and a problem text."""
    raw = str(text or "").strip()
    if not raw:
        return "", ""
    m = re.match(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$", raw)
    if not m:
        return "", f"time {raw!r} is not HH:MM"
    h, mi, s = int(m.group(1)), int(m.group(2)), m.group(3)
    if h > 23 or mi > 59 or (s is not None and int(s) > 59):
        return "", f"impossible time {raw!r}"
    return (f"{h:02d}:{mi:02d}" + (f":{int(s):02d}" if s is not None else "")), ""


def combine_datetime(iso_date: str, iso_time: str) -> str:
    """Date plus time only when the date is complete (ISO 8601 forbids a time on a partial date)."""
    if iso_time and len(iso_date) == 10:
        return f"{iso_date}T{iso_time}"
    return iso_date


def to_date(iso: str) -> date | None:
    """The calendar date of a complete ISO 8601 date/datetime, else None."""
    if not iso or len(iso) < 10:
        return None
    try:
        return date.fromisoformat(iso[:10])
    except ValueError:
        return None


def study_day(event_iso: str, reference_iso: str) -> int | None:
    """SDTM study day: no day 0; day 1 is the reference date; partial dates give none."""
    event, ref = to_date(event_iso), to_date(reference_iso)
    if event is None or ref is None:
        return None
    delta = (event - ref).days
    return delta + 1 if delta >= 0 else delta


def is_iso8601(value: str) -> bool:
    return bool(ISO_DATETIME.match(value or ""))
