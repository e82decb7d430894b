"""--DY, --STDY, --ENDY against the subject's reference start date (no day 0)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc_dpn.derive.context import MappingContext
from cdisc_dpn.distinct import map_distinct, on_distinct


def subject_values(ctx: MappingContext, dataset: str, variable: str, key: str = "USUBJID") -> pd.Series:
    """A per-subject value from another dataset, aligned to this dataset's rows."""
    other = ctx.dataset_frame(dataset)
    lookup = dict(zip(other[key], other[variable])) if variable in other.columns else {}
    return map_distinct(ctx.variable(key), lambda s: lookup.get(s, ""))


def _calendar_dates(values: pd.Series) -> pd.Series:
    """Complete ISO dates as datetime64 (partial or empty -> NaT), each distinct text parsed once."""
    return on_distinct(values, _parse_calendar_dates)


def _parse_calendar_dates(values: pd.Series) -> pd.Series:
    text = values.astype(str).str.slice(0, 10)
    return pd.to_datetime(text.where(text.str.len() == 10), format="%Y-%m-%d", errors="coerce")


def derive_study_day(dates: pd.Series, reference: pd.Series) -> pd.Series:
    """Vectorised `dates.study_day`: day 1 is the reference date, no day 0, partial dates give none."""
    delta = (_calendar_dates(dates) - _calendar_dates(reference).values).dt.days.astype(float)
    return pd.Series(np.where(delta >= 0, delta + 1, delta), index=dates.index, dtype=float)


def study_day(ctx: MappingContext, params: dict, var) -> pd.Series:
    """Study day of an ISO date variable against DM.RFSTDTC (or `reference`); partial dates give none."""
    if ctx.dataset.name == params.get("dataset", "DM"):
        reference = ctx.variable(params.get("reference", "RFSTDTC"))
    else:
        reference = subject_values(ctx, params.get("dataset", "DM"), params.get("reference", "RFSTDTC"))
    return derive_study_day(ctx.variable(params["variable"]), reference)
