"""Distinct values of a column: work that judges or rewrites each value on its own is done once per
distinct value and spread back to every row that holds it (SDTM columns repeat a few values a lot)."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype


def value_codes(column: pd.Series) -> np.ndarray:
    """One integer per row, numbered in order of first appearance, equal exactly when two rows hold
    the same value (same type, same bits).

    Floats are compared by their bits (0.0 and -0.0 differ, as their text does); object columns
    that hold anything but strings are not merged at all (1, 1.0 and True hash alike in Python).
    """
    values = column.array if isinstance(column.dtype, pd.api.extensions.ExtensionDtype) else column.to_numpy()
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return pd.factorize(values.view(f"i{values.dtype.itemsize}"))[0]
    if isinstance(values, np.ndarray) and values.dtype == object \
            and infer_dtype(values, skipna=True) not in ("string", "empty"):
        return np.arange(len(values))
    return pd.factorize(values, use_na_sentinel=False)[0]


def first_rows(codes: np.ndarray) -> np.ndarray:
    """Position of the first row of each code 0..k-1."""
    codes = np.asarray(codes)
    if len(codes):
        # Codes numbered in order of first appearance (value_codes, joint_codes): a row is the first
        # of its code exactly when the code exceeds every code before it (linear, no sort).
        seen = np.maximum.accumulate(codes)
        new = np.empty(len(codes), dtype=bool)
        new[0] = True
        np.greater(seen[1:], seen[:-1], out=new[1:])
        first = np.flatnonzero(new)
        if len(first) == seen[-1] + 1 and codes[0] == 0 and np.array_equal(codes[first], np.arange(len(first))):
            return first
    return np.unique(codes, return_index=True)[1]


def joint_codes(codes: Sequence[np.ndarray], rows: int) -> np.ndarray:
    """Codes of the combinations of several columns' codes (numbered in order of first appearance)."""
    joint = np.zeros(rows, dtype=np.int64)
    for column in codes:
        joint = pd.factorize(joint * (int(column.max(initial=0)) + 1) + column)[0]
    return joint


def on_distinct(series: pd.Series, transform: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """`transform(series)` for an element-wise transform, computed on the distinct values only
    (same values, dtype, index and name as the direct call)."""
    codes = value_codes(series)
    first = first_rows(codes)
    if len(first) == len(series):
        return transform(series)
    return transform(series.iloc[first]).take(codes).set_axis(series.index)


def on_distinct_each(series: pd.Series, transforms: Sequence[Callable[[pd.Series], pd.Series]]) -> list[pd.Series]:
    """`[on_distinct(series, t) for t in transforms]`, grouping the series' values once for all."""
    codes = value_codes(series)
    first = first_rows(codes)
    if len(first) == len(series):
        return [transform(series) for transform in transforms]
    distinct = series.iloc[first]
    return [transform(distinct).take(codes).set_axis(series.index) for transform in transforms]


def map_distinct(series: pd.Series, function: Callable) -> pd.Series:
    """`series.map(function)` with `function` called once per distinct value (a per-row lambda
    over a column that repeats a few values is the slow path this replaces)."""
    return on_distinct(series, lambda s: s.map(function))
