"""EPOCH of a record from the subject's elements (SE): the element whose dates contain the record date."""
from __future__ import annotations

import bisect

import pandas as pd

from cdisc_dpn.mapping.context import MappingContext
from cdisc_dpn.mapping.registry import DATASET, register


def derive_epoch(subjects: pd.Series, dates: pd.Series, se: pd.DataFrame) -> pd.Series:
    """Start <= date < end of the next element; the last element includes its end date."""
    table: dict[str, tuple[list[str], list[str], str]] = {}
    if not se.empty:
        ordered = se.sort_values(["USUBJID", "SESTDTC", "TAETORD"] if "TAETORD" in se.columns
                                 else ["USUBJID", "SESTDTC"], kind="stable")
        for subject, group in ordered.groupby("USUBJID", sort=False):
            starts = [str(x)[:10] for x in group["SESTDTC"]]
            table[subject] = (starts, list(group["EPOCH"]), str(group["SEENDTC"].iloc[-1])[:10])
    out = []
    for subject, date in zip(subjects, dates):
        date = str(date)[:10]
        entry = table.get(subject)
        if len(date) < 10 or entry is None:
            out.append("")
            continue
        starts, epochs, last_end = entry
        i = bisect.bisect_right(starts, date) - 1
        if i < 0 or (i == len(starts) - 1 and last_end and len(last_end) == 10 and date > last_end):
            out.append("")
        else:
            out.append(epochs[i])
    return pd.Series(out, index=subjects.index, dtype=object)


@register("epoch", required=("variable",), phase=DATASET, reads="SE")
def epoch(ctx: MappingContext, params: dict, var) -> pd.Series:
    """EPOCH for the date in `variable`, from SE (partial or missing dates give no epoch)."""
    se = ctx.dataset_frame(params.get("dataset", "SE"))
    return derive_epoch(ctx.variable("USUBJID"), ctx.variable(params["variable"]), se)
