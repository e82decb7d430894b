"""Checks on visits and findings results: planned visits, STRESN/STRESC, plausible ranges, baseline flags."""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from cdisc_dpn.standards.kinds import number_texts
from cdisc_dpn.validation.plausibility import find_out_of_range

from .base import CheckContext, Violation, check
from .columns import date_pairs, pairs_in, records, text


@check("visit_matches_tv")
def visit_matches_tv(ctx: CheckContext) -> list[Violation]:
    tv = ctx.frames.get("TV")
    if tv is None or not {"VISITNUM", "VISIT"} <= set(tv.columns):
        return []
    planned = pd.Series(text(tv["VISIT"]).to_numpy(), index=number_texts(tv["VISITNUM"]).to_numpy())
    first_name = planned[~planned.index.duplicated()]
    out = []
    for name in sorted(ctx.frames):
        frame = ctx.frames[name]
        if name == "TV" or not {"VISITNUM", "VISIT"} <= set(frame.columns):
            continue
        num = pd.to_numeric(frame["VISITNUM"], errors="coerce")
        scheduled = num.notna() & (num == num.round())
        num_text, visit = number_texts(num), text(frame["VISIT"])
        mask = scheduled.to_numpy() & ~pairs_in(num_text.to_numpy(), visit.to_numpy(),
                                                 planned.index.to_numpy(), planned.to_numpy())
        if mask.any():
            expected = num_text.map(first_name)
            detail = pd.Series(np.where(expected.notna(), " (TV calls it " + expected.fillna("").astype(str) + ")",
                                        " (no such VISITNUM in TV)"), index=frame.index)
            out.append(Violation(name, "VISIT", records(frame, mask, visit, visitnum=num_text, detail=detail)))
    return out


@check("stresn_matches_stresc")
def stresn_matches_stresc(ctx: CheckContext) -> list[Violation]:
    out = []
    for name in sorted(ctx.frames):
        frame = ctx.frames[name]
        for stresn, stresc in date_pairs(frame, "STRESN", "STRESC"):
            n = pd.to_numeric(frame[stresn], errors="coerce")
            c_text = text(frame[stresc])
            c = pd.to_numeric(c_text, errors="coerce")
            tolerance = 1e-9 * np.maximum(1.0, c.abs().fillna(0))
            differs = c.notna() & (n.isna() | ((n - c).abs() > tolerance))
            orphan = n.notna() & (c_text == "")
            mask = differs | orphan
            if mask.any():
                out.append(Violation(name, stresn, records(frame, mask, number_texts(n), stresc_variable=stresc,
                                                           stresc=c_text)))
    return out


@check("result_in_plausible_range")
def result_in_plausible_range(ctx: CheckContext) -> list[Violation]:
    """Numeric results outside the study's plausible range for the test and unit; the range's spec line rides along."""
    out = []
    for name, frame in ctx.subject_frames():
        for hit in find_out_of_range(frame, ctx.prefix(name), ctx.plausible_ranges):
            r = hit.range
            mask = np.zeros(len(frame), dtype=bool)
            mask[hit.rows] = True
            shown = np.full(len(frame), "", dtype=object)
            shown[hit.rows] = [number_texts(pd.Series([v])).iat[0] for v in hit.values]
            bounds = f"{'' if r.low is None else f'{r.low:g}'}-{'' if r.high is None else f'{r.high:g}'}"
            out.append(Violation(name, hit.variable, records(
                frame, mask, shown, testcd=r.testcd, unit=r.unit, range=bounds,
                spec_file=r.where.file, spec_line=r.where.line if r.where.line else "")))
    return out


@check("single_baseline_flag")
def single_baseline_flag(ctx: CheckContext, *, flag: str = "LOBXFL", by: Iterable[str] = ("TESTCD",)
                         ) -> list[Violation]:
    out = []
    for name, frame in ctx.subject_frames():
        prefix = ctx.prefix(name)
        flag_col = f"{prefix}{flag}"
        if flag_col not in frame.columns:
            continue
        group_cols = ["USUBJID"] + [f"{prefix}{s}" for s in by if f"{prefix}{s}" in frame.columns]
        flagged = text(frame[flag_col]) == "Y"
        keys = pd.DataFrame({c: text(frame[c]) for c in group_cols})
        sub = keys[flagged]
        dup = sub.duplicated(keep=False)
        if not dup.any():
            continue
        mask = np.zeros(len(frame), dtype=bool)
        mask[np.flatnonzero(flagged.to_numpy())[dup.to_numpy()]] = True
        group_text = pd.Series("", index=frame.index)
        for c in group_cols[1:]:
            group_text = group_text + np.where(group_text == "", "", ", ") + c + "=" + keys[c]
        count = pd.Series(0, index=frame.index)
        count[flagged] = sub.assign(_n=1).groupby(group_cols, dropna=False)["_n"].transform("size")
        out.append(Violation(name, flag_col, records(frame, mask, "Y", count=count, group=group_text)))
    return out


