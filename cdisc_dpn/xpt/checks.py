"""FDA Technical Conformance Guide / SAS XPORT v5 constraints, checked before anything is written.

`check_dataset` collects every violation (it never stops at the first one);
`transliterate` applies an explicit, spec-declared character table and reports each replacement.

Finding codes (all stage "write"):
  XPT-NAME            dataset or variable name not <= 8 chars of [A-Z][A-Z0-9_]*
  XPT-DUP-VAR         variable declared twice
  XPT-TOO-MANY-VARS   more than 9999 variables (NAMESTR header limit)
  XPT-TYPE            variable type not "Char" or "Num"
  XPT-LABEL-MISSING   dataset or variable label empty
  XPT-LABEL-LEN       label longer than 40 characters
  XPT-LABEL-ASCII     label with non-ASCII characters
  XPT-LENGTH-INVALID  declared length not usable (char: 1..200, num: 8)
  XPT-LENGTH-SHORT    declared length shorter than the longest value
  XPT-VALUE-LEN       character value longer than 200 bytes
  XPT-NON-ASCII       character value with non-ASCII characters
  XPT-CHAR-TYPE       character variable holding non-text values
  XPT-NUM-TYPE        numeric variable whose column is not numeric
  XPT-NUM-RANGE       numeric value infinite or beyond the IBM range (|x| >= 16**63 ~ 7.2e75)
  XPT-NUM-UNDERFLOW   (WARNING) non-zero value below the IBM range (|x| < 16**-65 ~ 5.4e-79): written as 0
  XPT-COLUMN-EXTRA    frame column not in the metadata
  XPT-COLUMN-MISSING  metadata variable not in the frame
  XPT-TRANSLIT        (NOTICE) a character replaced by the transliteration table
"""
from __future__ import annotations

import json
import re
from importlib import resources
from typing import Mapping

import numpy as np
import pandas as pd

from cdisc_dpn.distinct import first_rows, value_codes
from cdisc_dpn.errors import Finding, Severity
from cdisc_dpn.xpt.metadata import (
    MAX_CHAR_LENGTH,
    MAX_LABEL_LENGTH,
    MAX_NAME_LENGTH,
    NUM_LENGTH,
    VARIABLE_TYPES,
    XptDataset,
    is_valid_name,
)

STAGE = "write"
MAX_VARIABLES = 9999
#: IBM 370 double range: 16**63 is the first magnitude that cannot be represented,
#: 16**-65 the smallest normalised magnitude.
IBM_MAX = 16.0 ** 63
IBM_MIN = 16.0 ** -65
_VALUE_PREVIEW = 60


def _finding(code: str, message: str, fix: str, severity: Severity = Severity.ERROR, **where) -> Finding:
    return Finding(code=code, severity=severity, message=message, stage=STAGE, fix=fix, **where)


def _preview(value: str) -> str:
    return value if len(value) <= _VALUE_PREVIEW else value[:_VALUE_PREVIEW] + "..."


def char_values(series: pd.Series) -> np.ndarray:
    """Object array of the column's values with missing values as ""."""
    return series.to_numpy(dtype=object, na_value="")


def non_text_rows(values: np.ndarray) -> np.ndarray:
    """Row indexes (0-based) whose value is not a str."""
    if not len(values) or pd.api.types.infer_dtype(values, skipna=False) == "string":
        return np.empty(0, dtype=np.int64)         # fast path (C loop): all values are str
    is_str = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    return np.flatnonzero(~is_str)


def byte_lengths(values: np.ndarray, non_ascii: np.ndarray | None = None) -> np.ndarray:
    """UTF-8 byte length of every value of an object array of str (vectorised fast path for ASCII).

    `non_ascii`: the rows from non_ascii_rows(values), when the caller already has them.
    """
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    for i in non_ascii_rows(values) if non_ascii is None else non_ascii:
        lengths[i] = len(values[i].encode("utf-8"))
    return lengths


def non_ascii_rows(values: np.ndarray) -> np.ndarray:
    """Row indexes (0-based) whose value has a character outside ASCII."""
    if not len(values) or "".join(values).isascii():
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(~np.fromiter(map(str.isascii, values), dtype=bool, count=len(values)))


def _usubjids(frame: pd.DataFrame) -> np.ndarray | None:
    if "USUBJID" not in frame.columns:
        return None
    return frame["USUBJID"].to_numpy(dtype=object, na_value=None)


def _check_names_and_labels(meta: XptDataset) -> list[Finding]:
    out: list[Finding] = []
    ds = meta.name
    if not is_valid_name(ds):
        out.append(_finding(
            "XPT-NAME", f"dataset name {ds!r} is not a valid XPT v5 name",
            f"use at most {MAX_NAME_LENGTH} upper-case letters, digits or underscores, starting with a letter",
            dataset=str(ds)))
    out += _check_label(meta.label, dataset=str(ds), variable=None)
    if len(meta.variables) > MAX_VARIABLES:
        out.append(_finding(
            "XPT-TOO-MANY-VARS", f"{len(meta.variables)} variables; XPT v5 allows at most {MAX_VARIABLES}",
            "split the dataset or move variables to a supplemental dataset", dataset=str(ds)))
    seen: set[str] = set()
    for var in meta.variables:
        where = dict(dataset=str(ds), variable=str(var.name))
        if not is_valid_name(var.name):
            out.append(_finding(
                "XPT-NAME", f"variable name {var.name!r} is not a valid XPT v5 name",
                f"use at most {MAX_NAME_LENGTH} upper-case letters, digits or underscores, starting with a letter",
                **where))
        if var.name in seen:
            out.append(_finding("XPT-DUP-VAR", f"variable {var.name} is declared more than once",
                                "declare each variable once in the spec", **where))
        seen.add(var.name)
        out += _check_label(var.label, **where)
        if var.type not in VARIABLE_TYPES:
            out.append(_finding("XPT-TYPE", f"type {var.type!r} is neither 'Char' nor 'Num'",
                                "declare the variable as Char or Num", **where))
        elif var.length is not None:
            if var.type == "Num" and var.length != NUM_LENGTH:
                out.append(_finding(
                    "XPT-LENGTH-INVALID", f"numeric length {var.length}; numeric variables are written with length 8",
                    "drop the length or set it to 8", **where))
            if var.type == "Char" and not (isinstance(var.length, int) and 1 <= var.length <= MAX_CHAR_LENGTH):
                out.append(_finding(
                    "XPT-LENGTH-INVALID", f"character length {var.length!r} is outside 1..{MAX_CHAR_LENGTH}",
                    f"declare a length between 1 and {MAX_CHAR_LENGTH}, or none to use the longest value",
                    **where))
    return out


def _check_label(label: object, *, dataset: str, variable: str | None) -> list[Finding]:
    what = f"variable {variable}" if variable else f"dataset {dataset}"
    where = dict(dataset=dataset, variable=variable)
    if not isinstance(label, str) or not label.strip():
        return [_finding("XPT-LABEL-MISSING", f"{what} has no label", "give it a label in the spec", **where)]
    out = []
    if len(label) > MAX_LABEL_LENGTH:
        out.append(_finding(
            "XPT-LABEL-LEN", f"label of {what} has {len(label)} characters; at most {MAX_LABEL_LENGTH} allowed",
            f"shorten the label to {MAX_LABEL_LENGTH} characters", value=label, **where))
    if not label.isascii():
        out.append(_finding(
            "XPT-LABEL-ASCII", f"label of {what} has non-ASCII characters",
            "use ASCII characters only in labels", value=label, **where))
    return out


def _check_char_column(frame: pd.DataFrame, var, ds: str, usubjids) -> list[Finding]:
    out: list[Finding] = []
    values = char_values(frame[var.name])
    where = dict(dataset=ds, variable=var.name)

    def usubjid(i: int) -> str | None:
        if usubjids is None or usubjids[i] is None:
            return None
        return str(usubjids[i])

    bad_type = non_text_rows(values)
    for i in bad_type:
        out.append(_finding(
            "XPT-CHAR-TYPE", f"character variable {var.name} holds a {type(values[i]).__name__} value",
            "convert the value to text in the mapping (or declare the variable Num)",
            row=int(i) + 1, usubjid=usubjid(i), value=_preview(repr(values[i])), **where))
    if len(bad_type):
        values = values.copy()
        values[bad_type] = [str(values[i]) for i in bad_type]

    non_ascii = non_ascii_rows(values)
    for i in non_ascii:
        text = values[i]
        chars = "".join(sorted({c for c in text if not c.isascii()}))
        out.append(_finding(
            "XPT-NON-ASCII",
            f"value has non-ASCII characters {chars!r} ({', '.join(f'U+{ord(c):04X}' for c in chars)})",
            "correct the source, or declare a transliteration for these characters in the spec",
            row=int(i) + 1, usubjid=usubjid(i), value=_preview(text), **where))

    lengths = byte_lengths(values, non_ascii)
    for i in np.flatnonzero(lengths > MAX_CHAR_LENGTH):
        out.append(_finding(
            "XPT-VALUE-LEN", f"value is {int(lengths[i])} bytes; XPT character values are at most {MAX_CHAR_LENGTH}",
            "give the variable `long_text: supp` in its spec (SDTMIG 4.5.3.2: the rest goes to SUPP--), "
            "or shorten the text",
            row=int(i) + 1, usubjid=usubjid(i), value=_preview(values[i]), **where))

    if var.length is not None and len(lengths) and isinstance(var.length, int):
        longest = int(lengths.max())
        if longest > var.length:
            too_long = np.flatnonzero(lengths > var.length)
            first = int(too_long[0])
            out.append(_finding(
                "XPT-LENGTH-SHORT",
                f"declared length {var.length} is shorter than the longest value ({longest} bytes, "
                f"{len(too_long)} rows too long)",
                f"raise the declared length to at least {longest} or drop it to use the longest value",
                row=first + 1, usubjid=usubjid(first), value=_preview(values[first]),
                extra={"longest": longest, "rows": (too_long + 1).tolist()}, **where))
    return out


def _check_num_column(frame: pd.DataFrame, var, ds: str, usubjids) -> list[Finding]:
    series = frame[var.name]
    where = dict(dataset=ds, variable=var.name)
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return [_finding(
            "XPT-NUM-TYPE", f"numeric variable {var.name} has column type {series.dtype}",
            "convert the column to numbers in the mapping (or declare the variable Char)", **where)]
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    magnitude = np.abs(values)
    out: list[Finding] = []
    for i in np.flatnonzero(magnitude >= IBM_MAX):      # NaN compares False: missing is fine
        out.append(_finding(
            "XPT-NUM-RANGE",
            f"value {values[i]!r} cannot be stored as an IBM double (|x| must be below 16**63 ~ 7.2e75)",
            "correct the value, or store it as text in a character variable",
            row=int(i) + 1, usubjid=None if usubjids is None else usubjids[i], value=repr(values[i]), **where))
    for i in np.flatnonzero((magnitude > 0) & (magnitude < IBM_MIN)):
        out.append(_finding(
            "XPT-NUM-UNDERFLOW",
            f"value {values[i]!r} is below the IBM double range (16**-65 ~ 5.4e-79) and is written as 0",
            "check the value; it is written as zero", severity=Severity.WARNING,
            row=int(i) + 1, usubjid=None if usubjids is None else usubjids[i], value=repr(values[i]), **where))
    return out


def check_dataset(frame: pd.DataFrame, meta: XptDataset) -> list[Finding]:
    """Every XPT v5 / FDA TCG violation of `frame` described by `meta`; empty when it can be written."""
    findings = _check_names_and_labels(meta)
    ds = str(meta.name)
    declared = set(meta.names)
    for column in frame.columns:
        if column not in declared:
            findings.append(_finding(
                "XPT-COLUMN-EXTRA", f"column {column!r} is in the data but not in the dataset metadata",
                "add the variable to the spec or drop the column before writing",
                dataset=ds, variable=str(column)))
    usubjids = _usubjids(frame)
    for var in meta.variables:
        if var.name not in frame.columns:
            findings.append(_finding(
                "XPT-COLUMN-MISSING", f"variable {var.name} is in the metadata but not in the data",
                "derive the variable or remove it from the spec", dataset=ds, variable=var.name))
            continue
        if var.type == "Char":
            findings += _check_char_column(frame, var, ds, usubjids)
        elif var.type == "Num":
            findings += _check_num_column(frame, var, ds, usubjids)
    return findings


# --------------------------------------------------------------------------------------------
# transliteration


def load_default_transliteration() -> dict[str, str]:
    """The shipped table (cdisc_dpn/xpt/transliteration.json); applied only when a caller passes it."""
    text = resources.files("cdisc_dpn.xpt").joinpath("transliteration.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return dict(data["table"])


def _is_text_column(series: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def transliterate(
    frame: pd.DataFrame,
    table: Mapping[str, str],
    *,
    dataset: str | None = None,
    columns: list[str] | None = None,
) -> tuple[pd.DataFrame, list[Finding]]:
    """Apply `table` (source text -> ASCII replacement) to the character columns of `frame`.

    Longer keys win over shorter ones ("°C" before "°"). Every changed cell is reported as a NOTICE
    finding with the value before and after. Characters not in the table are left alone (and are then
    reported by check_dataset). Returns a new frame; the input is not modified.
    """
    for key, replacement in table.items():
        if not key:
            raise ValueError("transliteration table has an empty key")
        if not isinstance(replacement, str):
            raise ValueError(f"transliteration of {key!r} is not a string")
    if not table:
        return frame, []
    keys = sorted(table, key=lambda k: (-len(k), k))
    pattern = re.compile("|".join(re.escape(k) for k in keys))
    ascii_keys = any(k.isascii() for k in keys)
    out = frame.copy(deep=False)          # copy-on-write: replaced columns never reach `frame`
    findings: list[Finding] = []
    usubjids = _usubjids(frame)
    targets = columns if columns is not None else [c for c in frame.columns if _is_text_column(frame[c])]
    for column in targets:
        values = frame[column].to_numpy(dtype=object)
        all_text = not len(values) or pd.api.types.infer_dtype(values, skipna=False) == "string"
        texts = values if all_text else [v for v in values if isinstance(v, str)]
        if not ascii_keys and "".join(texts).isascii():
            continue            # fast path: nothing in this column can match
        changed = False
        new_values = values.copy()
        # which rows a key matches is decided once per distinct value
        codes = value_codes(pd.Series(values, dtype=object))
        first = first_rows(codes)
        matches = np.fromiter((isinstance(v, str) and (ascii_keys or not v.isascii()) and bool(pattern.search(v))
                               for v in values[first]), dtype=bool, count=len(first))
        replaced: dict[str, str] = {}
        for i in np.flatnonzero(matches[codes]).tolist():
            value = values[i]
            if value not in replaced:
                replaced[value] = pattern.sub(lambda m: table[m.group(0)], value)
            after = replaced[value]
            new_values[i] = after
            changed = True
            findings.append(Finding(
                code="XPT-TRANSLIT", severity=Severity.NOTICE,
                message=f"transliterated {value!r} -> {after!r}", stage=STAGE,
                dataset=dataset, variable=str(column), row=i + 1,
                usubjid=None if usubjids is None or usubjids[i] is None else str(usubjids[i]),
                value=f"{_preview(value)} -> {_preview(after)}",
                fix="none needed; the replacement is declared in the spec",
                extra={"before": value, "after": after},
            ))
        if changed:
            out[column] = pd.Series(new_values, index=frame.index, dtype=frame[column].dtype)
    return out, findings
