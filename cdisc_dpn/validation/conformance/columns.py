"""Column helpers shared by the conformance checks: values as text, ISO 8601 comparisons, failing records."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cdisc_dpn.distinct import first_rows, joint_codes, on_distinct, value_codes
from cdisc_dpn.standards.kinds import number_texts


def text(series: pd.Series) -> pd.Series:
    """Values as stripped strings, missing as "" (numbers as they print, integral floats without .0)."""
    if pd.api.types.is_numeric_dtype(series.dtype):
        return number_texts(series)
    return on_distinct(series, _stripped_text)


def _stripped_text(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), "").astype(str).str.strip()



def records(frame: pd.DataFrame, mask: np.ndarray | pd.Series, value: pd.Series | np.ndarray | str,
            **fields: Any) -> pd.DataFrame:
    """Failing records of `frame` selected by a boolean mask, with template fields aligned to it."""
    mask = np.asarray(mask, dtype=bool)
    rows = np.flatnonzero(mask)
    data: dict[str, Any] = {"row": rows}
    data["usubjid"] = text(frame["USUBJID"]).to_numpy()[rows] if "USUBJID" in frame.columns else ""
    for key, val in (("value", value), *fields.items()):
        if isinstance(val, pd.Series):
            data[key] = val.to_numpy()[rows]
        elif isinstance(val, np.ndarray):
            data[key] = val[rows]
        else:
            data[key] = val
    return pd.DataFrame(data)


def pairs_in(a: np.ndarray, b: np.ndarray, in_a: np.ndarray, in_b: np.ndarray) -> np.ndarray:
    """True where the pair (a, b) is among the pairs (in_a, in_b): both sides as codes into shared
    distinct values, so no per-row key text is built (a SUPP-- dataset is as long as its parent)."""
    a_codes, a_uniques = pd.factorize(np.concatenate([in_a, a]), use_na_sentinel=False)
    b_codes, b_uniques = pd.factorize(np.concatenate([in_b, b]), use_na_sentinel=False)
    keys = a_codes.astype(np.int64) * (len(b_uniques) + 1) + b_codes
    n = len(in_a)
    return np.isin(keys[n:], keys[:n])


def dataset_record(value: str = "", usubjid: str = "", **fields: Any) -> pd.DataFrame:
    return pd.DataFrame([{"row": -1, "usubjid": usubjid, "value": value, **fields}])


def comparable(values: pd.Series) -> pd.Series:
    """ISO 8601 text usable for prefix comparison ("" when not a plain date/datetime)."""
    return on_distinct(text(values), _comparable_text)


def _comparable_text(values: pd.Series) -> pd.Series:
    ok = values.str.match(r"^[0-9]{4}") & ~values.str.contains("/", regex=False) & \
        ~values.str.contains("--", regex=False)
    return values.where(ok, "")


def iso_after(a: pd.Series, b: pd.Series) -> np.ndarray:
    """True where date/time a is after b, compared at the precision both have."""
    a, b = comparable(a), comparable(b)
    pairs = joint_codes([value_codes(a), value_codes(b)], len(a))
    first = first_rows(pairs)
    if len(first) < len(a):
        return _iso_after(a.iloc[first], b.iloc[first])[pairs]
    return _iso_after(a, b)


def _iso_after(a: pd.Series, b: pd.Series) -> np.ndarray:
    la, lb = a.str.len().to_numpy(), b.str.len().to_numpy()
    common = np.minimum(la, lb)
    valid = (la >= 4) & (lb >= 4)
    out = np.zeros(len(a), dtype=bool)
    for n in np.unique(common[valid]):
        m = valid & (common == n)
        out[m] = a[m].str.slice(0, int(n)).to_numpy() > b[m].str.slice(0, int(n)).to_numpy()
    return out


def full_date(values: pd.Series) -> pd.Series:
    """datetime64 of complete dates (first 10 characters YYYY-MM-DD), NaT otherwise."""
    return on_distinct(text(values), _full_date_text)


def _full_date_text(values: pd.Series) -> pd.Series:
    head = values.str.slice(0, 10).where(values.str.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"))
    return pd.to_datetime(head, format="%Y-%m-%d", errors="coerce")


def subject_values(frame: pd.DataFrame, by_subject: pd.Series) -> pd.Series:
    """A DM column looked up for every record of `frame` ("" when the subject is not in DM)."""
    return pd.Series(text(frame["USUBJID"]).map(by_subject).fillna("").to_numpy(), index=frame.index)


def normalised_key(values: pd.Series) -> pd.Series:
    """Text for matching IDVARVAL with parent values: numbers in one canonical form."""
    as_text = text(values)
    numbers = pd.to_numeric(as_text, errors="coerce")
    canonical = number_texts(numbers)
    return as_text.where(numbers.isna(), canonical)


def date_pairs(frame: pd.DataFrame, suffix: str, partner_suffix: str) -> list[tuple[str, str]]:
    return [(c, c[: -len(suffix)] + partner_suffix) for c in frame.columns
            if c.endswith(suffix) and len(c) > len(suffix) and c[: -len(suffix)] + partner_suffix in frame.columns]


def record_date_column(frame: pd.DataFrame, prefix: str) -> str | None:
    for candidate in (f"{prefix}DTC", f"{prefix}STDTC"):
        if candidate in frame.columns:
            return candidate
    return None

