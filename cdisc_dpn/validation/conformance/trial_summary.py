"""Checks on TS: required trial summary parameters."""
from __future__ import annotations

from typing import Iterable

import pandas as pd

from .base import CheckContext, Violation, check
from .columns import text


@check("ts_parameters_present")
def ts_parameters_present(ctx: CheckContext, *, required: Iterable[str]) -> list[Violation]:
    ts = ctx.frames.get("TS")
    if ts is None or "TSPARMCD" not in ts.columns:
        return []
    present = set(text(ts["TSPARMCD"]))
    missing = sorted(set(required) - present)
    if not missing:
        return []
    return [Violation("TS", "TSPARMCD", pd.DataFrame({"row": -1, "usubjid": "", "value": missing}))]


