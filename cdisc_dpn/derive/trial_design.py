"""Trial design datasets generated from study.yaml (TA, TE, TV, TI, TS) and subject elements (SE).

Generators return a frame whose columns the dataset's variables take with `assign: {column: ...}`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc_dpn.derive.context import MappingContext, MappingProblem


def trial_arms(ctx: MappingContext, params: dict) -> pd.DataFrame:
    """TA: one row per planned element per arm, in arm order, with the element's epoch."""
    elements = {e.etcd: e for e in ctx.specs.study.elements}
    rows = []
    for arm in ctx.specs.study.arms:
        for order, etcd in enumerate(arm.elements, start=1):
            el = elements.get(etcd)
            if el is None:
                raise MappingProblem(f"arm {arm.armcd} names element {etcd!r}, which is not under elements:")
            rows.append({"ARMCD": arm.armcd, "ARM": arm.arm, "TAETORD": float(order), "ETCD": etcd,
                         "ELEMENT": el.element, "TABRANCH": arm.branch or "", "TATRANS": "", "EPOCH": el.epoch})
    return pd.DataFrame(rows)


def trial_elements(ctx: MappingContext, params: dict) -> pd.DataFrame:
    """TE: one row per element with its start and end rules and planned duration."""
    return pd.DataFrame([{"ETCD": e.etcd, "ELEMENT": e.element, "TESTRL": e.testrl, "TENRL": e.tenrl or "",
                          "TEDUR": e.tedur or ""} for e in ctx.specs.study.elements])


def trial_visits(ctx: MappingContext, params: dict) -> pd.DataFrame:
    """TV: one row per planned visit (per arm when a visit is arm-specific)."""
    rows = []
    for v in ctx.specs.study.visits:
        for armcd in (v.arms or ("",)):
            rows.append({"VISITNUM": float(v.visitnum), "VISIT": v.visit,
                         "VISITDY": np.nan if v.visitdy is None else float(v.visitdy), "ARMCD": armcd,
                         "ARM": next((a.arm for a in ctx.specs.study.arms if a.armcd == armcd), ""),
                         "TVSTRL": v.start_rule or "", "TVENRL": v.end_rule or ""})
    return pd.DataFrame(rows)


def trial_criteria(ctx: MappingContext, params: dict) -> pd.DataFrame:
    """TI: every inclusion and exclusion criterion of the protocol."""
    return pd.DataFrame([{"IETESTCD": c.ietestcd, "IETEST": c.ietest, "IECAT": c.iecat, "IESCAT": c.iescat or "",
                          "TIRL": c.tirl or "", "TIVERS": str(params.get("version", ""))}
                         for c in ctx.specs.study.criteria])


def trial_summary(ctx: MappingContext, params: dict) -> pd.DataFrame:
    """TS: the trial summary parameters of study.yaml; ACTSUB counted from DM when asked.

    `actual_subjects`: {dataset: DM, variable: ARMCD} counts subjects with that variable non-empty.
    """
    rows = []
    counts: dict[str, int] = {}
    params_list = list(ctx.specs.study.trial_summary)
    if params.get("actual_subjects"):
        a = params["actual_subjects"]
        dm = ctx.dataset_frame(str(a.get("dataset", "DM")).upper())
        n = int((dm[a.get("variable", "ARMCD")].astype(str) != "").sum())
        from cdisc_dpn.spec.model import TrialSummaryParam

        params_list = [p for p in params_list if p.parmcd != "ACTSUB"] + [
            TrialSummaryParam("ACTSUB", "Actual Number of Subjects", str(n))]
    for p in params_list:
        counts[p.parmcd] = counts.get(p.parmcd, 0) + 1
        rows.append({"TSSEQ": float(counts[p.parmcd]), "TSGRPID": p.grpid or "", "TSPARMCD": p.parmcd,
                     "TSPARM": p.parm or "", "TSVAL": p.value, "TSVALNF": "", "TSVALCD": p.valcd or "",
                     "TSVCDREF": p.vcdref or "", "TSVCDVER": p.vcdver or ""})
    return pd.DataFrame(rows)


def _shift(iso: str, days: int) -> str:
    """A complete ISO date moved by `days` (date part only); partial dates give ""."""
    from datetime import date, timedelta

    try:
        return (date.fromisoformat(iso[:10]) + timedelta(days=days)).isoformat()
    except ValueError:
        return ""


def _element_starts(ctx: MappingContext, params: dict, dm: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Per element code, per subject: the element's start date from its rule."""
    starts: dict[str, dict[str, str]] = {}
    visit_rows = None
    for etcd, rule in (params.get("starts") or {}).items():
        if "variable" in rule:
            starts[etcd] = dict(zip(dm["USUBJID"], dm[rule["variable"]].astype(str)))
        elif "visitnum" in rule:
            if visit_rows is None:
                visit_rows = ctx.rows.get(str(params.get("visits_from", "SV")).upper())
                if visit_rows is None:
                    raise MappingProblem("subject_elements: visits_from names no dataset")
            date_var = params.get("visit_date", "SVSTDTC")
            sel = visit_rows[pd.to_numeric(visit_rows["VISITNUM"], errors="coerce") == float(rule["visitnum"])]
            dates = sel[date_var].astype(str)
            if rule.get("offset_days"):
                dates = dates.map(lambda d: _shift(d, int(rule["offset_days"])))
            starts[etcd] = dict(zip(sel["USUBJID"], dates))
        else:
            raise MappingProblem(f"subject_elements: start rule for {etcd} needs variable: or visitnum:")
    return starts


def subject_elements(ctx: MappingContext, params: dict) -> pd.DataFrame:
    """SE: each subject's elements in arm order; an element ends where the next starts, the last at `end`.

    `starts`: {ETCD: {variable: DM var} | {visitnum: n, offset_days: k}}; `end`: DM variable ending the last element;
    `arm`: DM variable choosing the arm (default ACTARMCD, then ARMCD; screen failures get the
    first element only). Elements without a start date are left out (e.g. follow-up never reached).
    """
    dm = ctx.dataset_frame(str(params.get("dataset", "DM")).upper())
    arms = {a.armcd: a for a in ctx.specs.study.arms}
    elements = {e.etcd: e for e in ctx.specs.study.elements}
    starts = _element_starts(ctx, params, dm)
    first_etcd = next(iter(ctx.specs.study.arms)).elements[0] if ctx.specs.study.arms else None
    arm_var = params.get("arm", "ACTARMCD")
    rows = []
    for _, subj in dm.iterrows():
        usubjid = subj["USUBJID"]
        armcd = subj.get(arm_var, "") or ""
        path = list(arms[armcd].elements) if armcd in arms else ([first_etcd] if first_etcd else [])
        dated = [(etcd, starts.get(etcd, {}).get(usubjid, "")) for etcd in path]
        dated = [(etcd, s) for etcd, s in dated if s and s != "nan"]
        end = str(subj.get(params["end"], "") or "")
        if len(end) >= 10:   # an element that would start after the subject's end was never reached
            dated = [(etcd, s) for etcd, s in dated if s[:10] <= end[:10]]
        for i, (etcd, start) in enumerate(dated):
            stop = dated[i + 1][1] if i + 1 < len(dated) else end
            el = elements[etcd]
            order = path.index(etcd) + 1
            rows.append({"USUBJID": usubjid, "ETCD": etcd, "ELEMENT": el.element, "TAETORD": float(order),
                         "EPOCH": el.epoch, "SESTDTC": start, "SEENDTC": stop, "SEUPDES": ""})
    return pd.DataFrame(rows, columns=["USUBJID", "ETCD", "ELEMENT", "TAETORD", "EPOCH", "SESTDTC", "SEENDTC",
                                       "SEUPDES"])
