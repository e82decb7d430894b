"""Parts of a compound identifier: one piece of a collected value split at a separator."""
from __future__ import annotations

import pandas as pd

from cdisc_dpn.errors import Severity
from cdisc_dpn.derive.context import MappingContext, MappingProblem


def split_values(values: pd.Series, separator: str, part: int) -> tuple[pd.Series, pd.Series]:
    """The `part`-th piece (1 = first, -1 = last) of each value; and a mask of values lacking it."""
    if not separator:
        raise MappingProblem("split_part needs a non-empty separator")
    if part == 0:
        raise MappingProblem("split_part: part counts from 1 (first) or -1 (last); 0 is not a part")

    def piece(text: str) -> str | None:
        text = str(text).strip()
        if not text:
            return ""
        pieces = text.split(separator)
        index = part - 1 if part > 0 else part
        if not -len(pieces) <= index < len(pieces):
            return None
        return pieces[index].strip()

    out = values.map(piece)
    missing = out.isna()
    return out.where(~missing, ""), missing


def split_part(ctx: MappingContext, params: dict, var) -> pd.Series:
    """One piece of a value split at `separator` (`part`: 1 = first, 2 = second, -1 = last).

    For identifiers collected as one compound value, e.g. a site-subject number "101-0003" giving
    SITEID (part 1) and SUBJID (part 2). A value with fewer pieces is a finding and stays empty.
    """
    values = ctx.value(params)
    out, missing = split_values(values, str(params["separator"]), int(params["part"]))
    if missing.any():
        ctx.report("MAP-SPLIT", Severity.ERROR, f"value has no part {params['part']} when split at "
                   f"{params['separator']!r}", mask=missing, values=values, column=params.get("column"),
                   fix="correct the value in the EDC or the separator/part in the spec")
    return out.astype(object)
