"""Flags from comparing a record's date with a per-subject reference date (e.g. treatment emergence)."""
from __future__ import annotations

import pandas as pd

from cdisc_dpn.derive.reference_dates import pick_subject_dates
from cdisc_dpn.derive.context import MappingContext, MappingProblem

ON_OR_AFTER, BEFORE, UNKNOWN, NO_REFERENCE = "on_or_after", "before", "unknown", "no_reference"


def compare_to_reference(date: str, reference: str) -> str:
    """on_or_after / before / unknown (missing or partial date that cannot be placed) / no_reference.

    Dates are ISO 8601 text, compared on the precision both share: "2013-05" against
    "2013-05-20" cannot be placed (unknown), "2013-04" against "2013-05-20" is before.
    """
    date, reference = str(date or "").strip(), str(reference or "").strip()
    if len(reference) < 4:
        return NO_REFERENCE
    if len(date) < 4:
        return UNKNOWN
    d, r = date[:10], reference[:10]
    n = min(len(d), len(r))
    if d[:n] > r[:n]:
        return ON_OR_AFTER
    if d[:n] < r[:n]:
        return BEFORE
    return ON_OR_AFTER if len(d) >= len(r) else UNKNOWN


def date_on_or_after(ctx: MappingContext, params: dict, var) -> pd.Series:
    """A flag from the record date against the subject's earliest reference date, e.g. treatment-emergent.

    `reference`: [{from: EX, variable: EXSTDTC, where: {...}} | {variable: X}], the subject's earliest
    date over these (as `first_date`; `from:` reads another dataset's mapped rows, so that dataset
    must come earlier in study.yaml `datasets:`). `values` maps the outcomes on_or_after (default "Y"),
    before ("N"), unknown (missing or too partial date; default "") and no_reference (""). Partial
    dates are compared on the precision they have.
    """
    reference = params["reference"]
    sources = reference if isinstance(reference, list) else [reference]
    if not sources:
        raise MappingProblem("date_on_or_after: reference needs at least one source")
    outcome_values = {ON_OR_AFTER: "Y", BEFORE: "N", UNKNOWN: "", NO_REFERENCE: ""}
    for key, value in (params.get("values") or {}).items():
        if key not in outcome_values:
            raise MappingProblem(f"date_on_or_after: values: key {key!r} is not one of {sorted(outcome_values)}")
        outcome_values[key] = "" if value is None else str(value)
    ref = pick_subject_dates(ctx, list(sources), "min")
    dates = ctx.variable(params["variable"])
    return pd.Series([outcome_values[compare_to_reference(d, r)] for d, r in zip(dates, ref)],
                     index=dates.index, dtype=object)
