"""distinct.first_rows: the one-pass reading of codes in order of first appearance gives what sorting gives."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdisc_dpn.distinct import first_rows, joint_codes, value_codes


@pytest.mark.parametrize("seed", range(20))
def test_first_rows_equals_sorting(seed):
    rng = np.random.default_rng(seed)
    values = pd.Series(rng.integers(0, int(rng.integers(1, 50)), size=int(rng.integers(1, 300))).astype(float))
    codes = value_codes(values)
    assert np.array_equal(first_rows(codes), np.unique(codes, return_index=True)[1])
    other = value_codes(pd.Series(rng.choice(["a", "b", "c"], size=len(values)), dtype=object))
    joint = joint_codes([codes, other], len(values))
    assert np.array_equal(first_rows(joint), np.unique(joint, return_index=True)[1])


@pytest.mark.parametrize("codes", [[1, 0], [0, 2, 1, 2], [0, 0, 2], [3, 3, 1], [2], []])
def test_codes_not_in_order_of_appearance_still_work(codes):
    codes = np.asarray(codes, dtype=np.int64)
    assert np.array_equal(first_rows(codes), np.unique(codes, return_index=True)[1])


@pytest.mark.parametrize("values", [[" a", "b ", " a", None, "b ", "c"], ["x", "y"], [], ["1", "1", "1"]])
def test_on_distinct_each_equals_each_direct_transform(values):
    from cdisc_dpn.distinct import on_distinct_each

    series = pd.Series(values, dtype=object, index=range(10, 10 + len(values)))
    transforms = [lambda s: s.astype(str).str.strip(), lambda s: s.isna(), lambda s: s.astype(str).str.len()]
    for got, transform in zip(on_distinct_each(series, transforms), transforms):
        pd.testing.assert_series_equal(got, transform(series))
