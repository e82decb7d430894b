"""Checks on datasets and subjects: presence, one record per subject, DM membership, arms and exposure."""
from __future__ import annotations

from typing import Iterable

import pandas as pd

from .base import CheckContext, Violation, check
from .columns import dataset_record, records, subject_values, text


@check("dataset_present")
def dataset_present(ctx: CheckContext, *, dataset: str) -> list[Violation]:
    if dataset in ctx.frames:
        return []
    return [Violation(dataset, None, dataset_record(value=dataset))]


@check("one_record_per_subject")
def one_record_per_subject(ctx: CheckContext, *, dataset: str = "DM") -> list[Violation]:
    frame = ctx.frames.get(dataset)
    if frame is None or "USUBJID" not in frame.columns:
        return []
    subjects = text(frame["USUBJID"])
    counts = subjects.map(subjects.value_counts())
    mask = counts > 1
    return [Violation(dataset, "USUBJID", records(frame, mask, subjects, count=counts))] if mask.any() else []


@check("subject_in_dm")
def subject_in_dm(ctx: CheckContext) -> list[Violation]:
    dm = ctx.frames.get("DM")
    if dm is None or "USUBJID" not in dm.columns:
        return []
    known = set(text(dm["USUBJID"]))
    out = []
    for name, frame in ctx.subject_frames():
        if name == "DM":
            continue
        subjects = text(frame["USUBJID"])
        mask = (subjects != "") & ~subjects.isin(known)
        if mask.any():
            out.append(Violation(name, "USUBJID", records(frame, mask, subjects)))
    return out


@check("treated_subjects_have_arm")
def treated_subjects_have_arm(ctx: CheckContext, *, exposure: str = "EX", untreated: Iterable[str] = (),
                              unplanned: Iterable[str] = ()) -> list[Violation]:
    """Subjects with exposure records: DM.ACTARMCD is a treated arm and DM.ARMNRS is empty, unless
    ARMNRS says the treatment was unplanned (then ACTARMCD is empty by SDTMIG) (on DM rows)."""
    dm, ex = ctx.frames.get("DM"), ctx.frames.get(exposure)
    if dm is None or ex is None or "USUBJID" not in dm.columns or "USUBJID" not in ex.columns:
        return []
    exposed = text(dm["USUBJID"]).isin(set(text(ex["USUBJID"])))
    reason = text(dm["ARMNRS"]) if "ARMNRS" in dm.columns else pd.Series("", index=dm.index)
    is_unplanned = reason.isin(set(unplanned))
    out = []
    if "ACTARMCD" in dm.columns:
        arm = text(dm["ACTARMCD"])
        mask = exposed & ~is_unplanned & ((arm == "") | arm.isin(set(untreated)))
        if mask.any():
            out.append(Violation("DM", "ACTARMCD", records(dm, mask, arm, exposure=exposure)))
    mask = exposed & (reason != "") & ~is_unplanned
    if mask.any():
        out.append(Violation("DM", "ARMNRS", records(dm, mask, reason, exposure=exposure)))
    return out


@check("treated_arm_has_exposure")
def treated_arm_has_exposure(ctx: CheckContext, *, exposure: str = "EX",
                             untreated: Iterable[str] = ()) -> list[Violation]:
    dm, ex = ctx.frames.get("DM"), ctx.frames.get(exposure)
    if dm is None or ex is None or "ACTARMCD" not in dm.columns or "USUBJID" not in ex.columns:
        return []
    arm = text(dm["ACTARMCD"])
    mask = (arm != "") & ~arm.isin(set(untreated)) & ~text(dm["USUBJID"]).isin(set(text(ex["USUBJID"])))
    return [Violation("DM", "ACTARMCD", records(dm, mask, arm, exposure=exposure))] if mask.any() else []


@check("exposure_only_for_treated")
def exposure_only_for_treated(ctx: CheckContext, *, exposure: str = "EX", untreated: Iterable[str] = (),
                              unplanned: Iterable[str] = ()) -> list[Violation]:
    """Exposure records of subjects whose DM.ACTARMCD is empty or a not-treated code (on EX rows)."""
    ex, arm_by_subject = ctx.frames.get(exposure), ctx.dm_column("ACTARMCD")
    if ex is None or arm_by_subject is None or "USUBJID" not in ex.columns:
        return []
    arm = subject_values(ex, arm_by_subject)
    reason_by_subject = ctx.dm_column("ARMNRS")
    is_unplanned = subject_values(ex, reason_by_subject).isin(set(unplanned)) if reason_by_subject is not None \
        else pd.Series(False, index=ex.index)
    known = text(ex["USUBJID"]).isin(set(arm_by_subject.index))
    mask = known & ~is_unplanned & ((arm == "") | arm.isin(set(untreated)))
    return [Violation(exposure, "USUBJID", records(ex, mask, arm))] if mask.any() else []


