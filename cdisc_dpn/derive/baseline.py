"""--LOBXFL / --BLFL: the last non-missing result on or before the subject's first exposure."""
from __future__ import annotations

import pandas as pd

from cdisc_dpn.derive.study_day import subject_values
from cdisc_dpn.derive.context import MappingContext
from cdisc_dpn.distinct import on_distinct


def _day_text(values: pd.Series) -> pd.Series:
    return values.astype(str).str.slice(0, 10)


def derive_last_before(frame: pd.DataFrame, result: str, date: str, reference: pd.Series, by: list[str]) -> pd.Series:
    """'Y' on the latest record per USUBJID+by with a result and a complete date <= the reference date.

    Records dated on the reference day count as before it (pre-dose assessments at the dosing
    visit); ties on the same date keep the last record in dataset order. An empty `by` value
    (e.g. no time point for height) is a group of its own, never dropped (dropna=False).
    """
    d = on_distinct(frame[date], _day_text)
    ref = on_distinct(reference, _day_text)
    given = on_distinct(frame[result], lambda s: s.astype(str).str.strip() != "")
    ok = given & (d.str.len() == 10) & (ref.str.len() == 10) & (d <= ref)
    flag = pd.Series("", index=frame.index, dtype=object)
    if not ok.any():
        return flag
    cand = frame.loc[ok, ["USUBJID", *by]].assign(_d=d[ok], _i=range(int(ok.sum())))
    ordered = cand.sort_values(["_d", "_i"], kind="stable")
    last = ordered.groupby(["USUBJID", *by], sort=False, dropna=False).tail(1).index
    flag.loc[last] = "Y"
    return flag


def last_before_exposure(ctx: MappingContext, params: dict, var) -> pd.Series:
    """--LOBXFL (or --BLFL): last non-missing `result` dated on/before DM.RFXSTDTC per subject and `by`."""
    by = [b for b in params.get("by", []) if b in ctx.out.columns]
    reference = subject_values(ctx, params.get("dataset", "DM"), params.get("reference", "RFXSTDTC"))
    return derive_last_before(ctx.out, params["result"], params["date"], reference, by)
