"""Subject identifiers and sequence numbers."""
from __future__ import annotations

import pandas as pd

from cdisc_dpn.derive.context import MappingContext
from cdisc_dpn.distinct import on_distinct


def derive_usubjid(studyid: str, subject: pd.Series, separator: str = "-") -> pd.Series:
    """STUDYID + separator + site-subject number; empty subject stays empty (never 'RELEASE-')."""
    return on_distinct(subject, lambda values: values.astype(str).str.strip().map(
        lambda s: f"{studyid}{separator}{s}" if s else ""))


def usubjid(ctx: MappingContext, params: dict, var) -> pd.Series:
    """USUBJID = STUDYID-<subject number> (the subject number column of the form)."""
    return derive_usubjid(ctx.specs.study.studyid, ctx.value(params), str(params.get("separator", "-")))


def derive_seq(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    """1, 2, 3... within each group in the frame's current (sorted) order; a null key is a group too."""
    if frame.empty:
        return pd.Series(dtype=float)
    return frame.groupby(by, sort=False, dropna=False).cumcount().astype(float) + 1


def seq(ctx: MappingContext, params: dict, var) -> pd.Series:
    """--SEQ numbered per subject (or `by` variables) in the dataset's sort order."""
    by = params.get("by") or ["USUBJID"]
    if not all(b in ctx.out.columns for b in by):
        return derive_seq(ctx.out.assign(_all=1), ["_all"])
    return derive_seq(ctx.out, list(by))
