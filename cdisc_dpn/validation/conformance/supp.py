"""Checks on SUPP-- datasets: parent records exist, one QNAM per parent record."""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from .base import CheckContext, Violation, check
from .columns import normalised_key, pairs_in, records, text


def supp_frames(ctx: CheckContext) -> Iterable[tuple[str, pd.DataFrame]]:
    for name in sorted(ctx.frames):
        frame = ctx.frames[name]
        if name.startswith("SUPP") and {"RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL"} <= set(frame.columns):
            yield name, frame


@check("supp_parent_exists")
def supp_parent_exists(ctx: CheckContext) -> list[Violation]:
    out = []
    for name, supp in supp_frames(ctx):
        rdomain, idvar = text(supp["RDOMAIN"]), text(supp["IDVAR"])
        subject, idvarval = text(supp["USUBJID"]), normalised_key(supp["IDVARVAL"])
        resolved = np.zeros(len(supp), dtype=bool)
        detail = pd.Series("", index=supp.index)
        pairs = pd.DataFrame({"d": rdomain, "v": idvar})
        for (dom, var), index in pairs.groupby(["d", "v"], dropna=False).groups.items():
            parent = ctx.frames.get(dom)
            pos = supp.index.get_indexer(index)
            if parent is None or "USUBJID" not in parent.columns:
                detail.iloc[pos] = f" (dataset {dom} not given)"
                continue
            if var == "":
                resolved[pos] = subject.iloc[pos].isin(set(text(parent["USUBJID"]))).to_numpy()
                continue
            if var not in parent.columns:
                detail.iloc[pos] = f" ({dom} has no variable {var})"
                continue
            resolved[pos] = pairs_in(subject.to_numpy()[pos], idvarval.to_numpy()[pos],
                                      text(parent["USUBJID"]).to_numpy(), normalised_key(parent[var]).to_numpy())
        mask = ~resolved
        if mask.any():
            out.append(Violation(name, "IDVARVAL", records(supp, mask, text(supp["IDVARVAL"]), rdomain=rdomain,
                                                           idvar=idvar, detail=detail)))
    return out


@check("supp_qnam_unique")
def supp_qnam_unique(ctx: CheckContext) -> list[Violation]:
    out = []
    for name, supp in supp_frames(ctx):
        if "QNAM" not in supp.columns:
            continue
        cols = ["RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"]
        keys = pd.DataFrame({c: (normalised_key(supp[c]) if c == "IDVARVAL" else text(supp[c])) for c in cols})
        dup = keys.duplicated(keep=False)
        if not dup.any():
            continue
        count = keys.groupby(cols, dropna=False)["QNAM"].transform("size")
        parent = keys["RDOMAIN"] + " " + keys["USUBJID"] + " " + keys["IDVAR"] + "=" + keys["IDVARVAL"]
        out.append(Violation(name, "QNAM", records(supp, dup, keys["QNAM"], count=count, parent=parent)))
    return out


