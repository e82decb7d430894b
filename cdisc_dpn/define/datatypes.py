"""Define-XML data types, lengths and significant digits decided from the spec and the data.

Rules (Define-XML 2.1 section 4.3 / 5.3.11):
- the spec's `data_type` wins when it is a Define-XML data type;
- Char: --DTC (ISO 8601 date/time) -> "datetime" when any value has a time part, else "date";
  ISO 8601 durations (--DUR, --ELTM, --STINT, --ENINT, --EVLINT, ...; standards.kinds decides)
  -> "durationDatetime"; anything else "text";
- Num: "integer" when every value is whole, else "float" with SignificantDigits = the most
  decimals in the data;
- Length: text -> the XPT byte length (`lengths`); integer/float -> the most digits in the data
  (Define-XML's Length for numbers is a digit count, not SAS' 8 storage bytes);
  no Length for date/time types.
"""
from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Iterable

import pandas as pd

from cdisc_dpn.standards.kinds import DATETIME, DURATION, char_kind, parse_number

DATA_TYPES = ("text", "integer", "float", "date", "datetime", "time", "partialDate", "partialTime",
              "partialDatetime", "incompleteDatetime", "durationDatetime", "intervalDatetime",
              "string", "boolean", "double", "hexBinary", "base64Binary", "hexFloat", "base64Float",
              "URI")
NUMERIC_TYPES = ("integer", "float")
LENGTH_TYPES = ("text", "integer", "float")


def char_values(series: pd.Series) -> list[str]:
    """Non-empty character values as str."""
    return [str(v) for v in series.tolist() if v is not None and not (isinstance(v, float) and math.isnan(v))
            and str(v) != ""]


def num_values(series: pd.Series) -> list[float]:
    """Finite numbers of a column; text (a "NEG" in a numeric column) and infinities are not numbers here."""
    values = pd.to_numeric(series, errors="coerce")
    return [float(v) for v in values.tolist() if math.isfinite(v)]


def decimals(value: float) -> int:
    """Decimals needed to write `value` exactly as its shortest repr."""
    d = Decimal(repr(float(value))).normalize()
    exp = d.as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def digits(value: float) -> int:
    """Digits written for `value` (integer part + decimals, sign and point not counted)."""
    whole = len(str(int(abs(value)))) if abs(value) >= 1 else 1
    return whole + decimals(value)


def is_whole(value: float) -> bool:
    return float(value).is_integer()


def numeric_profile(values: Iterable[float]) -> tuple[str, int, int | None]:
    """(data type, Length, SignificantDigits) for numeric values; empty -> integer, 1."""
    vals = list(set(values))          # profiles depend on distinct values only; data repeats a lot
    if not vals:
        return "integer", 1, None
    if all(is_whole(v) for v in vals):
        return "integer", max(digits(v) for v in vals), None
    return "float", max(digits(v) for v in vals), max(decimals(v) for v in vals)


def text_decimals(text: str) -> int:
    """Decimals written in a number stored as text; 0 for text that is not a number ("NEG", "Negative")."""
    number = parse_number(text)
    if number is None:
        return 0
    text = str(text).strip().lower()
    if "e" in text:
        return decimals(number)
    return len(text.split(".", 1)[1]) if "." in text else 0


def non_numbers(values: Iterable[str]) -> list[str]:
    """Distinct values that are not numbers, sorted (text results in a test declared numeric)."""
    return sorted({v for v in values if parse_number(v) is None})


def char_type(name: str, values: list[str]) -> str:
    kind = char_kind(name)
    if kind == DURATION:
        return "durationDatetime"
    if kind == DATETIME:
        return "datetime" if any("T" in v for v in values) else "date"
    return "text"


def char_value_profile(name: str, values: list[str]) -> tuple[str, int | None, int | None]:
    """Data type for the values of a Char column under a where clause (value-level metadata).

    Numbers stored as text (e.g. --ORRES) become integer/float with digits; others as char_type.
    """
    if values:
        numbers = [parse_number(v) for v in values]
        if all(n is not None for n in numbers):
            if all("." not in v and "e" not in v.lower() for v in values):
                return "integer", max(len(v.strip().lstrip("+-").lstrip("0") or "0") for v in values), None
            sig = max(text_decimals(v) for v in values)
            length = max(len(re.sub(r"[^0-9]", "", v.split("e")[0].split("E")[0])) for v in values)
            return "float", length, sig
    return char_type(name, values), None, None


def byte_length(values: Iterable[str]) -> int:
    return max((len(v.encode("utf-8")) for v in values), default=1) or 1
