"""What the written data says about a column: its distinct values, Define-XML data type, Length and
SignificantDigits, the rows a where clause selects, and decodes seen beside codes. No XML, no findings
(a problem is returned for the caller to report)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from cdisc_dpn.distinct import first_rows, on_distinct, value_codes
from cdisc_dpn.spec.model import WhereCondition
from cdisc_dpn.standards.kinds import number_text

from . import datatypes as dt


def distinct(series: pd.Series) -> pd.Series:
    """The column's distinct values in order of first appearance (the profiles depend on nothing else)."""
    return series.iloc[first_rows(value_codes(series))]


def where_text(series: pd.Series) -> pd.Series:
    """Values as a where clause compares them (numbers without ".0")."""
    return series.map(lambda v: number_text(v) if isinstance(v, float) else str(v))


class WhereRows:
    """Rows selected by where clauses; each column is turned into where-clause text once."""

    def __init__(self) -> None:
        self._texts: dict[tuple[int, str], pd.Series] = {}

    def text(self, frame: pd.DataFrame, variable: str) -> pd.Series:
        key = (id(frame), variable)
        if key not in self._texts:
            self._texts[key] = on_distinct(frame[variable], where_text)
        return self._texts[key]

    def mask(self, frame: pd.DataFrame, conds: tuple[WhereCondition, ...]) -> pd.Series:
        mask = pd.Series(True, index=frame.index)
        for c in conds:
            if c.variable not in frame.columns:
                return pd.Series(False, index=frame.index)
            hit = self.text(frame, c.variable).isin(list(c.values))
            mask &= ~hit if c.comparator in ("NE", "NOTIN") else hit
        return mask


def column_values(series: pd.Series, is_num: bool, first: np.ndarray | None = None) -> list:
    """Distinct finite numbers of a Num column, distinct non-empty texts of a Char column.
    `first`: the first row of each distinct value (as `distinct` finds them), when the writer has them."""
    values = distinct(series) if first is None else series.iloc[first]
    return dt.num_values(values) if is_num else dt.char_values(values)


def shown_values(values: list, is_num: bool) -> list[str]:
    """Values as define.xml lists them (numbers as text)."""
    return [number_text(v) for v in values] if is_num else values


def text_digits(values: list[str], data_type: str) -> tuple[int, int | None]:
    """(Length, SignificantDigits) of numbers stored as text; values that are not numbers are skipped."""
    numbers = [v for v in values if dt.parse_number(v) is not None]
    if not numbers:
        return 1, None
    length = max(len(re.sub(r"[^0-9]", "", v.lower().split("e")[0])) for v in numbers) or 1
    if data_type == "integer":
        return length, None
    return length, max(dt.text_decimals(v) for v in numbers)


def numeric_text_profile(values: list[str], data_type: str) -> tuple[str, int, int | None, list[str]]:
    """(data type, Length, SignificantDigits, the distinct values that are not numbers) of a Char column
    declared integer/float: text results among the numbers make it text."""
    text = dt.non_numbers(values)
    if text:
        return "text", dt.byte_length(values), None, text
    return (data_type, *text_digits(values, data_type), [])


def decode_hints(frame: pd.DataFrame, column: str) -> dict[str, str]:
    """value -> decode from the paired column in the data (XXTESTCD -> XXTEST, ARMCD -> ARM)."""
    partner = column[:-2] if column.endswith("CD") else None
    if not partner or partner not in frame.columns:
        return {}
    pairs = frame[[column, partner]].astype(str)
    pairs = pairs[(pairs[column] != "") & (pairs[partner] != "")].drop_duplicates(column)
    return dict(zip(pairs[column], pairs[partner]))
