"""CDISC Dataset-JSON 1.1 writer (JSON and NDJSON) and validator, from the same frame + XptDataset as the XPT.

Data types (Define-XML data_type -> Dataset-JSON dataType, JSON value):
  text / None on Char              -> "string", JSON string ("" stays "", missing -> null)
  integer                          -> "integer", JSON integer (a non-integral value is refused)
  float / None on Num              -> "float" (None -> "double"), JSON number written with repr():
                                      the shortest text that reads back as the same IEEE double
  double                           -> "double", JSON number (as above)
  decimal                          -> "decimal" + targetDataType "decimal", JSON string in plain
                                      positional notation (no exponent), exact for the stored double
  date, partialDate                -> "date"; datetime, partialDatetime, incompleteDatetime -> "datetime";
  time, partialTime                -> "time": Char values are the ISO 8601 strings as they are; Num values
                                      (SAS days / seconds since 1960-01-01) become ISO strings with
                                      targetDataType "integer"
  URI                              -> "URI"; boolean -> "boolean"; anything else -> "string"
Missing values are null. Bytes are deterministic: attribute order as in the specification, compact
separators, no clock (the creation date/time comes from the caller).
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import pandas as pd

from cdisc_dpn import __version__
from cdisc_dpn.distinct import first_rows, value_codes
from cdisc_dpn.errors import Finding, OutputError, Severity
from cdisc_dpn.spec.oids import item_group_oid, item_oid
from cdisc_dpn.xpt.checks import byte_lengths, char_values
from cdisc_dpn.xpt.metadata import XptDataset, XptVariable
from cdisc_dpn.xpt.writer import CodedText, _atomic_write

DATASET_JSON_VERSION = "1.1.0"
SCHEMA_FILE = "dataset-json-1-1.schema.json"
_ROWS_PER_CHUNK = 10_000
_SAS_EPOCH = datetime(1960, 1, 1)
_DECIMAL = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")
_DATA_TYPES = {
    "text": "string", "string": "string",
    "integer": "integer",
    "float": "float", "double": "double", "decimal": "decimal",
    "boolean": "boolean",
    "date": "date", "partialdate": "date",
    "datetime": "datetime", "partialdatetime": "datetime", "incompletedatetime": "datetime",
    "time": "time", "partialtime": "time",
    "uri": "URI", "anyuri": "URI",
}
_TEMPORAL = ("date", "datetime", "time")


@dataclass(frozen=True)
class DatasetJsonWriteResult:
    path: Path
    rows: int
    bytes: int


def json_data_type(var: XptVariable) -> str:
    """Dataset-JSON dataType for a variable (see the module docstring)."""
    if var.data_type:
        mapped = _DATA_TYPES.get(var.data_type.lower())
        if mapped is not None:
            return mapped
        return "string"
    return "double" if var.is_num else "string"


def _target_data_type(var: XptVariable, data_type: str) -> str | None:
    if data_type == "decimal":
        return "decimal"
    if data_type in _TEMPORAL and var.is_num:
        return "integer"
    return None


def _column(meta: XptDataset, var: XptVariable, length: int | None) -> dict[str, Any]:
    data_type = json_data_type(var)
    column: dict[str, Any] = {
        "itemOID": item_oid(meta.name, var.name),
        "name": var.name,
        "label": var.label,
        "dataType": data_type,
    }
    target = _target_data_type(var, data_type)
    if target:
        column["targetDataType"] = target
    if var.is_char and length is not None:
        column["length"] = int(length)
    if var.display_format:
        column["displayFormat"] = var.display_format
    if var.key_sequence is not None:
        column["keySequence"] = int(var.key_sequence)
    return column


def _decimal_text(value: float) -> str:
    text = format(Decimal(repr(value)), "f")
    return text


def _sas_temporal(value: float, data_type: str) -> str:
    if data_type == "date":
        return (_SAS_EPOCH + timedelta(days=value)).date().isoformat()
    if data_type == "datetime":
        return (_SAS_EPOCH + timedelta(seconds=value)).isoformat()
    seconds = int(round(value))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _column_values(frame: pd.DataFrame, meta: XptDataset, var: XptVariable) -> list[Any]:
    series = frame[var.name]
    data_type = json_data_type(var)
    if var.is_char:
        missing = series.isna().to_numpy()
        values = char_values(series).tolist()
        for i in np.flatnonzero(missing):
            values[i] = None
        if data_type == "integer":
            return [None if v is None else int(v) for v in values]
        return values
    numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
    nan = np.isnan(numbers)
    if np.isinf(numbers).any():
        raise OutputError(f"{meta.name}.{var.name}: infinite values cannot be written to Dataset-JSON")
    if data_type == "integer":
        fractional = ~nan & (numbers != np.floor(np.where(nan, 0, numbers)))
        if fractional.any():
            rows = (np.flatnonzero(fractional) + 1).tolist()[:10]
            raise OutputError(
                f"{meta.name}.{var.name} is declared integer but has non-integral values (rows {rows})",
                [Finding(code="DSJ-INTEGER", severity=Severity.ERROR, stage="write", dataset=meta.name,
                         variable=var.name, row=rows[0], message="integer variable with a fractional value",
                         fix="declare the variable float/decimal or round it in the derivation")])
        out: list[Any] = [None if isnan else int(v) for v, isnan in zip(numbers.tolist(), nan.tolist())]
        return out
    floats = numbers.tolist()
    if data_type == "decimal":
        return [None if math.isnan(v) else _decimal_text(v) for v in floats]
    if data_type in _TEMPORAL:
        return [None if math.isnan(v) else _sas_temporal(v, data_type) for v in floats]
    if data_type == "boolean":
        return [None if math.isnan(v) else bool(v) for v in floats]
    return [None if math.isnan(v) else v for v in floats]


def _column_json(frame: pd.DataFrame, meta: XptDataset, var: XptVariable,
                 coded: CodedText | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The JSON text of each distinct value of a column (exact codes: same type, same bits) and
    the code of every row (None when every row is distinct and the texts are already per row)."""
    if coded is not None:
        codes, first = coded.codes, coded.first
    else:
        codes = value_codes(frame[var.name])
        first = first_rows(codes)
    if len(first) == len(frame):
        return _texts(_column_values(frame, meta, var)), None
    try:
        values = _column_values(frame[[var.name]].iloc[first], meta, var)
    except OutputError:
        _column_values(frame, meta, var)         # the same refusal, with the rows of the whole column
        raise
    return _texts(values), codes


def _row_cells(columns: list[tuple[np.ndarray, np.ndarray | None]], row_end: str) -> list[np.ndarray]:
    """Every column's per-row texts with the row's punctuation added to the distinct texts: "[" before
    the first cell, "," after each cell but the last, "]" + `row_end` after the last; the rows
    are then the cells joined in row-major order."""
    last = len(columns) - 1
    cells = []
    for j, (texts, codes) in enumerate(columns):
        decorated = np.array([("[" if j == 0 else "") + t + ("]" + row_end if j == last else ",") for t in texts],
                             dtype=object) if len(texts) else texts
        cells.append(decorated if codes is None else decorated.take(codes))
    return cells


def _texts(values: list[Any]) -> np.ndarray:
    texts = np.empty(len(values), dtype=object)
    texts[:] = [_encode_string(v) if type(v) is str else _dumps(v) for v in values]
    return texts


def _lengths(frame: pd.DataFrame, meta: XptDataset) -> dict[str, int]:
    lengths = {}
    for var in meta.variables:
        if var.is_char:
            if var.length is not None:
                lengths[var.name] = int(var.length)
            else:
                values = char_values(frame[var.name])
                lengths[var.name] = max(1, int(byte_lengths(values).max()) if len(values) else 1)
    return lengths


def dataset_json_metadata(frame: pd.DataFrame, meta: XptDataset, *, study_oid: str | None,
                          metadata_version_oid: str | None, created: str,
                          source_system: tuple[str, str] | None = ("cdisc-dpn", __version__),
                          file_oid: str | None = None, originator: str | None = None,
                          db_last_modified: str | None = None, metadata_ref: str | None = None,
                          lengths: dict[str, int] | None = None) -> dict[str, Any]:
    """The top-level object without rows, attributes in specification order."""
    lengths = lengths if lengths is not None else _lengths(frame, meta)
    doc: dict[str, Any] = {
        "datasetJSONCreationDateTime": created,
        "datasetJSONVersion": DATASET_JSON_VERSION,
    }
    if file_oid:
        doc["fileOID"] = file_oid
    if db_last_modified:
        doc["dbLastModifiedDateTime"] = db_last_modified
    if originator:
        doc["originator"] = originator
    if source_system:
        doc["sourceSystem"] = {"name": source_system[0], "version": source_system[1]}
    if study_oid:
        doc["studyOID"] = study_oid
    if metadata_version_oid:
        doc["metaDataVersionOID"] = metadata_version_oid
    if metadata_ref:
        doc["metaDataRef"] = metadata_ref
    doc["itemGroupOID"] = item_group_oid(meta.name)
    doc["records"] = len(frame)
    doc["name"] = meta.name
    doc["label"] = meta.label
    doc["columns"] = [_column(meta, var, lengths.get(var.name)) for var in meta.variables]
    return doc


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
#: what _ENCODER.encode does with a str (the C escaper of the json module), without the dispatch
_encode_string = json.encoder.encode_basestring


def _dumps(value: Any) -> str:
    """json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")), one encoder reused."""
    return _ENCODER.encode(value)


def _rows_text(cells: list[np.ndarray], start: int, stop: int, row_end: str) -> str:
    """Rows start..stop as JSON arrays, each followed by `row_end` (cells from _row_cells): one
    join of the cells in row-major order, no Python loop per row."""
    rows = stop - start
    if not cells:
        return ("[]" + row_end) * rows
    grid = np.empty((rows, len(cells)), dtype=object)
    for j, texts in enumerate(cells):
        grid[:, j] = texts[start:stop]
    return "".join(grid.ravel().tolist())


def write_dataset_json(path: str | os.PathLike, frame: pd.DataFrame, meta: XptDataset, *,
                       study_oid: str | None, metadata_version_oid: str | None, created: str,
                       source_system: tuple[str, str] | None = ("cdisc-dpn", __version__),
                       ndjson: bool = False, file_oid: str | None = None, originator: str | None = None,
                       db_last_modified: str | None = None, metadata_ref: str | None = None,
                       lengths: dict[str, int] | None = None,
                       coded: Mapping[str, CodedText] | None = None) -> DatasetJsonWriteResult:
    """Write `frame` as Dataset-JSON 1.1 (`ndjson=True`: metadata line, then one array per row).

    `created` is the ISO 8601 datasetJSONCreationDateTime chosen by the caller (no clock here).
    `lengths` (e.g. XptWriteResult.lengths) makes the column lengths match the XPT; by default they
    are computed the same way (declared, else longest value in bytes). `coded`: the XPT writer's
    coded_columns of the same frame (each distinct value found once for both files).
    """
    missing = [v.name for v in meta.variables if v.name not in frame.columns]
    if missing:
        raise OutputError(f"{meta.name}: variables not in the data: {', '.join(missing)}")
    doc = dataset_json_metadata(frame, meta, study_oid=study_oid, metadata_version_oid=metadata_version_oid,
                                created=created, source_system=source_system, file_oid=file_oid,
                                originator=originator, db_last_modified=db_last_modified,
                                metadata_ref=metadata_ref, lengths=lengths)
    coded = coded or {}
    columns = [_column_json(frame, meta, var, coded.get(var.name)) for var in meta.variables]
    rows = len(frame)

    cells = _row_cells(columns, "\n" if ndjson else ",")
    del columns

    def pieces() -> Iterator[bytes]:
        if ndjson:
            yield (_dumps(doc) + "\n").encode("utf-8")
            for start in range(0, rows, _ROWS_PER_CHUNK):
                yield _rows_text(cells, start, min(rows, start + _ROWS_PER_CHUNK), "\n").encode("utf-8")
            return
        head = _dumps(doc)
        yield (head[:-1] + ',"rows":[').encode("utf-8")
        for start in range(0, rows, _ROWS_PER_CHUNK):
            text = _rows_text(cells, start, min(rows, start + _ROWS_PER_CHUNK), ",")
            yield (text[:-1] if start + _ROWS_PER_CHUNK >= rows else text).encode("utf-8")
        yield b"]}\n"

    path = Path(path)
    written = _atomic_write(path, pieces())
    return DatasetJsonWriteResult(path=path, rows=rows, bytes=written)


# --------------------------------------------------------------------------------------------
# validation


def load_schema() -> dict[str, Any]:
    text = resources.files("cdisc_dpn.xpt").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def _problem(code: str, message: str, path: Path, fix: str, **where) -> Finding:
    return Finding(code=code, severity=Severity.ERROR, message=message, stage="validate",
                   file=str(path), fix=fix, **where)


def read_dataset_json(path: str | os.PathLike) -> dict[str, Any]:
    """The Dataset-JSON document (NDJSON joined into the JSON structure). Raises ValueError if unparsable."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".ndjson":
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            raise ValueError("empty NDJSON file")
        doc = json.loads(lines[0])
        if not isinstance(doc, dict):
            raise ValueError("first NDJSON line is not the metadata object")
        doc["rows"] = [json.loads(line) for line in lines[1:]]
        return doc
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("top level is not a JSON object")
    return doc


def _value_ok(value: Any, data_type: str, target: str | None) -> bool:
    if value is None:
        return True
    if data_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if data_type in ("float", "double"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if data_type == "boolean":
        return isinstance(value, bool)
    if data_type == "decimal":
        return isinstance(value, str) and _DECIMAL.fullmatch(value.replace(",", "")) is not None
    return isinstance(value, str)


def validate_dataset_json(path: str | os.PathLike) -> list[Finding]:
    """Schema errors plus the rules the schema cannot express; empty when the file is valid.

    DSJ-PARSE file unreadable; DSJ-SCHEMA schema violation; DSJ-ROW-LENGTH row length != columns;
    DSJ-RECORDS records != number of rows; DSJ-ITEMOID-DUP / DSJ-NAME-DUP duplicate column;
    DSJ-VALUE-TYPE value not of the column's dataType; DSJ-DATES dbLastModifiedDateTime after creation.
    """
    import jsonschema

    path = Path(path)
    try:
        doc = read_dataset_json(path)
    except (OSError, ValueError) as exc:
        return [_problem("DSJ-PARSE", f"cannot read Dataset-JSON: {exc}", path, "write valid JSON / NDJSON")]
    findings: list[Finding] = []
    validator = jsonschema.Draft202012Validator(load_schema())
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        findings.append(_problem("DSJ-SCHEMA", f"{where}: {error.message}", path,
                                 "follow the Dataset-JSON 1.1 structure", extra={"path": where}))
    columns = doc.get("columns") if isinstance(doc.get("columns"), list) else []
    columns = [c for c in columns if isinstance(c, dict)]
    dataset = doc.get("name") if isinstance(doc.get("name"), str) else None
    for key, code in (("itemOID", "DSJ-ITEMOID-DUP"), ("name", "DSJ-NAME-DUP")):
        seen: set[Any] = set()
        for column in columns:
            value = column.get(key)
            if value in seen:
                findings.append(_problem(code, f"column {key} {value!r} appears more than once", path,
                                         f"give every column a unique {key}", dataset=dataset))
            seen.add(value)
    rows = doc.get("rows")
    records = doc.get("records")
    if isinstance(rows, list):
        if isinstance(records, int) and records != len(rows):
            findings.append(_problem("DSJ-RECORDS", f"records is {records} but there are {len(rows)} rows", path,
                                     "set records to the number of rows", dataset=dataset))
        types = [(c.get("name"), c.get("dataType"), c.get("targetDataType")) for c in columns]
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, list):
                continue
            if len(row) != len(columns):
                findings.append(_problem("DSJ-ROW-LENGTH", f"row has {len(row)} values for {len(columns)} columns",
                                         path, "write one value per column", dataset=dataset, row=number))
            for value, (name, data_type, target) in zip(row, types):
                if isinstance(data_type, str) and not _value_ok(value, data_type, target):
                    findings.append(_problem(
                        "DSJ-VALUE-TYPE", f"value {value!r} does not match dataType {data_type}", path,
                        "write the value with the JSON type the dataType requires",
                        dataset=dataset, variable=name, row=number, value=repr(value)[:60]))
    created, modified = doc.get("datasetJSONCreationDateTime"), doc.get("dbLastModifiedDateTime")
    if isinstance(created, str) and isinstance(modified, str) and modified[:19] > created[:19]:
        findings.append(_problem("DSJ-DATES", f"dbLastModifiedDateTime {modified} is after the creation {created}",
                                 path, "dbLastModifiedDateTime must be on or before datasetJSONCreationDateTime",
                                 dataset=dataset))
    return findings
