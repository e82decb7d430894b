"""SAS transport (XPORT) version 5 writer, to the FDA Technical Conformance Guide.

Own implementation of the layout in SAS TS-140 ("The record layout of a data set in SAS transport
(XPORT) format"): 80-byte records; library header, member header, descriptor, NAMESTR records of
140 bytes, OBS header, then the observations packed fixed-width with no separators, the last record
padded with blanks.

Numbers are converted from IEEE 754 to IBM 370 hexadecimal floating point for whole columns at once
with numpy. The conversion is exact for every double in the IBM range: a 53-bit IEEE significand
always fits the 56-bit IBM fraction, even after the 0..3 bit shift that hex normalisation needs.
  * NaN / None / pd.NA  -> SAS missing "." (0x2E then 7 zero bytes)
  * 0.0 and -0.0        -> 8 zero bytes (IBM has no signed zero in SAS practice; pyreadstat does the same)
  * |x| >= 16**63 (~7.2e75) or +-inf -> refused (XPT-NUM-RANGE, OutputError), never garbage
  * 0 < |x| < 16**-65 (~5.4e-79)     -> 0, reported as XPT-NUM-UNDERFLOW warning by check_dataset

Output is deterministic: header dates come from `created` (default 2000-01-01T00:00:00), never
from the clock; files are written to a temporary file in the target folder and moved into place.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np
import pandas as pd

from cdisc_dpn.atomic import write_atomic
from cdisc_dpn.distinct import first_rows, value_codes
from cdisc_dpn.errors import Finding, OutputError, Severity
from cdisc_dpn.xpt.checks import byte_lengths, char_values, check_dataset
from cdisc_dpn.xpt.metadata import NUM_LENGTH, XptDataset, is_valid_name

RECORD = 80
NAMESTR_LENGTH = 140
DEFAULT_CREATED = datetime(2000, 1, 1, 0, 0, 0)
DEFAULT_MAX_BYTES = 5 * 1024 ** 3          # FDA TCG: split datasets larger than 5 GB
SAS_VERSION = "9.4"
SAS_OS = "CDISCDPN"
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_CHUNK_ROWS = 20_000
_MISSING = np.uint64(0x2E) << np.uint64(56)
_FORMAT = re.compile(r"(\$?[A-Z_][A-Z0-9_]*?)(\d*)\.(\d*)")


@dataclass(frozen=True)
class XptWriteResult:
    path: Path
    rows: int
    bytes: int
    lengths: Mapping[str, int] = field(hash=False)   # final length per variable, in output order


@dataclass(frozen=True)
class CodedText:
    """A character column as the code of each row (value_codes: exact, NaN apart from "") and, per
    code, its first row and its text (missing as ""): encoded once per distinct value, and shared
    by the XPT and Dataset-JSON writers of the same frame."""
    codes: np.ndarray
    first: np.ndarray
    values: np.ndarray


def coded_text(series: pd.Series) -> CodedText:
    codes = value_codes(series)
    first = first_rows(codes)
    return CodedText(codes, first, char_values(series.iloc[first]))


def coded_columns(frame: pd.DataFrame, meta: XptDataset) -> dict[str, CodedText]:
    """CodedText of every character variable of `meta` that `frame` has."""
    return {v.name: coded_text(frame[v.name]) for v in meta.variables if v.is_char and v.name in frame.columns}


@dataclass(frozen=True)
class _Layout:
    names: tuple[str, ...]
    is_char: tuple[bool, ...]
    lengths: tuple[int, ...]
    offsets: tuple[int, ...]

    @property
    def obs_length(self) -> int:
        return sum(self.lengths)


def xpt_file_name(dataset: str) -> str:
    """File name for a dataset: "DM" -> "dm.xpt". Refuses names that are not XPT names (no path escapes)."""
    _require_name(dataset)
    return f"{dataset.lower()}.xpt"


def _require_name(dataset: str) -> None:
    if not is_valid_name(dataset):
        raise OutputError(
            f"dataset name {dataset!r} is not a valid XPT v5 name",
            [Finding(code="XPT-NAME", severity=Severity.ERROR, stage="write", dataset=str(dataset),
                     message=f"dataset name {dataset!r} is not a valid XPT v5 name",
                     fix="use at most 8 upper-case letters, digits or underscores, starting with a letter")],
        )


# --------------------------------------------------------------------------------------------
# IBM 370 doubles


def ieee_to_ibm(values: np.ndarray) -> np.ndarray:
    """Big-endian IBM 370 doubles (dtype '>u8') for a float64 array; NaN becomes SAS missing ".".

    Raises OutputError for infinities and magnitudes >= 16**63; values below 16**-65 become 0.
    """
    x = np.ascontiguousarray(values, dtype=np.float64)
    bits = x.view(np.uint64)
    sign = bits & np.uint64(0x8000_0000_0000_0000)
    biased = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64)
    significand = (bits & np.uint64(0x000F_FFFF_FFFF_FFFF)) | np.uint64(1 << 52)
    # x = significand / 2**53 * 2**b with significand / 2**53 in [0.5, 1)
    b = biased - 1022
    q = -((-b) // 4)                       # ceil(b / 4): the base-16 exponent
    shift = (3 - (4 * q - b)).astype(np.uint64)   # 0..3: left shift into the 56-bit fraction
    fraction = significand << shift        # exact: at most 56 bits
    exponent = q + 64
    nan = np.isnan(x)
    overflow = ~nan & ((exponent > 127) | (biased == 0x7FF))
    if overflow.any():
        first = int(np.flatnonzero(overflow)[0])
        raise OutputError(
            f"{int(overflow.sum())} numeric values are outside the IBM double range (first: {x[first]!r})",
            [Finding(code="XPT-NUM-RANGE", severity=Severity.ERROR, stage="write", row=first + 1,
                     value=repr(x[first]), message="value cannot be stored as an IBM double",
                     fix="run check_dataset before writing and correct the values")],
        )
    zero = (biased == 0) | (exponent < 0)  # zeros, IEEE subnormals and IBM underflow -> 0
    safe_exponent = np.clip(exponent, 0, 127).astype(np.uint64)
    out = sign | (safe_exponent << np.uint64(56)) | fraction
    out[zero] = 0
    out[nan] = _MISSING
    return out.astype(">u8")


# --------------------------------------------------------------------------------------------
# header records


def _sas_datetime(value: datetime) -> bytes:
    text = f"{value.day:02d}{_MONTHS[value.month - 1]}{value.year % 100:02d}:{value:%H:%M:%S}"
    return text.encode("ascii")


def _text(value: str, width: int) -> bytes:
    try:
        data = value.encode("ascii")
    except UnicodeEncodeError as exc:
        raise OutputError(f"{value!r} is not ASCII; run check_dataset first") from exc
    if len(data) > width:
        raise OutputError(f"{value!r} does not fit in {width} bytes")
    return data.ljust(width, b" ")


def _header(kind: str, numbers: str = "0" * 30) -> bytes:
    record = f"HEADER RECORD*******{kind:<8}HEADER RECORD!!!!!!!{numbers}  ".encode("ascii")
    assert len(record) == RECORD
    return record


def _parse_format(display_format: str | None) -> tuple[bytes, int, int]:
    if not display_format:
        return b" " * 8, 0, 0
    match = _FORMAT.fullmatch(display_format.upper())
    if not match:
        raise OutputError(f"display format {display_format!r} is not a SAS format like DATE9. or 8.2")
    name, width, decimals = match.groups()
    return _text(name, 8), int(width or 0), int(decimals or 0)


def _namestr(number: int, var, is_char: bool, length: int, position: int) -> bytes:
    form, form_width, form_decimals = _parse_format(var.display_format)
    record = b"".join([
        (2 if is_char else 1).to_bytes(2, "big"),   # ntype
        (0).to_bytes(2, "big"),                     # nhfun
        length.to_bytes(2, "big"),                  # nlng
        number.to_bytes(2, "big"),                  # nvar0
        _text(var.name, 8),                         # nname
        _text(var.label, 40),                       # nlabel
        form,                                       # nform
        form_width.to_bytes(2, "big"),              # nfl
        form_decimals.to_bytes(2, "big"),           # nfd
        (0).to_bytes(2, "big"),                     # nfj: left justified
        b"\x00\x00",                                # nfill
        b" " * 8,                                   # niform
        (0).to_bytes(2, "big"),                     # nifl
        (0).to_bytes(2, "big"),                     # nifd
        position.to_bytes(4, "big"),                # npos
        b"\x00" * 52,                               # rest
    ])
    assert len(record) == NAMESTR_LENGTH
    return record


def _pad(data: bytes) -> bytes:
    remainder = len(data) % RECORD
    return data if remainder == 0 else data + b" " * (RECORD - remainder)


def _header_bytes(meta: XptDataset, layout: _Layout, created: datetime) -> bytes:
    stamp = _sas_datetime(created)
    version, system = _text(SAS_VERSION, 8), _text(SAS_OS, 8)
    parts = [
        _header("LIBRARY"),
        b"SAS     SAS     SASLIB  " + version + system + b" " * 24 + stamp,
        stamp + b" " * 64,
        _header("MEMBER", "000000000000000001600000000140"),
        _header("DSCRPTR"),
        b"SAS     " + _text(meta.name, 8) + b"SASDATA " + version + system + b" " * 24 + stamp,
        stamp + b" " * 16 + _text(meta.label, 40) + b" " * 8,
        _header("NAMESTR", f"000000{len(meta.variables):04d}00000000000000000000"),
    ]
    namestrs = b"".join(
        _namestr(i + 1, var, layout.is_char[i], layout.lengths[i], layout.offsets[i])
        for i, var in enumerate(meta.variables)
    )
    return b"".join(parts) + _pad(namestrs) + _header("OBS")


# --------------------------------------------------------------------------------------------
# observations


def _column_arrays(frame: pd.DataFrame, meta: XptDataset,
                   coded: Mapping[str, CodedText] | None = None) -> list[np.ndarray | CodedText]:
    """One entry per variable: CodedText (Char) or float64 array (Num, NaN for missing)."""
    arrays: list[np.ndarray | CodedText] = []
    for var in meta.variables:
        if var.is_char:
            known = coded.get(var.name) if coded is not None else None
            arrays.append(known if known is not None else coded_text(frame[var.name]))
        else:
            arrays.append(frame[var.name].to_numpy(dtype=np.float64, na_value=np.nan))
    return arrays


def _layout(meta: XptDataset, arrays: list[np.ndarray], lengths: Mapping[str, int] | None = None) -> _Layout:
    names, is_char, sizes, offsets = [], [], [], []
    position = 0
    for var, values in zip(meta.variables, arrays):
        char = var.is_char
        if not char:
            size = NUM_LENGTH
        else:
            longest = int(byte_lengths(values.values).max()) if len(values.codes) else 0
            if lengths is not None and var.name in lengths:
                size = int(lengths[var.name])
            elif var.length is not None:
                size = int(var.length)
            else:
                size = max(1, longest)
            if longest > size:      # never truncate silently (check=False callers)
                raise OutputError(f"{meta.name}.{var.name}: longest value is {longest} bytes, length is {size}; "
                                  "run check_dataset first")
        names.append(var.name)
        is_char.append(char)
        sizes.append(size)
        offsets.append(position)
        position += size
    return _Layout(tuple(names), tuple(is_char), tuple(sizes), tuple(offsets))


def _encode_text(values: np.ndarray, length: int, name: str) -> np.ndarray:
    """(rows, length) uint8 block: ASCII bytes padded with blanks."""
    try:
        data = values.astype(f"S{length}")
    except UnicodeEncodeError as exc:
        raise OutputError(f"variable {name} has non-ASCII text; run check_dataset / transliterate first") from exc
    except (TypeError, ValueError) as exc:
        raise OutputError(f"variable {name} has non-text values; run check_dataset first") from exc
    block = data.view(np.uint8).reshape(len(values), length)
    # numpy pads with NUL; XPT pads with blanks (0x20): NUL | 0x20 == 0x20, other bytes untouched
    np.bitwise_or(block, np.left_shift((block == 0).view(np.uint8), 5), out=block)
    return block


def _observations(arrays: list[np.ndarray | CodedText], layout: _Layout, start: int, stop: int,
                  chunk_rows: int) -> Iterator[memoryview]:
    """Packed observation bytes for rows start..stop, one reused buffer per chunk (cache friendly);
    a character column's distinct values are encoded once and their bytes copied to the rows."""
    buffer = np.empty((min(chunk_rows, max(stop - start, 1)), layout.obs_length), dtype=np.uint8)
    encoded = [_encode_text(values.values, length, name) if char else None
               for values, name, char, length in zip(arrays, layout.names, layout.is_char, layout.lengths)]
    for a in range(start, stop, chunk_rows):
        b = min(stop, a + chunk_rows)
        rows = b - a
        block = buffer[:rows]
        for values, text, name, char, length, offset in zip(
                arrays, encoded, layout.names, layout.is_char, layout.lengths, layout.offsets):
            if char:
                block[:, offset:offset + length] = text[values.codes[a:b]]
            else:
                block[:, offset:offset + 8] = ieee_to_ibm(values[a:b]).view(np.uint8).reshape(rows, 8)
        yield memoryview(block).cast("B")


def _atomic_write(path: Path, pieces: Iterator[bytes | memoryview]) -> int:
    return write_atomic(path, pieces)


def _write(path: Path, meta: XptDataset, arrays: list[np.ndarray | CodedText], layout: _Layout, created: datetime,
           start: int, stop: int, chunk_rows: int) -> XptWriteResult:
    header = _header_bytes(meta, layout, created)
    data_bytes = (stop - start) * layout.obs_length

    def pieces() -> Iterator[bytes | memoryview]:
        yield header
        if layout.obs_length:
            yield from _observations(arrays, layout, start, stop, chunk_rows)
        if data_bytes % RECORD:
            yield b" " * (RECORD - data_bytes % RECORD)

    written = _atomic_write(path, pieces())
    return XptWriteResult(path=path, rows=stop - start, bytes=written,
                          lengths=dict(zip(layout.names, layout.lengths)))


def _prepare(frame: pd.DataFrame, meta: XptDataset, check: bool) -> None:
    _require_name(meta.name)
    if check:
        errors = [f for f in check_dataset(frame, meta) if f.severity is Severity.ERROR]
        if errors:
            raise OutputError(f"{meta.name}: {len(errors)} XPT constraint violations; nothing written", errors)


def write_xpt(path: str | os.PathLike, frame: pd.DataFrame, meta: XptDataset, *,
              created: datetime = DEFAULT_CREATED, check: bool = True,
              chunk_rows: int = _CHUNK_ROWS, coded: Mapping[str, CodedText] | None = None) -> XptWriteResult:
    """Write `frame` as a SAS XPORT v5 file with the variables (order, labels, lengths) of `meta`.

    With check=True (default) check_dataset runs first and any ERROR finding raises OutputError
    carrying all findings; nothing is written then. The file appears atomically.
    `coded`: coded_columns(frame, meta) when the caller has them (shared with the Dataset-JSON writer).
    """
    _prepare(frame, meta, check)
    arrays = _column_arrays(frame, meta, coded)
    layout = _layout(meta, arrays)
    return _write(Path(path), meta, arrays, layout, created, 0, len(frame), chunk_rows)


def expected_size(frame: pd.DataFrame, meta: XptDataset, lengths: Mapping[str, int] | None = None) -> int:
    """Bytes write_xpt would produce for `frame` (without writing)."""
    layout = _layout(meta, _column_arrays(frame, meta), lengths)
    return _size(meta, layout, len(frame))


def _size(meta: XptDataset, layout: _Layout, rows: int) -> int:
    header = len(_header_bytes(meta, layout, DEFAULT_CREATED))
    data = rows * layout.obs_length
    return header + -(-data // RECORD) * RECORD


def split_dataset(path: str | os.PathLike, frame: pd.DataFrame, meta: XptDataset,
                  max_bytes: int = DEFAULT_MAX_BYTES, split_dir: str | os.PathLike | None = None, *,
                  created: datetime = DEFAULT_CREATED, check: bool = True,
                  chunk_rows: int = _CHUNK_ROWS, coded: Mapping[str, CodedText] | None = None) -> list[Path]:
    """Write the full dataset to `path`; when it exceeds `max_bytes`, also write numbered parts.

    Parts go to `split_dir` (default: <folder of path>/split) as <name>1.xpt, <name>2.xpt, ...; each is
    at most `max_bytes`, no row is broken across parts, and every part carries the same metadata
    (dataset name, labels and the full dataset's variable lengths). Returns the part paths (empty
    when no split is needed).
    """
    _prepare(frame, meta, check)
    path = Path(path)
    arrays = _column_arrays(frame, meta, coded)
    layout = _layout(meta, arrays)
    _write(path, meta, arrays, layout, created, 0, len(frame), chunk_rows)
    total = _size(meta, layout, len(frame))
    if total <= max_bytes:
        return []
    header = _size(meta, layout, 0)
    room = (max_bytes - header) // RECORD * RECORD
    rows_per_part = room // layout.obs_length if layout.obs_length else 0
    if rows_per_part < 1:
        raise OutputError(f"{meta.name}: max_bytes={max_bytes} cannot hold the header and one row "
                          f"({header} + {layout.obs_length} bytes)")
    folder = Path(split_dir) if split_dir is not None else path.parent / "split"
    stem = meta.name.lower()
    parts = []
    for number, start in enumerate(range(0, len(frame), rows_per_part), start=1):
        stop = min(len(frame), start + rows_per_part)
        part = folder / f"{stem}{number}.xpt"
        _write(part, meta, arrays, layout, created, start, stop, chunk_rows)
        parts.append(part)
    return parts
