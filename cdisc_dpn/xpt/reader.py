"""Read an XPT file (ours or another tool's) back into a frame plus XptDataset metadata, via pyreadstat.

pyreadstat (1.3) exposes, per variable: `readstat_variable_types` ("double" / "string"),
`variable_storage_width` (the NAMESTR length in bytes: 8 for numerics, the declared length for
character variables), `column_names_to_labels`, `original_variable_types` (the SAS display format,
e.g. "DATE9", or None), and per file `table_name` (member name) and `file_label` (dataset label).
Character values come back with trailing blanks removed; SAS missing numerics come back as NaN;
numbers with date formats are returned as stored (no datetime conversion).
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyreadstat

from cdisc_dpn.errors import Finding, InputError, Severity
from cdisc_dpn.xpt.metadata import CHAR, NUM, XptDataset, XptVariable, canonical_display_format


def read_xpt(path: str | os.PathLike) -> tuple[pd.DataFrame, XptDataset]:
    """Frame and metadata (names, labels, types, lengths as stored) of an XPT v5 (or v8) file."""
    path = Path(path)
    try:
        frame, info = pyreadstat.read_xport(str(path), disable_datetime_conversion=True)
    except Exception as exc:   # pyreadstat raises its own exception types for unreadable files
        raise InputError(
            f"{path}: cannot read as SAS transport file: {exc}",
            [Finding(code="XPT-READ", severity=Severity.ERROR, stage="read", file=str(path),
                     message=f"cannot read as SAS transport file: {exc}",
                     fix="check that the file is a SAS XPORT v5 file")],
        ) from exc
    labels = info.column_names_to_labels or {}
    widths = info.variable_storage_width or {}
    types = info.readstat_variable_types or {}
    formats = info.original_variable_types or {}
    variables = []
    for name in info.column_names:
        is_char = types.get(name) == "string"
        display_format = canonical_display_format(formats.get(name))
        variables.append(XptVariable(
            name=name,
            label=labels.get(name) or "",
            type=CHAR if is_char else NUM,
            length=int(widths[name]) if widths.get(name) is not None else None,
            display_format=display_format,
        ))
    meta = XptDataset(name=info.table_name or "", label=info.file_label or "", variables=tuple(variables))
    return frame, meta
