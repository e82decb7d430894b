"""What a conformance check receives and returns (CheckContext, Violation) and how one is declared (@check)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

import pandas as pd

from cdisc_dpn.spec.model import DatasetSpec, PlausibleRange

from .columns import text


@dataclass(frozen=True)
class DefineVariable:
    name: str
    data_type: str
    length: int | None


@dataclass(frozen=True)
class DefineMetadata:
    """What define.xml says about datasets: name -> variables (in ItemRef order)."""

    file: str
    datasets: Mapping[str, tuple[DefineVariable, ...]]


@dataclass
class Violation:
    dataset: str | None
    variable: str | None
    records: pd.DataFrame          # row, usubjid, value, + template fields


@dataclass
class CheckContext:
    frames: Mapping[str, pd.DataFrame]                       # dataset -> frame with a RangeIndex
    specs: Mapping[str, DatasetSpec] = field(default_factory=dict)
    define: DefineMetadata | None = None
    lengths: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    plausible_ranges: tuple[PlausibleRange, ...] = ()         # the study's units.yaml plausible_ranges

    def prefix(self, name: str) -> str:
        spec = self.specs.get(name)
        if spec is not None and spec.domain:
            return spec.domain
        frame = self.frames[name]
        if "DOMAIN" in frame.columns and len(frame):
            first = str(frame["DOMAIN"].iloc[0]).strip()
            if first:
                return first
        return name[:2]

    def subject_frames(self) -> Iterable[tuple[str, pd.DataFrame]]:
        for name in sorted(self.frames):
            frame = self.frames[name]
            if "USUBJID" in frame.columns:
                yield name, frame

    def dm_column(self, column: str) -> pd.Series | None:
        """DM column indexed by USUBJID (first record per subject), or None."""
        dm = self.frames.get("DM")
        if dm is None or column not in dm.columns or "USUBJID" not in dm.columns:
            return None
        sub = dm.drop_duplicates("USUBJID")
        return pd.Series(text(sub[column]).to_numpy(), index=text(sub["USUBJID"]).to_numpy())


@dataclass(frozen=True)
class Check:
    name: str
    function: Callable[..., list[Violation]]
    needs_define: bool = False


def check(name: str, *, needs_define: bool = False) -> Callable:
    """Mark a function as the check `name` that rules.yaml refers to; the catalogue of checks is built
    in cdisc_dpn.validation.conformance from the theme modules it lists (no registration on import)."""
    def wrap(function: Callable) -> Callable:
        function.check = Check(name, function, needs_define)
        return function
    return wrap


