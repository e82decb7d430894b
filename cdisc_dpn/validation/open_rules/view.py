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
    columns: "Columns | None" = None    # the frame's columns shared by every rule (None: a frame of its own)

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
            return self.real_column(real)
        raise Absent(real)

    def real_column(self, real: str) -> pd.Series:
        """The column as the Series every rule on this frame shares (so its distinct values are
        worked out once), or the frame's own column for `$` results and frames of their own."""
        if self.columns is None or real.startswith("$"):
            return self.frame[real]
        return self.columns.get(real)

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
                    return self.real_column(real)
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


# ----------------------------------------------------------------------------- shared columns
_CACHE = "_open_rules_column"          # attribute of a shared Series: its Column


def narrow_codes(codes: np.ndarray, count: int) -> np.ndarray:
    """Codes in the smallest signed integer type that holds `count` + 1 values (one spare, for a
    null appended later): a dataset keeps every column's codes while its rules run, and int64 codes
    were most of that memory."""
    for dtype in (np.int8, np.int16, np.int32):
        if count < np.iinfo(dtype).max:
            return codes.astype(dtype, copy=False)
    return codes


@dataclass
class Distinct:
    """A column's values as codes into its distinct values: pd.factorize of the column as objects,
    nulls kept as one value (`null` marks it). Derived columns (as text) share the codes, so their
    `uniques` may repeat a value; per-value work reads `uniques` and spreads the result by `codes`."""
    codes: np.ndarray
    uniques: np.ndarray                  # object
    null: np.ndarray                     # bool per unique

    @classmethod
    def of(cls, s: pd.Series) -> "Distinct | None":
        try:                             # str and float columns factorize as they are (same codes, faster)
            codes, uniques = pd.factorize(s if isinstance(s.dtype, pd.StringDtype) or s.dtype == np.float64
                                          else s.astype(object), use_na_sentinel=False)
        except TypeError:                # unhashable values (lists)
            return None
        u = np.empty(len(uniques), dtype=object)
        u[:] = list(np.asarray(uniques, dtype=object))
        return cls(narrow_codes(codes, len(u)), u, pd.isna(u).astype(bool) if len(u) else np.zeros(0, dtype=bool))

    def spread(self, per_unique: np.ndarray) -> np.ndarray:
        return per_unique[self.codes] if len(self.codes) else per_unique[:0]


class Column:
    """What has been worked out about one shared column (its Distinct, derived columns, masks)."""

    def __init__(self, distinct: Distinct | None = None):
        self._distinct = distinct
        self.derived: dict[str, Any] = {}

    def distinct(self, s: pd.Series) -> Distinct | None:
        if self._distinct is None:
            self._distinct = Distinct.of(s) or False
        return self._distinct or None


def share(s: pd.Series, distinct: Distinct | None = None) -> pd.Series:
    """Mark `s` as shared: results worked out on it are kept with it (it must not be changed in place)."""
    object.__setattr__(s, _CACHE, Column(distinct))
    return s


def column_of(s: Any) -> Column | None:
    return s.__dict__.get(_CACHE) if isinstance(s, pd.Series) else None


def derived(s: pd.Series, key: str, make: Callable[[], Any]) -> Any:
    """`make()` once per shared column and key; every call on a column of its own."""
    col = column_of(s)
    if col is None:
        return make()
    if key not in col.derived:
        value = make()
        if isinstance(value, np.ndarray):
            value.flags.writeable = False        # shared by every rule: nobody may change it
        col.derived[key] = value
    return col.derived[key]


class Columns:
    """The columns of one frame as shared Series, made on first use (one per variable)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self._series: dict[str, pd.Series] = {}

    def get(self, name: str) -> pd.Series:
        s = self._series.get(name)
        if s is None:
            s = self._series[name] = share(self.frame[name])
        return s

    def know(self, name: str, distinct: Distinct) -> None:
        """Tell the column's distinct values when they are known already."""
        self._series[name] = share(self.frame[name], distinct)


def per_distinct(s: pd.Series, key: str, fn: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(codes, fn(distinct values)): `fn` maps the column's distinct values (objects, null included) to
    one result each; on a shared column it runs once per `key`. Spread with result[codes]."""
    col = column_of(s)
    d = col.distinct(s) if col is not None else None
    if d is None:
        d = Distinct.of(s)
        if d is None:                    # unhashable values (lists): one per row
            return np.arange(len(s)), np.asarray(fn(s.to_numpy(dtype=object)))
        return d.codes, np.asarray(fn(d.uniques))
    if key not in col.derived:
        result = np.asarray(fn(d.uniques))
        result.flags.writeable = False
        col.derived[key] = result
    return d.codes, col.derived[key]


# ----------------------------------------------------------------------------- value helpers
def is_empty(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return derived(s, "empty", lambda: s.isna().to_numpy())
    col = column_of(s)
    d = col.distinct(s) if col is not None else None
    if d is not None:
        def make() -> np.ndarray:
            per_unique = d.null.copy()
            per_unique[~d.null] = [_blank(x) for x in d.uniques[~d.null]]
            return d.spread(per_unique)
        return derived(s, "empty", make)
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
    col = column_of(s)
    d = col.distinct(s) if col is not None else None
    if d is not None:
        per_unique = np.full(len(d.uniques), null_result, dtype=bool)
        if (~d.null).any():
            per_unique[~d.null] = np.asarray(fn(d.uniques[~d.null]), dtype=bool)
        return d.spread(per_unique)
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
    col = column_of(s)
    d = col.distinct(s) if col is not None else None
    if d is not None:
        out = np.empty(len(d.uniques), dtype=object)
        out[:] = [fn(u) for u in d.uniques]
        return pd.Series(d.spread(out), index=s.index, dtype=object)
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
    """A column as text with nulls kept as NaN (numbers 1.0 -> '1'); of a shared column, a shared column
    made once (same codes, so its distinct values are not worked out again)."""
    col = column_of(s)
    if col is None:
        if pd.api.types.is_numeric_dtype(s.dtype):
            return map_distinct(s, lambda x: np.nan if pd.isna(x) else text_of(float(x)))
        return s.astype(object)

    def make() -> pd.Series:
        d = col.distinct(s)
        if not pd.api.types.is_numeric_dtype(s.dtype):
            return share(s.astype(object), d)
        text = map_distinct(s, lambda x: np.nan if pd.isna(x) else text_of(float(x)))
        if d is None:
            return text
        uniques = np.empty(len(d.uniques), dtype=object)
        uniques[:] = [np.nan if pd.isna(x) else text_of(float(x)) for x in d.uniques]
        return share(text, Distinct(d.codes, uniques, pd.isna(uniques).astype(bool)))
    return derived(s, "text", make)


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
