"""Derived records computed from two other tests of the same dataset: numerator / (scale x denominator)^power.

Body mass index is the usual case (weight / (height in m)^2); the test codes, scale and power
come from the spec, so the same algorithm serves any ratio of two collected tests.
"""
from __future__ import annotations

from dataclasses import replace

import math

import pandas as pd

from cdisc_dpn.derive.records import _new_rows, ctx_finding
from cdisc_dpn.derive.units import format_number
from cdisc_dpn.errors import Severity
from cdisc_dpn.derive.context import MappingContext, MappingProblem


def ratio_value(numerator: float, denominator: float, scale: float = 1.0, power: float = 1.0) -> float:
    """numerator / (scale x denominator)^power; NaN when an input is missing or the denominator is not positive."""
    if numerator is None or denominator is None or pd.isna(numerator) or pd.isna(denominator):
        return float("nan")
    base = float(denominator) * scale
    if base <= 0:
        return float("nan")
    return float(numerator) / base ** power


def match_denominators(num: pd.DataFrame, den: pd.DataFrame, group_by: list[str], subject: str,
                       date: str | None, carry_forward: bool) -> pd.Series:
    """Per numerator row, the denominator value of its group; else (carry_forward) the subject's latest
    denominator dated on or before the numerator's date (complete dates compared as YYYY-MM-DD)."""
    same = {}
    for key, value in zip(map(tuple, den[group_by].astype(str).values), den["_v"]):
        same.setdefault(key, value)
    result = []
    by_subject: dict[str, list[tuple[str, float]]] = {}
    if carry_forward and date:
        for s, d, v in zip(den[subject].astype(str), den[date].astype(str).str.slice(0, 10), den["_v"]):
            if len(d) == 10:
                by_subject.setdefault(s, []).append((d, v))
        for lst in by_subject.values():
            lst.sort(key=lambda t: t[0])
    for key, s, d in zip(map(tuple, num[group_by].astype(str).values), num[subject].astype(str),
                         num[date].astype(str).str.slice(0, 10) if date else [""] * len(num)):
        if key in same:
            result.append(same[key])
            continue
        value = math.nan
        if carry_forward and len(d) == 10:
            earlier = [v for dd, v in by_subject.get(s, []) if dd <= d]
            if earlier:
                value = earlier[-1]
        result.append(value)
    return pd.Series(result, index=num.index, dtype=float)


def ratio_records(ctx: MappingContext, params: dict) -> pd.DataFrame:
    """Records numerator / (scale x denominator)^power from two tests, e.g. BMI from weight and height.

    `testcd`: the test code variable; `value`: the numeric standard result variable; `numerator` /
    `denominator`: test codes; `scale` (default 1) converts the denominator (0.01: cm -> m); `power`
    (default 1); `digits` (default 1). One record per numerator record: the denominator of the same
    `group_by` group, else with `carry_forward: true` the subject's latest one dated on or before it
    (`date` variable). Numerator records without a denominator are reported, not derived.
    """
    out = ctx.out
    testcd, value_var = params["testcd"], params["value"]
    for v in (testcd, value_var):
        if v not in out.columns:
            raise MappingProblem(f"variable {v!r} is not in the dataset")
    group_by = list(params["group_by"])
    subject = str(params.get("subject", "USUBJID"))
    date = params.get("date")
    values = pd.to_numeric(out[value_var], errors="coerce")
    codes = out[testcd].astype(str)
    num = out[(codes == str(params["numerator"])) & values.notna()].assign(_v=values)
    den = out[(codes == str(params["denominator"])) & values.notna()].assign(_v=values)
    if num.empty:
        return pd.DataFrame()
    denominators = match_denominators(num, den, group_by, subject, date, bool(params.get("carry_forward", False)))
    scale, power = float(params.get("scale", 1.0)), float(params.get("power", 1.0))
    digits = int(params.get("digits", 1))
    ratios = pd.Series([ratio_value(n, d, scale, power) for n, d in zip(num["_v"], denominators)],
                       index=num.index, dtype=float)
    missing = ratios.isna()
    if missing.any():
        derived = params["set"].get(testcd, "ratio")
        for idx in num.index[missing]:
            when = f" dated {num.at[idx, date]}" if date and date in num.columns and num.at[idx, date] else ""
            finding = ctx_finding(
                ctx, "DRV-RATIO-INPUT", Severity.WARNING,
                f"{params['numerator']} record{when} has no usable {params['denominator']}; no {derived} derived "
                f"for it", usubjid=str(num.at[idx, subject]) if subject in num.columns else None,
                fix=f"query the site for the {params['denominator']} result, or accept that no {derived} is derived")
            ctx.findings.append(replace(finding, value=format_number(num.at[idx, "_v"]), variable=value_var))
    keep = ~missing
    return _new_rows(num.loc[keep], list(params.get("copy", [])), params["set"], params["results"],
                     ratios[keep].round(digits))
