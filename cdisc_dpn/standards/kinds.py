"""What kind of value an SDTM variable holds, and numbers written as text: the one owner of these
meanings for reading, mapping, XPT, validation and Define-XML.

Kinds follow SDTMIG 3.4's "Described Value Domain": --DTC variables hold ISO 8601 dates/times
("ISO 8601 datetime or interval"); --DUR, --ELTM, --STINT, --ENINT, --EVLINT and the trial-disease
offsets/intervals (TDSTOFF, TDTGTPAI, TDMINPAI, TDMAXPAI) hold ISO 8601 durations ("ISO 8601
duration"), which Define-XML 2.1 types as durationDatetime (ODM DataType). The duration suffixes are
read from the shipped SDTMIG metadata, not listed by hand, so define and validation cannot disagree.
"""
from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import pandas as pd

from cdisc_dpn.distinct import on_distinct

DATETIME = "datetime"
DURATION = "duration"
TEXT = "text"

#: ISO 8601 complete or partial date/datetime (SDTMIG 4.4), optionally an interval start/end.
_DT = (r"[0-9]{4}(?:-(?:0[1-9]|1[0-2]|-)(?:-(?:0[1-9]|[12][0-9]|3[01]|-)"
       r"(?:T(?:[01][0-9]|2[0-3]|-)(?::(?:[0-5][0-9]|-)(?::[0-5][0-9](?:\.[0-9]+)?)?)?)?)?)?")
ISO8601_DTC = rf"^(?:{_DT}(?:/{_DT})?)?$"
#: ISO 8601 duration (PnYnMnDTnHnMnS or PnW), optionally negative; empty allowed.
_DUR = (r"P(?:(?:[0-9]+(?:\.[0-9]+)?W)|(?:(?:[0-9]+(?:\.[0-9]+)?Y)?(?:[0-9]+(?:\.[0-9]+)?M)?(?:[0-9]+(?:\.[0-9]+)?D)?"
        r"(?:T(?:[0-9]+(?:\.[0-9]+)?H)?(?:[0-9]+(?:\.[0-9]+)?M)?(?:[0-9]+(?:\.[0-9]+)?S)?)?))")
ISO8601_DUR = rf"^(?:-?{_DUR})?$"

#: A decimal number as text (sign, digits with an optional point, optional exponent); ASCII digits only.
NUMBER_PATTERN = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_NUMBER = re.compile(NUMBER_PATTERN)


@lru_cache(maxsize=1)
def duration_suffixes() -> tuple[str, ...]:
    """Generic names (prefix removed) of the SDTMIG variables whose values are ISO 8601 durations."""
    from cdisc_dpn.standards.sdtmig import load_sdtmig

    found = set()
    for dataset in load_sdtmig().values():
        for var in dataset.variables:
            if "duration" in var.value_domain.lower():
                found.add(var.name[2:] if var.name.startswith(dataset.name[:2]) else var.name)
    return tuple(sorted(found, key=lambda s: (-len(s), s)))


def is_datetime_name(name: str) -> bool:
    """--DTC: an ISO 8601 date/time (or interval)."""
    return name.endswith("DTC")


def is_duration_name(name: str) -> bool:
    """--DUR, --ELTM, --STINT, --ENINT, --EVLINT, ...: an ISO 8601 duration (a prefix is required)."""
    return any(name.endswith(s) and len(name) > len(s) for s in duration_suffixes())


def char_kind(name: str) -> str:
    """DATETIME, DURATION or TEXT for a character variable, by its SDTM name."""
    if is_duration_name(name):
        return DURATION
    if is_datetime_name(name):
        return DATETIME
    return TEXT


def number_text(value: float) -> str:
    """A number as SDTM character data shows it: whole numbers without ".0" (1.0 -> "1", -0.0 -> "0"),
    others as the shortest text that reads back the same double (0.1 -> "0.1", 1e16 -> "1e+16")."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def number_texts(series: pd.Series) -> pd.Series:
    """number_text of every value of a numeric column (once per distinct value); missing -> ""."""
    def texts(values: pd.Series) -> pd.Series:
        return pd.Series([number_text(v) if not math.isnan(v) else "" for v in values.tolist()],
                         index=values.index, dtype=str)
    return on_distinct(pd.to_numeric(series, errors="coerce").astype(float), texts)


def is_number_text(text: str) -> bool:
    """True for text that is a decimal number (surrounding blanks allowed): "1", "-0.5", "1e3"."""
    return _NUMBER.fullmatch(str(text).strip()) is not None


def parse_number(text: str) -> float | None:
    """The finite number a text holds, or None for anything else (text results, overflow to infinity)."""
    text = str(text).strip()
    if not _NUMBER.fullmatch(text):
        return None
    try:
        number = float(Decimal(text))
    except (InvalidOperation, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None
