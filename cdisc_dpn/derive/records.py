"""Derived records added to a findings dataset: item totals, bands, calculated tests, missed visits.

Each returns new rows (SDTM variables only); the engine appends them before sorting and --SEQ.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from cdisc_dpn.derive.units import format_number
from cdisc_dpn.errors import Severity
from cdisc_dpn.derive.context import MappingContext, MappingProblem


def _select(frame: pd.DataFrame, where: dict | None) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for variable, allowed in (where or {}).items():
        allowed = [allowed] if isinstance(allowed, (str, int, float)) else list(allowed)
        mask &= frame[variable].astype(str).isin([str(a) for a in allowed])
    return mask


def _new_rows(groups: pd.DataFrame, copy: list[str], set_values: dict, result_vars: dict, values: pd.Series) -> pd.DataFrame:
    rows = groups[copy].copy() if copy else pd.DataFrame(index=groups.index)
    for k, v in (set_values or {}).items():
        rows[k] = v
    for target, kind in result_vars.items():
        rows[target] = values.values if kind == "num" else [format_number(x, 4) for x in values]
    return rows.reset_index(drop=True)


def sum_items(ctx: MappingContext, params: dict) -> pd.DataFrame:
    """A total record per group = sum of the item scores, when every item is present.

    `items`: {variable: [codes]} selecting the item records; `value`: numeric score variable;
    `results`: {VAR: num|char} receiving the total; `set`: constants (e.g. TESTCD, DRVFL "Y");
    `compare_column`: a raw column holding a collected total, reported when it disagrees.
    """
    out, src = ctx.out, ctx.src
    (item_var, codes), = params["items"].items()
    codes = [str(c) for c in codes]
    group_by = list(params["group_by"])
    mask = out[item_var].astype(str).isin(codes)
    items = out.loc[mask]
    scores = pd.to_numeric(items[params["value"]], errors="coerce")
    frame = items[group_by].assign(_score=scores.values, _code=items[item_var].values)
    grouped = frame.groupby(group_by, sort=False, dropna=False)
    complete = grouped["_code"].nunique().eq(len(codes)) & grouped["_score"].count().eq(grouped["_code"].count())
    totals = grouped["_score"].sum(min_count=1)
    copy = list(params.get("copy", []))
    first = items.groupby(group_by, sort=False, dropna=False).head(1).set_index(group_by, drop=False)
    incomplete = [k for k, ok in complete.items() if not ok]
    if incomplete:
        scored = frame[frame["_score"].notna()].groupby(group_by, sort=False, dropna=False)["_code"].agg(set)
        for key in incomplete:
            ident = dict(zip(group_by, key if isinstance(key, tuple) else (key,)))
            absent = [c for c in codes if c not in scored.get(key, set())]
            where = ", ".join(f"{k} {format_number(v) if isinstance(v, float) else v}" for k, v in ident.items())
            finding = ctx_finding(ctx, "DRV-TOTAL-INCOMPLETE", Severity.WARNING,
                                  f"no total derived for {where}: {len(absent)} of {len(codes)} item score(s) "
                                  f"missing", usubjid=str(ident.get("USUBJID", "")) or None,
                                  fix="query the site for the missing item scores, or accept that no total is derived")
            ctx.findings.append(replace(finding, value=", ".join(absent), variable=item_var))
    keep = complete[complete].index
    groups = first.loc[keep] if len(keep) else first.iloc[0:0]
    values = totals.loc[keep]
    if params.get("compare_column") and len(keep):
        col = params["compare_column"]
        if col not in src.columns:
            raise MappingProblem(f"compare_column {col!r} is not in the source rows")
        collected = pd.to_numeric(src.loc[mask, col], errors="coerce")
        coll = items[group_by].assign(_c=collected.values).groupby(group_by, sort=False, dropna=False)["_c"].first()
        for key, c, t in _kept_pairs(keep, complete, coll, totals):
            if pd.notna(c) and pd.notna(t) and c != t:
                ident = dict(zip(group_by, key if isinstance(key, tuple) else (key,)))
                where = ", ".join(f"{k} {format_number(v) if isinstance(v, float) else v}" for k, v in ident.items())
                finding = ctx_finding(
                    ctx, "DRV-TOTAL-MISMATCH", Severity.WARNING,
                    f"collected total {format_number(c)} differs from the item sum {format_number(t)} "
                    f"for {where}; the derived total is the item sum",
                    usubjid=str(ident.get("USUBJID", "")) or None,
                    fix="query the site: correct the items or the recorded total")
                ctx.findings.append(replace(finding, value=format_number(c), column=col))
    return _new_rows(groups, copy, params["set"], params["results"], values)


def _kept_pairs(keep: pd.Index, complete: pd.Series, coll: pd.Series, totals: pd.Series):
    """(group key, collected total, item sum) of the complete groups: positional when the three
    group results share one index (they come from the same grouping), else looked up by key."""
    if coll.index.equals(totals.index) and complete.index.equals(totals.index):
        hit = complete.to_numpy(dtype=bool)
        return zip(keep, coll.to_numpy()[hit], totals.to_numpy()[hit])
    return ((key, coll.get(key, np.nan), totals.get(key)) for key in keep)


def ctx_finding(ctx: MappingContext, code: str, severity: Severity, message: str, usubjid: str | None = None,
                fix: str | None = None):
    from cdisc_dpn.errors import Finding

    where = ctx.call.where if ctx.call else ctx.dataset.where
    return Finding(code, severity, message, stage="derive", dataset=ctx.dataset.name, usubjid=usubjid,
                   file=where.file, spec_line=where.line, fix=fix)


def classify(ctx: MappingContext, params: dict) -> pd.DataFrame:
    """A category record from another record's score, e.g. a severity band from a total.

    `source`: {variable: code} selecting the scored records (including derived ones);
    `bands`: [{max: 5, value: "NO NEUROPATHY"}, ...] tried in order; `result`: variables set to the band.
    """
    out = ctx.out
    (var, code), = params["source"].items()
    scored = out[out[var].astype(str) == str(code)]
    values = pd.to_numeric(scored[params["value"]], errors="coerce")
    labels = []
    for v in values:
        label = ""
        if pd.notna(v):
            for band in params["bands"]:
                if v <= float(band["max"]):
                    label = str(band["value"])
                    break
        labels.append(label)
    rows = scored[list(params.get("copy", []))].copy().reset_index(drop=True)
    for k, v in params["set"].items():
        rows[k] = v
    for target in ([params["result"]] if isinstance(params["result"], str) else params["result"]):
        rows[target] = labels
    return rows[[lab != "" for lab in labels]].reset_index(drop=True)


def mdrd_egfr(creatinine_mg_dl: float, age: float, female: bool, black: bool) -> float:
    """IDMS-traceable 4-variable MDRD: 175 x Scr^-1.154 x age^-0.203 x 0.742 (female) x 1.212 (black)."""
    if not creatinine_mg_dl or creatinine_mg_dl <= 0 or not age or age <= 0:
        return float("nan")
    value = 175.0 * creatinine_mg_dl ** -1.154 * age ** -0.203
    if female:
        value *= 0.742
    if black:
        value *= 1.212
    return value


def egfr_mdrd(ctx: MappingContext, params: dict) -> pd.DataFrame:
    """eGFR (MDRD) records from creatinine where the lab reported none for the same group.

    `creatinine`: creatinine test code; `value`: numeric standard result (umol/L, divided by
    `umol_per_mg_dl`, default 88.42); `reported`: the eGFR test code whose presence suppresses derivation.
    Age, sex and race come from DM.
    """
    out = ctx.out
    testcd, group_by = params["testcd"], list(params["group_by"])
    creat = out[out[testcd].astype(str) == str(params["creatinine"])]
    if creat.empty:
        return pd.DataFrame()
    reported = out[out[testcd].astype(str) == str(params.get("reported", ""))]
    have = set(map(tuple, reported[group_by].astype(str).values)) if not reported.empty else set()
    creat = creat[[tuple(r) not in have for r in creat[group_by].astype(str).values]]
    if creat.empty:
        return pd.DataFrame()
    subj = ctx.variable("USUBJID").loc[creat.index]
    dm = ctx.dataset_frame("DM").drop_duplicates("USUBJID").set_index("USUBJID")
    age = subj.map(dm["AGE"]).astype(float)
    sex = subj.map(dm["SEX"]).astype(str)
    race = subj.map(dm["RACE"]).astype(str) if "RACE" in dm.columns else pd.Series("", index=subj.index)
    scr = pd.to_numeric(creat[params["value"]], errors="coerce") / float(params.get("umol_per_mg_dl", 88.42))
    values = pd.Series([mdrd_egfr(c, a, s == "F", r == "BLACK OR AFRICAN AMERICAN")
                        for c, a, s, r in zip(scr, age, sex, race)], index=creat.index)
    keep = values.notna()
    rows = _new_rows(creat.loc[keep], list(params.get("copy", [])), params["set"], params["results"],
                     values[keep].round(1))
    return rows


def missed_visits(ctx: MappingContext, params: dict) -> pd.DataFrame:
    """SV records (SVOCCUR N) for planned visits a subject on study did not attend.

    A visit is missed when its planned day falls between the subject's first and last attended
    scheduled visit and no record has that VISITNUM. Subjects without an arm are skipped.
    """
    out = ctx.out
    planned = [v for v in ctx.specs.study.visits if v.visitdy is not None]
    rows = []
    # Records without a subject cannot have missed a visit: null keys dropped on purpose.
    known = out[out["USUBJID"].notna()]
    if known.empty or not planned:
        return pd.DataFrame(rows)
    nums = pd.to_numeric(known["VISITNUM"], errors="coerce")
    subjects = known["USUBJID"]
    heads = known.drop_duplicates("USUBJID")                 # each subject's first record, in order of appearance
    whole = nums.where(nums.notna() & (nums % 1 == 0))
    first = whole.groupby(subjects, sort=False).min().reindex(heads["USUBJID"]).to_numpy()
    last = whole.groupby(subjects, sort=False).max().reindex(heads["USUBJID"]).to_numpy()
    attended = set(zip(subjects[nums.notna()], nums[nums.notna()]))
    for subject, sid, lo, hi in zip(heads["USUBJID"], heads["STUDYID"], first, last):
        if np.isnan(lo):
            continue
        for v in planned:
            if lo < v.visitnum < hi and (subject, v.visitnum) not in attended:
                rows.append({"STUDYID": sid, "DOMAIN": ctx.dataset.domain, "USUBJID": subject,
                             "VISITNUM": v.visitnum, "VISIT": v.visit, "VISITDY": float(v.visitdy),
                             **params.get("set", {})})
    return pd.DataFrame(rows)
