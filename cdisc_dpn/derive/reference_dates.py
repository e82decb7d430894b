"""Per-subject dates taken from other datasets' rows: DM reference dates (RFXSTDTC, RFPENDTC...)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc_dpn.derive.context import MappingContext, MappingProblem
from cdisc_dpn.distinct import map_distinct


def _rows(ctx: MappingContext, name: str) -> pd.DataFrame:
    frame = ctx.rows.get(name)
    if frame is None:
        raise MappingProblem(f"dataset {name!r} is not in the study")
    return frame


def _where(frame: pd.DataFrame, cond: dict | None) -> pd.DataFrame:
    for variable, allowed in (cond or {}).items():
        allowed = [allowed] if isinstance(allowed, str) else list(allowed)
        frame = frame[frame[variable].astype(str).str.upper().isin([str(a).upper() for a in allowed])]
    return frame


def pick_subject_dates(ctx: MappingContext, sources: list[dict], pick: str) -> pd.Series:
    """Earliest or latest ISO date per subject over several dataset variables; complete dates first."""
    candidates = []
    for src in sources:
        if "variable" in src and "from" not in src:
            values = ctx.variable(src["variable"])
            candidates.append(pd.DataFrame({"USUBJID": ctx.variable("USUBJID").values, "d": values.values}))
            continue
        frame = _where(_rows(ctx, str(src["from"]).upper()), src.get("where"))
        for var in ([src["variable"]] if isinstance(src["variable"], str) else src["variable"]):
            if var not in frame.columns:
                raise MappingProblem(f"dataset {src['from']} has no variable {var}")
            candidates.append(pd.DataFrame({"USUBJID": frame["USUBJID"].values, "d": frame[var].values}))
    if not candidates:
        return ctx.blank()
    allrows = pd.concat(candidates, ignore_index=True)
    allrows["d"] = allrows["d"].astype(str)
    allrows = allrows[allrows["d"].str.len() >= 4]
    # Prefer complete dates; a partial date wins only when no complete one exists.
    complete = allrows["d"].str.len() >= 10
    # A date on a record without a subject belongs to no subject: null keys dropped on purpose.
    has_complete = complete.groupby(allrows["USUBJID"], sort=False, dropna=True).transform("any")
    pool = allrows[complete | ~has_complete.reindex(allrows.index, fill_value=False).astype(bool)]
    pool = pool[pool["USUBJID"].notna()]
    # min/max of the texts by their rank among the distinct dates (an integer per row, no Python compare per row)
    codes, dates = pd.factorize(pool["d"].to_numpy(dtype=object))
    order = np.argsort(np.asarray(dates, dtype=object), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    grouped = pd.Series(rank[codes], index=pool.index).groupby(pool["USUBJID"], sort=False)
    chosen = grouped.min() if pick == "min" else grouped.max()
    best = dict(zip(chosen.index, np.asarray(dates, dtype=object)[order][chosen.to_numpy()]))
    return map_distinct(ctx.variable("USUBJID"), lambda s: best.get(s, ""))


def first_date(ctx: MappingContext, params: dict, var) -> pd.Series:
    """Earliest date per subject over `sources` [{from: EX, variable: EXSTDTC, where: {...}} | {variable: X}]."""
    return pick_subject_dates(ctx, list(params["sources"]), "min")


def last_date(ctx: MappingContext, params: dict, var) -> pd.Series:
    """Latest date per subject over `sources` (e.g. RFXENDTC from EXENDTC and EXSTDTC)."""
    return pick_subject_dates(ctx, list(params["sources"]), "max")


def flag_if_any(ctx: MappingContext, params: dict, var) -> pd.Series:
    """"Y" (or `value`) when any input is non-empty (e.g. DTHFL from DTHDTC or a death reason), else empty."""
    hit = pd.Series(False, index=ctx.src.index)
    for inp in params["inputs"]:
        values = ctx.value(inp).astype(str).str.strip().str.upper()
        if "in" in inp:
            hit |= values.isin([str(v).upper() for v in inp["in"]])
        else:
            hit |= values != ""
    return hit.map(lambda h: params.get("value", "Y") if h else "")
