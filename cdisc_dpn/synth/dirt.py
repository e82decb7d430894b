"""Data-entry noise a real EDC extract carries: case and spelling variants, stray blanks, partial dates.

Each helper takes the clean value array and a rate, so the rates are visible where forms are built.
"""
from __future__ import annotations

import numpy as np

from .dates import format_dates

YES_VARIANTS = ("Y", "yes", "YES")
NO_VARIANTS = ("N", "no", "NO")


def with_variants(rng: np.random.Generator, values: np.ndarray, variants: dict[str, tuple[str, ...]],
                  rate: float) -> np.ndarray:
    """Replace a `rate` share of values that have variants by one of their variants."""
    out = np.asarray(values, dtype=object).copy()
    hit = rng.random(len(out)) < rate
    picks = rng.random(len(out))
    for index in np.flatnonzero(hit):
        options = variants.get(out[index])
        if options:
            out[index] = options[int(picks[index] * len(options))]
    return out


def yes_no(rng: np.random.Generator, flags: np.ndarray, rate: float = 0.08) -> np.ndarray:
    """Yes/No as typed: mostly 'Yes'/'No', sometimes Y, yes, N, no."""
    clean = np.where(np.asarray(flags, dtype=bool), "Yes", "No").astype(object)
    return with_variants(rng, clean, {"Yes": YES_VARIANTS, "No": NO_VARIANTS}, rate)


def partial_dates(rng: np.random.Generator, days: np.ndarray, style: str, rate_day_unknown: float,
                  rate_month_unknown: float) -> np.ndarray:
    """Full dates with some day-unknown ('UN/03/2026') and month-unknown ('UN/UN/2026') entries."""
    text = format_dates(days, style)
    draw = rng.random(len(text))
    month_unknown = draw < rate_month_unknown
    day_unknown = (draw >= rate_month_unknown) & (draw < rate_month_unknown + rate_day_unknown)
    sep = "/" if style == "dmy" else "-"
    for index in np.flatnonzero((month_unknown | day_unknown) & (text != "")):
        parts = text[index].split(sep)
        parts[0] = "UN"
        if month_unknown[index]:
            parts[1] = "UN"
        text[index] = sep.join(parts)
    return text
