"""RawTable: one CRF form as read, every cell as text, with row provenance."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from cdisc_dpn.errors import Finding

# Provenance columns carried through mapping; never written to SDTM.
SOURCE_FILE = "__source_file"
SOURCE_ROW = "__source_row"
PROVENANCE = (SOURCE_FILE, SOURCE_ROW)


@dataclass
class RawTable:
    """A form's rows as strings ("" for empty), plus SOURCE_FILE / SOURCE_ROW columns.

    SOURCE_ROW is the 1-based row in the file as a person sees it in a spreadsheet or text
    editor (the header is row 1 unless `header_row` says otherwise; for ODM-XML it is the line
    of the ItemGroupData element). `notices` are what the reader saw and skipped or filled in
    (blank lines, items absent from an ODM export), reported with the run's findings.
    """

    form: str
    path: Path
    frame: pd.DataFrame
    notices: list[Finding] = field(default_factory=list)
    rows: int | None = None          # set once the frame is released: the number of rows it had
    text_shared: bool = False        # the reader already made one object per distinct text (C parser)

    def __post_init__(self) -> None:
        self.frame = shared_text(self.frame, only_new_objects=self.text_shared)

    def released(self) -> "RawTable":
        """The same form without its cells (file, rows and notices stay): raw tables are not needed
        once the ledger is built, and at 14,000 subjects they are the largest frames of a run."""
        return RawTable(self.form, self.path, self.frame.iloc[0:0], self.notices, len(self), text_shared=True)

    @property
    def data_columns(self) -> list[str]:
        return [c for c in self.frame.columns if c not in PROVENANCE]

    def __len__(self) -> int:
        return len(self.frame) if self.rows is None else self.rows


def shared_text(frame: pd.DataFrame, only_new_objects: bool = False) -> pd.DataFrame:
    """The frame with one string object per distinct text of each text column (same values, same
    dtypes). A reader makes a new object per cell; shared objects hash once and compare by
    identity, so every later grouping, sort and lookup on raw text is several times faster, and
    a column of a few distinct values costs a pointer per row instead of a string per row.

    `only_new_objects`: the object columns are shared already (pandas' C parser boxes each distinct
    text once); only the columns that are not object-typed yet (provenance) become so."""
    out = None
    for position, name in enumerate(frame.columns):
        if only_new_objects and frame.dtypes.iloc[position] == object:
            continue
        values = frame.iloc[:, position].to_numpy()
        if values.dtype != object or len(values) < 2 or infer_dtype(values, skipna=True) != "string":
            continue
        codes, uniques = pd.factorize(values)
        shared = np.asarray(uniques, dtype=object).take(codes)
        missing = codes < 0
        if missing.any():
            shared[missing] = values[missing]
        if out is None:
            out = frame.copy(deep=False)
        out.isetitem(position, pd.Series(shared, index=frame.index, dtype=object))
    return frame if out is None else out.copy()      # one block again (copies pointers, not texts)
