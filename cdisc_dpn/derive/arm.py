"""Planned and actual arm: ARM from ARMCD, ACTARMCD from treatments received, ARMNRS when null."""
from __future__ import annotations

import pandas as pd

from cdisc_dpn.derive.context import MappingContext, MappingProblem
from cdisc_dpn.terminology import normalise


def arm_name(ctx: MappingContext, params: dict, var) -> pd.Series:
    """ARM / ACTARM: the arm description in study.yaml for the arm code variable."""
    names = {a.armcd: a.arm for a in ctx.specs.study.arms}
    codes = ctx.variable(params.get("variable", "ARMCD"))
    unknown = (codes != "") & ~codes.isin(list(names))
    if unknown.any():
        raise MappingProblem(f"arm code(s) {sorted(set(codes[unknown]))} are not arms in study.yaml")
    return codes.map(lambda c: names.get(c, ""))


def derive_actual_arm(subjects: pd.Series, planned: pd.Series, exposures: pd.DataFrame, treatment_var: str,
                      rules: list[dict]) -> pd.Series:
    """The first arm (in rule order) whose required treatments the subject received; empty if untreated."""
    received: dict[str, set[str]] = {}
    for subject, trt in zip(exposures["USUBJID"], exposures[treatment_var]):
        received.setdefault(subject, set()).add(normalise(trt))
    out = []
    for subject, plan in zip(subjects, planned):
        got = received.get(subject)
        if not got or not plan:
            out.append("")
            continue
        arm = ""
        for rule in rules:
            if {normalise(t) for t in rule.get("requires", [])} <= got:
                arm = rule["armcd"]
                break
        out.append(arm)
    return pd.Series(out, index=subjects.index, dtype=object)


def actual_arm(ctx: MappingContext, params: dict, var) -> pd.Series:
    """ACTARMCD from exposure rows: `arms` [{armcd, requires: [treatments]}] tried in order."""
    exposures = ctx.rows.get(str(params["from"]).upper())
    if exposures is None:
        raise MappingProblem(f"dataset {params['from']!r} is not in the study")
    return derive_actual_arm(ctx.variable("USUBJID"), ctx.variable(params.get("planned", "ARMCD")), exposures,
                             params["treatment"], list(params["arms"]))


def arm_null_reason(ctx: MappingContext, params: dict, var) -> pd.Series:
    """ARMNRS: SCREEN FAILURE / NOT ASSIGNED when no planned arm, ASSIGNED, NOT TREATED when no actual arm.

    `screen_failure`: {variable|column: X, in: [values]} identifying screen failures.
    """
    planned = ctx.variable(params.get("planned", "ARMCD"))
    actual = ctx.variable(params.get("actual", "ACTARMCD"))
    sf = pd.Series(False, index=planned.index)
    if params.get("screen_failure"):
        cond = params["screen_failure"]
        sf = ctx.value(cond).astype(str).str.upper().isin([str(v).upper() for v in cond.get("in", [])])
    reason = pd.Series("", index=planned.index, dtype=object)
    reason = reason.mask((planned == "") & sf, "SCREEN FAILURE")
    reason = reason.mask((planned == "") & ~sf, "NOT ASSIGNED")
    reason = reason.mask((planned != "") & (actual == ""), "ASSIGNED, NOT TREATED")
    return reason
