"""VISITNUM, VISIT and VISITDY from the planned visits (TV) in study.yaml.

Collected labels are matched case- and blank-insensitively against each planned visit's
`labels`. An unscheduled label that carries its number ("Unscheduled 6.1") keeps it, unless the
number is a planned visit's. Other unscheduled visits are numbered after the preceding visit of
the same subject by date (3.01, 3.02...), using a reference visit form (all visits of all
subjects) so that every domain gives the same number to the same unscheduled visit.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from cdisc_dpn.derive.dates import DEFAULT_FORMATS, parse_date
from cdisc_dpn.errors import Severity
from cdisc_dpn.derive.context import MappingContext, MappingProblem
from cdisc_dpn.distinct import first_rows, joint_codes, map_distinct, value_codes
from cdisc_dpn.spec.model import VisitSpec
from cdisc_dpn.terminology import normalise

UNSCHEDULED_STEP = 0.01
_TRAILING_NUMBER = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)$")


def visit_label_index(visits: tuple[VisitSpec, ...]) -> dict[str, float]:
    index: dict[str, float] = {}
    for v in visits:
        for label in (v.visit, *v.labels):
            index[normalise(label)] = v.visitnum
    return index


def label_numbers(labels: pd.Series, planned: set[float]) -> tuple[pd.Series, pd.Series]:
    """(number the label ends with or NaN, mask of labels whose number is a planned VISITNUM).

    "Unscheduled 6.1" -> 6.1. A number equal to a planned visit's ("Unscheduled 2") more likely
    counts unscheduled visits than names one, so it is not used (and the caller reports it).
    """
    distinct = {v: _TRAILING_NUMBER.search(str(v).strip()) for v in labels.unique()}
    numbers = labels.map({v: float(m.group(1)) if m else np.nan for v, m in distinct.items()}).astype(float)
    clash = numbers.isin(planned)
    return numbers.where(~clash, np.nan), clash


def number_unscheduled(subjects: pd.Series, dates: pd.Series, visitnums: pd.Series) -> pd.Series:
    """Number unscheduled rows (NaN visitnum, known date) after the last scheduled visit on or before them.

    Rows are records (subject, ISO date, scheduled VISITNUM or NaN); records of the same subject
    and date form one unscheduled visit. Unscheduled visits before any scheduled visit are
    numbered from 0.
    """
    frame = pd.DataFrame({"s": subjects.astype(str).values, "d": dates.astype(str).str.slice(0, 10).values,
                          "v": visitnums.astype(float).values}, index=subjects.index)
    frame = frame[frame["v"].notna() | (frame["d"] != "")]
    frame = frame.sort_values(["s", "d", "v"], kind="stable", na_position="last")
    scheduled = frame["v"].notna()
    block = scheduled.groupby(frame["s"], sort=False, dropna=False).cumsum()
    last = frame["v"].groupby(frame["s"], sort=False, dropna=False).ffill().fillna(0.0)
    # Several records of one unscheduled visit (same subject and date) share its number.
    new_visit = ~scheduled & ~frame.assign(u=~scheduled).duplicated(["s", "d", "u"])
    k = new_visit.groupby([frame["s"], block], sort=False, dropna=False).cumsum()
    result = frame["v"].where(scheduled, (last + k * UNSCHEDULED_STEP).round(2))
    return result.reindex(subjects.index)


def _unscheduled_mask(normalised: pd.Series, unscheduled_labels: set[str]) -> pd.Series:
    return map_distinct(normalised, lambda v: v in unscheduled_labels or v.startswith("UNSCHED")).astype(bool)


def _reference_unscheduled(ctx: MappingContext, ref: dict, index: dict[str, float], formats,
                           unscheduled_labels: set[str]) -> dict[tuple, float]:
    form = ctx.raw.get(ref["form"])
    if form is None:
        raise MappingProblem(f"reference visit form {ref['form']!r} was not read")
    frame = form.frame
    for key in ("subject", "visit", "date"):
        if ref.get(key) not in frame.columns:
            raise MappingProblem(f"reference visit form {ref['form']!r} has no column {ref.get(key)!r}")
    subjects = frame[ref["subject"]].astype(str).str.strip()
    dates = map_distinct(frame[ref["date"]], lambda d: parse_date(d, formats).iso)
    nums = map_distinct(frame[ref["visit"]], lambda v: index.get(normalise(v), np.nan)).astype(float)
    carried, _clash = label_numbers(frame[ref["visit"]].astype(str), set(index.values()))
    labelled = _unscheduled_mask(map_distinct(frame[ref["visit"]], normalise), unscheduled_labels)
    nums = nums.where(nums.notna() | ~labelled, carried)
    numbered = number_unscheduled(subjects, dates, nums)
    unscheduled = nums.isna() & (dates.str.len() >= 10)
    return {(s, d[:10]): n for s, d, n in zip(subjects[unscheduled], dates[unscheduled], numbered[unscheduled])}


def _looked_up(numbering: dict[tuple, float], subjects: pd.Series, dates: pd.Series) -> pd.Series:
    """numbering[(subject, date[:10])] per row (NaN when absent), looked up once per distinct pair."""
    pairs = joint_codes([value_codes(subjects), value_codes(dates)], len(subjects))
    first = first_rows(pairs)
    found = np.array([numbering.get((s, str(d)[:10]), np.nan)
                      for s, d in zip(subjects.iloc[first], dates.iloc[first])], dtype=float)
    return pd.Series(found[pairs] if len(first) else np.empty(0), dtype=float)


def _own_subject_column(ctx: MappingContext, ref: dict) -> str:
    """The subject column of this dataset's rows: `subject_here`, else its form's `subject_column`.

    The reference form may call its subject column differently (another export, another rename).
    """
    if ref.get("subject_here"):
        return str(ref["subject_here"])
    own = ctx.specs.study.form(ctx.dataset.source.form) if ctx.dataset.source.form else None
    if own is not None and own.subject_column and own.subject_column in ctx.src.columns:
        return own.subject_column
    return str(ref["subject"])


def visitnum(ctx: MappingContext, params: dict, var) -> pd.Series:
    """VISITNUM from the collected visit label; unscheduled visits numbered after the preceding scheduled one.

    `date`: the ISO date variable of the record; `unscheduled`: labels meaning an unscheduled visit;
    `reference_form`: {form, subject, visit, date} listing every visit, for numbering consistent across domains.
    """
    visits = ctx.specs.study.visits
    index = visit_label_index(visits)
    labels = ctx.column(params["column"])
    normalised = labels.map({v: normalise(v) for v in labels.unique()})
    scheduled = map_distinct(normalised, lambda v: index.get(v, np.nan)).astype(float)
    unscheduled_labels = {normalise(u) for u in params.get("unscheduled", ["UNSCHEDULED"])}
    is_unsched = _unscheduled_mask(normalised, unscheduled_labels)
    unknown = scheduled.isna() & ~is_unsched & (labels != "")
    if unknown.any():
        ctx.report("MAP-VISIT", Severity.ERROR, "visit label matches no planned visit in study.yaml", mask=unknown,
                   values=labels, column=params["column"],
                   fix="add the label to the visit's labels: in study.yaml, or correct it in the EDC")
    if not is_unsched.any():
        return scheduled
    carried, clash = label_numbers(labels, set(index.values()))
    carried = carried.where(is_unsched, np.nan)
    if (clash & is_unsched).any():
        ctx.report("MAP-VISIT-UNSCHED-NUMBER", Severity.WARNING,
                   "the unscheduled visit label carries the number of a planned visit; numbered after the "
                   "preceding visit by date instead", mask=clash & is_unsched, values=labels, column=params["column"],
                   fix="check the label in the EDC (unscheduled visits are numbered n.1, n.2 after visit n)")
    scheduled = scheduled.where(scheduled.notna(), carried)
    is_unsched = is_unsched & carried.isna()
    if not is_unsched.any():
        return scheduled
    dates = ctx.variable(params["date"]) if params.get("date") else ctx.blank()
    subjects = ctx.variable("USUBJID") if "USUBJID" in ctx.out.columns else ctx.blank()
    result = scheduled.copy()
    if params.get("reference_form"):
        ref = params["reference_form"]
        formats = tuple(params.get("formats") or ctx.specs.study.date_formats or DEFAULT_FORMATS)
        numbering = _reference_unscheduled(ctx, ref, index, formats, unscheduled_labels)
        raw_subject = ctx.column(_own_subject_column(ctx, ref))
        looked = _looked_up(numbering, raw_subject, dates).set_axis(labels.index)
        result = result.where(~is_unsched, looked)
    missing = is_unsched & result.isna()
    if missing.any():
        own = number_unscheduled(subjects, dates, scheduled.where(~is_unsched, np.nan))
        result = result.where(~missing, own)
        if params.get("reference_form"):
            ctx.report("MAP-VISIT-UNSCHED", Severity.WARNING,
                       "unscheduled visit date not found in the visit form; numbered from this form's own visits",
                       mask=missing & result.notna(), values=dates, fix="check the visit date against the visit form")
    return result


def _planned(ctx: MappingContext) -> dict[float, VisitSpec]:
    return {v.visitnum: v for v in ctx.specs.study.visits}


def _number_text(n: float) -> str:
    """6.1 -> "6.1", 2.01 -> "2.01" (the number as the label wrote it, no padding zeros)."""
    return f"{n:.4f}".rstrip("0").rstrip(".")


def visit(ctx: MappingContext, params: dict, var) -> pd.Series:
    """VISIT name from VISITNUM: the planned visit name, or "UNSCHEDULED <n>" for unscheduled numbers."""
    planned = _planned(ctx)
    prefix = params.get("unscheduled_label", "UNSCHEDULED")
    nums = pd.to_numeric(ctx.variable(params.get("variable", "VISITNUM")), errors="coerce")
    names = {n: planned[n].visit if n in planned else f"{prefix} {_number_text(n)}" for n in nums.dropna().unique()}
    return map_distinct(nums, lambda n: names.get(n, "") if not np.isnan(n) else "")


def visitdy(ctx: MappingContext, params: dict, var) -> pd.Series:
    """VISITDY, the planned study day of a scheduled visit (empty for unscheduled)."""
    planned = _planned(ctx)
    nums = pd.to_numeric(ctx.variable(params.get("variable", "VISITNUM")), errors="coerce")
    return map_distinct(nums, lambda n: float(planned[n].visitdy) if n in planned and planned[n].visitdy is not None
                    else np.nan).astype(float)
