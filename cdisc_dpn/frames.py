"""DomainFrame: one SDTM dataset in memory, with its spec and the raw rows behind each record."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:   # type-only: the core layer does not import spec at run time
    from cdisc_dpn.spec.model import DatasetSpec


@dataclass
class DomainFrame:
    """SDTM columns in spec order (strings "" for empty Char, NaN for missing Num).

    `provenance` is aligned with `frame` by position and holds SOURCE_FILE / SOURCE_ROW
    (the raw file and 1-based row each record came from; "" / 0 for derived records).
    """

    spec: DatasetSpec
    frame: pd.DataFrame
    provenance: pd.DataFrame

    @property
    def name(self) -> str:
        return self.spec.name

    def __len__(self) -> int:
        return len(self.frame)
