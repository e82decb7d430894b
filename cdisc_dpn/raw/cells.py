"""A spreadsheet or SAS cell as the text a person sees (readers hand the spec text, never typed values)."""
from __future__ import annotations

import math
from datetime import date, datetime, time
from typing import Iterable

from cdisc_dpn.standards.kinds import number_text


def cell_text(value: object) -> str:
    """Integral floats without '.0' (Excel stores 66 and 66.0 alike), dates as ISO 8601, others as repr."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return number_text(value)
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


def column_text(values: Iterable[object]) -> list[str]:
    """cell_text of every value of a column: text kept as it is, each distinct number converted once."""
    known: dict[float, str] = {}
    out = []
    append = out.append
    for value in values:
        kind = type(value)
        if kind is str:
            append(value)
        elif kind is float:
            text = known.get(value)
            if text is None:
                text = known[value] = cell_text(value)
            append(text)
        else:
            append(cell_text(value))
    return out

