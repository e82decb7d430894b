"""What an operator sees: one dataset (possibly merged with its Match Datasets), name resolution
(`--` prefix, `**` wildcards, `$operation` results, `DOMAIN.VAR` merged columns) and value helpers
that work on whole columns, on distinct values where the work is per value."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from cdisc_dpn.validation.open_rules.study import StudyData, StudyDataset


class Absent(Exception):
    """A variable the check needs is not in the dataset: CORE skips the dataset for that rule."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


class RuleNotApplicable(Exception):
    """The rule cannot run on this dataset (e.g. an operation's source domain is not in the study)."""


@dataclass
class View:
    ds: StudyDataset
    frame: pd.DataFrame                  # positional index 0..n-1
    rows: np.ndarray                     # record index (0-based) of ds for each frame row
    study: StudyData
    values: dict[str, Any] = field(default_factory=dict)   # $id -> scalar / list (per-row results are columns)
    wildcard: tuple[str, str] | None = None                 # ("**", "FA") from Match Datasets

    @property
    def n(self) -> int:
        return len(self.frame)

    @property
    def prefix(self) -> str:
        d = self.ds.domain
        return d[4:6] if d.startswith("SUPP") else d[:2]

    def resolve(self, name: str) -> str:
        if name.startswith("--"):
            name = self.prefix + name[2:]
        elif ".--" in name:
            head, tail = name.split(".--", 1)
            name = f"{head}.{self.prefix}{tail}"
        if self.wildcard is not None:
            wc, rep = self.wildcard
            name = name.replace(wc, rep)
        return name

    def has(self, name: str) -> bool:
        if name.startswith("$"):
            return name in self.values or name in self.frame.columns
        return self.resolve(name) in self.frame.columns

    def column(self, name: str) -> pd.Series:
        """A column of the view (or an operation result broadcast to every row); Absent if missing."""
        if name.startswith("$"):
            if name in self.frame.columns:
                return self.frame[name]
            if name in self.values:
                v = self.values[name]
                return pd.Series([v] * self.n if isinstance(v, (list, set, tuple)) else np.repeat(v, self.n),
                                 index=self.frame.index, dtype=object if isinstance(v, (list, set, tuple, str)) else None)
            raise Absent(name)
        real = self.resolve(name)
        if real in self.frame.columns:
            return self.frame[real]
        raise Absent(real)

    def operand(self, value: Any, literal: bool = False) -> Any:
        """A check's `value`: an operation result, a column of the view, or a literal (str, number, list)."""
        if isinstance(value, str):
            if value.startswith("$"):
                if value in self.frame.columns:
                    return self.frame[value]
                if value in self.values:
                    return self.values[value]
                raise Absent(value)
            if not literal:
                real = self.resolve(value)
                if real in self.frame.columns:
                    return self.frame[real]
            return value
        if isinstance(value, list):
            out: list = []
            for v in value:
                if isinstance(v, str) and v.startswith("$"):
                    got = self.operand(v)
                    out.extend(list(got) if isinstance(got, (list, set, tuple)) else [got])
                elif isinstance(v, str) and not literal and self.resolve(v) != v:
                    out.append(self.resolve(v))
                else:
                    out.append(v)
            return out
        return value


# ----------------------------------------------------------------------------- value helpers
def is_empty(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return s.isna().to_numpy()
    null = s.isna().to_numpy()
    text = s.astype(object).where(~null, "")
    return null | per_value(text, lambda u: np.array([_blank(x) for x in u], dtype=bool), False)


def _blank(x: Any) -> bool:
    if isinstance(x, str):
        return x == ""                  # as CORE: blanks ("  ") are a value, not empty
    if isinstance(x, (list, set, tuple, dict)):
        return len(x) == 0
    return x is None or (isinstance(x, float) and np.isnan(x))


def per_value(s: pd.Series, fn: Callable[[np.ndarray], np.ndarray], null_result: bool = False) -> np.ndarray:
    """Apply `fn` (array of distinct values -> bool array) once per distinct value, then spread it."""
    try:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
    except TypeError:                                    # unhashable values (lists): one call per row
        return np.asarray(fn(s.to_numpy(dtype=object)), dtype=bool)
    if len(uniques) == 0:
        return np.full(len(s), null_result, dtype=bool)
    res = np.asarray(fn(np.asarray(uniques, dtype=object)), dtype=bool)
    return np.where(codes >= 0, res[np.maximum(codes, 0)], null_result)


def map_distinct(s: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """`fn` applied once per distinct value (null included once), spread back to every row."""
    obj = s.astype(object)
    try:
        codes, uniques = pd.factorize(obj, use_na_sentinel=False)
    except TypeError:                                    # unhashable values (lists)
        return obj.map(fn)
    out = np.empty(len(uniques), dtype=object)
    out[:] = [fn(u) for u in uniques]
    return pd.Series(out[codes], index=s.index, dtype=object)


def text_of(x: Any) -> str:
    """Numbers as CORE prints them for string operators: 1.0 -> '1'."""
    if isinstance(x, float):
        return f"{x:.0f}" if x.is_integer() else str(x)
    return str(x)


def as_text(s: pd.Series) -> pd.Series:
    """A column as text with nulls kept as NaN (numbers 1.0 -> '1')."""
    if pd.api.types.is_numeric_dtype(s.dtype):
        return map_distinct(s, lambda x: np.nan if pd.isna(x) else text_of(float(x)))
    return s.astype(object)


def norm_text(x: Any) -> Any:
    """type_insensitive form: numbers and numeric strings as canonical text ('200.00' -> '200')."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return x
    if isinstance(x, str):
        try:
            f = float(x)
        except ValueError:
            return x.strip()
        return str(int(f)) if f.is_integer() else str(f)
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return f"{x:.0f}" if float(x).is_integer() else str(float(x))
    return x
