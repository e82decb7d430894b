"""Dates are held as integer day numbers (days since 1970-01-01) and only turned into text on output."""
from __future__ import annotations

import numpy as np
import pandas as pd

MISSING_DAY = -1
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def format_dates(days: np.ndarray, style: str) -> np.ndarray:
    """'dmy' -> DD/MM/YYYY, 'dmon' -> DD-MON-YYYY; MISSING_DAY -> ''. Formats each distinct day once."""
    days = np.asarray(days, dtype=np.int64)
    out = np.full(len(days), "", dtype=object)
    present = days != MISSING_DAY
    if not present.any():
        return out
    unique, inverse = np.unique(days[present], return_inverse=True)
    stamps = pd.to_datetime(unique, unit="D")
    if style == "dmy":
        text = [f"{d:02d}/{m:02d}/{y:04d}" for y, m, d in zip(stamps.year, stamps.month, stamps.day)]
    elif style == "dmon":
        text = [f"{d:02d}-{_MONTHS[m - 1]}-{y:04d}" for y, m, d in zip(stamps.year, stamps.month, stamps.day)]
    else:
        raise ValueError(f"unknown date style {style!r}; expected 'dmy' or 'dmon'")
    out[present] = np.asarray(text, dtype=object)[inverse]
    return out


def format_times(minutes: np.ndarray) -> np.ndarray:
    """Minutes after midnight -> 'HH:MM'; negative -> ''."""
    minutes = np.asarray(minutes, dtype=np.int64)
    table = np.array([f"{m // 60:02d}:{m % 60:02d}" for m in range(24 * 60)] + [""], dtype=object)
    return table[np.where(minutes < 0, 24 * 60, minutes % (24 * 60))]


def years_between(start_days: np.ndarray, end_days: np.ndarray) -> np.ndarray:
    """Completed years from start to end (age on a date)."""
    start = pd.to_datetime(np.asarray(start_days), unit="D")
    end = pd.to_datetime(np.asarray(end_days), unit="D")
    years = end.year.to_numpy() - start.year.to_numpy()
    before_birthday = (end.month.to_numpy() * 100 + end.day.to_numpy()) < (
        start.month.to_numpy() * 100 + start.day.to_numpy())
    return years - before_birthday.astype(int)


def to_python_dates(days: np.ndarray) -> list:
    return [d.date() for d in pd.to_datetime(np.asarray(days), unit="D")]
