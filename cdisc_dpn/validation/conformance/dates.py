"""Checks on dates: study days, start/end order, reference periods, epochs."""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from cdisc_dpn.distinct import first_rows, joint_codes, value_codes
from cdisc_dpn.standards.kinds import number_texts

from .base import CheckContext, Violation, check
from .columns import (
    comparable, date_pairs, full_date, iso_after, record_date_column, records, subject_values, text,
)


@check("study_day_consistent")
def study_day_consistent(ctx: CheckContext) -> list[Violation]:
    rfst_by_subject = ctx.dm_column("RFSTDTC")
    if rfst_by_subject is None:
        return []
    out = []
    for name, frame in ctx.subject_frames():
        rfst_text = subject_values(frame, rfst_by_subject)
        rfst = full_date(rfst_text)
        for dy_col, dtc_col in date_pairs(frame, "DY", "DTC"):
            if dy_col in ("VISITDY",):
                continue
            dy = pd.to_numeric(frame[dy_col], errors="coerce")
            date = full_date(frame[dtc_col])
            delta = (date - rfst).dt.days
            expected = delta + (delta >= 0).astype(int)
            mask = (dy.notna() & expected.notna() & (dy != expected)) | (dy == 0)
            if mask.any():
                out.append(Violation(name, dy_col, records(
                    frame, mask, number_texts(dy), date_variable=dtc_col, date=text(frame[dtc_col]),
                    rfstdtc=rfst_text, expected=number_texts(expected))))
    return out


@check("start_not_after_end")
def start_not_after_end(ctx: CheckContext) -> list[Violation]:
    out = []
    for name in sorted(ctx.frames):
        frame = ctx.frames[name]
        for st, en in date_pairs(frame, "STDTC", "ENDTC"):
            mask = iso_after(frame[st], frame[en])
            if mask.any():
                out.append(Violation(name, st, records(frame, mask, text(frame[st]), end_variable=en,
                                                       end=text(frame[en]))))
    return out


@check("start_not_before_reference")
def start_not_before_reference(ctx: CheckContext, *, datasets: Iterable[str], reference: str = "RFICDTC"
                               ) -> list[Violation]:
    ref_by_subject = ctx.dm_column(reference)
    if ref_by_subject is None:
        return []
    out = []
    for name in datasets:
        frame = ctx.frames.get(name)
        if frame is None or "USUBJID" not in frame.columns:
            continue
        start = f"{ctx.prefix(name)}STDTC"
        if start not in frame.columns:
            continue
        ref = subject_values(frame, ref_by_subject)
        mask = iso_after(ref, frame[start])
        if mask.any():
            out.append(Violation(name, start, records(frame, mask, text(frame[start]), reference=ref)))
    return out


@check("exposure_within_reference")
def exposure_within_reference(ctx: CheckContext, *, exposure: str = "EX") -> list[Violation]:
    ex = ctx.frames.get(exposure)
    first, last = ctx.dm_column("RFXSTDTC"), ctx.dm_column("RFXENDTC")
    if ex is None or first is None or last is None or "USUBJID" not in ex.columns:
        return []
    prefix = ctx.prefix(exposure)
    st, en = f"{prefix}STDTC", f"{prefix}ENDTC"
    rfx_st, rfx_en = subject_values(ex, first), subject_values(ex, last)
    span = rfx_st + ".." + rfx_en
    out = []
    if st in ex.columns:
        mask = iso_after(rfx_st, ex[st]) | iso_after(ex[st], rfx_en)
        if mask.any():
            out.append(Violation(exposure, st, records(ex, mask, text(ex[st]), reference=span)))
    if en in ex.columns:
        mask = iso_after(ex[en], rfx_en) | iso_after(rfx_st, ex[en])
        if mask.any():
            out.append(Violation(exposure, en, records(ex, mask, text(ex[en]), reference=span)))
    return out


@check("epoch_matches_se")
def epoch_matches_se(ctx: CheckContext) -> list[Violation]:
    se = ctx.frames.get("SE")
    if se is None or not {"USUBJID", "EPOCH", "SESTDTC"} <= set(se.columns):
        return []
    elements = pd.DataFrame({"USUBJID": text(se["USUBJID"]), "EPOCH": text(se["EPOCH"]),
                             "_st": text(se["SESTDTC"]),
                             "_en": text(se["SEENDTC"]) if "SEENDTC" in se.columns else ""})
    out = []
    for name, frame in ctx.subject_frames():
        if name in ("SE", "DM") or "EPOCH" not in frame.columns:
            continue
        date_col = record_date_column(frame, ctx.prefix(name))
        if date_col is None:
            continue
        recs = pd.DataFrame({"_row": np.arange(len(frame)), "USUBJID": text(frame["USUBJID"]),
                             "EPOCH": text(frame["EPOCH"]), "_d": comparable(frame[date_col])})
        # Empty subject or epoch: nothing to match (a merge would pair "" with "").
        recs = recs[(recs["USUBJID"] != "") & (recs["EPOCH"] != "") & (recs["_d"].str.len() >= 10)]
        if recs.empty:
            continue
        # Records repeat (subject, epoch, date) a lot (one per test on a visit): each one is matched once.
        combo = joint_codes([value_codes(recs[c]) for c in ("USUBJID", "EPOCH", "_d")], len(recs))
        first = first_rows(combo)
        distinct = recs.iloc[first].assign(_row=np.arange(len(first)))
        pairs = distinct.merge(elements, on=["USUBJID", "EPOCH"], how="left")
        has_element = pairs["_st"].notna()
        st, en = pairs["_st"].fillna(""), pairs["_en"].fillna("")
        inside = has_element & ~iso_after(st, pairs["_d"]) & ~iso_after(pairs["_d"], en)
        ok = inside.groupby(pairs["_row"], dropna=False).any().to_numpy()[combo]
        matched = has_element.groupby(pairs["_row"], dropna=False).any().to_numpy()[combo]
        rows = recs["_row"].to_numpy()
        bad_rows = rows[~ok]
        if len(bad_rows) == 0:
            continue
        mask = np.zeros(len(frame), dtype=bool)
        mask[bad_rows] = True
        detail = pd.Series("", index=frame.index)
        no_element = rows[~matched]
        detail.iloc[no_element] = " (the subject has no SE element with this EPOCH)"
        out.append(Violation(name, "EPOCH", records(frame, mask, text(frame["EPOCH"]), date_variable=date_col,
                                                    date=text(frame[date_col]), detail=detail)))
    return out


