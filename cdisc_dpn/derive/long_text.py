"""SDTMIG 4.5.3.2: Char text over 200 bytes keeps its first part in the variable, the rest in SUPP--.

Why: an XPT v5 Char value holds at most 200 bytes; one long verbatim term must not stop the whole
study. Parts are cut at the last blank that fits (the blank itself is dropped, as SDTMIG asks for
splits between words), or inside a word only when one word is longer than the limit. Lengths are
UTF-8 bytes, the most any supported XPT encoding needs for a character.
"""
from __future__ import annotations

import pandas as pd

from cdisc_dpn.spec.model import DatasetSpec
from cdisc_dpn.spec.supp import LONG_TEXT_LIMIT, long_text_qnam


def _fitting_chars(text: str, limit: int) -> int:
    """How many leading characters of `text` fit in `limit` UTF-8 bytes."""
    used = 0
    for i, ch in enumerate(text):
        used += len(ch.encode("utf-8"))
        if used > limit:
            return i
    return len(text)


def split_text(text: str, limit: int = LONG_TEXT_LIMIT) -> list[str]:
    """Parts of at most `limit` bytes each, split between words where a blank allows it."""
    parts: list[str] = []
    rest = text
    while len(rest.encode("utf-8")) > limit:
        cut = _fitting_chars(rest, limit)
        if rest[cut].isspace():
            head, rest = rest[:cut], rest[cut:]
        else:
            blank = max(rest.rfind(" ", 0, cut), rest.rfind("\t", 0, cut))
            if blank > 0:
                head, rest = rest[:blank], rest[blank:]
            else:
                head, rest = rest[:cut], rest[cut:]
        parts.append(head.rstrip())
        rest = rest.lstrip()
    parts.append(rest)
    return [p for p in parts if p != ""] or [""]


def split_long_values(spec: DatasetSpec, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """The frame with `long_text: supp` variables cut to their first part, and the continuation columns
    (QNAM -> text aligned with the frame, "" where a value was short enough)."""
    continuations: dict[str, pd.Series] = {}
    for var in spec.variables:
        if var.long_text != "supp" or var.type != "Char" or var.name not in frame.columns:
            continue
        values = frame[var.name].astype(str)
        long = values.map(lambda v: len(v.encode("utf-8")) > LONG_TEXT_LIMIT)
        if not long.any():
            continue
        parts = {i: split_text(v) for i, v in values[long].items()}
        frame = frame.copy()
        frame.loc[long, var.name] = [p[0] for p in parts.values()]
        for n in range(1, max(len(p) for p in parts.values())):
            qnam = long_text_qnam(var.name, n)
            column = pd.Series("", index=frame.index, dtype=object)
            for i, p in parts.items():
                if n < len(p):
                    column.at[i] = p[n]
            continuations[qnam] = column
    return frame, continuations
