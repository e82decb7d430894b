"""EPOCH of a record from the subject's elements (SE): the element whose dates contain the record date."""
from __future__ import annotations

import pandas as pd

from cdisc_dpn.derive.context import MappingContext
from cdisc_dpn.distinct import on_distinct, on_distinct_each


def _days(values: pd.Series) -> pd.Series:
    return on_distinct(values, _parse_days)


def _parse_days(values: pd.Series) -> pd.Series:
    text = values.astype(str).str.slice(0, 10)
    return pd.to_datetime(text.where(text.str.len() == 10), format="%Y-%m-%d", errors="coerce")


def derive_epoch(subjects: pd.Series, dates: pd.Series, se: pd.DataFrame) -> pd.Series:
    """Start <= date < start of the next element; the last element includes its end date.

    Dates compare as calendar days (SE boundaries are often dates while records carry times).
    Records before the first element, after the last element's end, or with partial dates get none.
    """
    out = pd.Series("", index=subjects.index, dtype=object)
    if se.empty:
        return out
    elements = se.assign(_start=_days(se["SESTDTC"]), _end=_days(se["SEENDTC"]),
                         USUBJID=se["USUBJID"].astype(str))
    elements = elements[elements["_start"].notna()]
    order = ["USUBJID", "_start"] + (["TAETORD"] if "TAETORD" in elements.columns else [])
    elements = elements.sort_values(order, kind="stable")
    elements["_last"] = ~elements["USUBJID"].duplicated(keep="last")
    subject_text, subject_given = on_distinct_each(subjects, [lambda s: s.astype(str),
                                                              lambda s: s.astype(str).str.strip() != ""])
    records = pd.DataFrame({"USUBJID": subject_text.values,
                            "_day": _days(dates).values, "_pos": range(len(subjects))})
    records["USUBJID"] = records["USUBJID"].astype(str)      # same key dtype on both sides (pandas 2 and 3)
    # A record without a subject matches no element (merge_asof would pair "" with "" and "nan" with "nan").
    known = (subjects.notna() & subject_given).to_numpy()
    records = records[records["_day"].notna().to_numpy() & known].sort_values("_day", kind="stable")
    if records.empty or elements.empty:
        return out
    matched = pd.merge_asof(records, elements[["USUBJID", "_start", "_end", "_last", "EPOCH"]]
                            .sort_values("_start", kind="stable"),
                            left_on="_day", right_on="_start", by="USUBJID", direction="backward")
    beyond = matched["_last"].fillna(False).astype(bool) & matched["_end"].notna() & (matched["_day"] > matched["_end"])
    epochs = matched["EPOCH"].where(matched["EPOCH"].notna() & ~beyond, "")
    out.iloc[matched["_pos"].to_numpy()] = epochs.to_numpy()
    return out


def epoch(ctx: MappingContext, params: dict, var) -> pd.Series:
    """EPOCH for the date in `variable`, from SE (partial or missing dates give no epoch)."""
    se = ctx.dataset_frame(params.get("dataset", "SE"))
    return derive_epoch(ctx.variable("USUBJID"), ctx.variable(params["variable"]), se)
