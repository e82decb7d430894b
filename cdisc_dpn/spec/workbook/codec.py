"""Cell codecs of the spec workbook: formula-safe text, JSON parameters, lists, typed cells and the
column description (Col) that says how a record key becomes a cell and back."""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from typing import Any, Iterable


from cdisc_dpn.xlsx import looks_like_formula


# =========================================================================== cell codecs
def neutralise(value: Any) -> Any:
    """Text a spreadsheet could take for a formula gets a leading quote (reversible).

    An empty text (which differs from no value, e.g. `idvar: ""`) is written as a lone quote.
    """
    if isinstance(value, str) and (value == "" or value.startswith("'") or looks_like_formula(value)):
        return "'" + value
    return value


def restore(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("'"):
        return value[1:]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, _dt.date):
        return {"$date": value.isoformat()}
    raise TypeError(f"cannot store {type(value).__name__} in the workbook")


def _json_hook(obj: dict) -> Any:
    if len(obj) == 1 and "$date" in obj:
        return _dt.date.fromisoformat(obj["$date"])
    if len(obj) == 1 and "$datetime" in obj:
        return _dt.datetime.fromisoformat(obj["$datetime"])
    return obj


def to_json(value: Any) -> str:
    """Canonical JSON (sorted keys, no blanks) for nested values such as algorithm parameters."""
    return json.dumps(plain(value), sort_keys=True, ensure_ascii=False, separators=(", ", ": "),
                      default=_json_default)


def from_json(text: str) -> Any:
    return json.loads(text, object_hook=_json_hook)


def list_cell(values: Iterable[str]) -> str:
    """Names joined by ", "; JSON when a value would not survive the split."""
    values = [str(v) for v in values]
    if not values or any("," in v or v != v.strip() or v == "" for v in values) or values[0].startswith("["):
        return to_json(values)
    return ", ".join(values)


def list_value(cell: Any) -> list[str]:
    text = str(cell)
    if text.startswith("["):
        return [str(v) for v in from_json(text)]
    return [v.strip() for v in text.split(",")]


def plain(value: Any) -> Any:
    """LineDict/LineList/tuples -> plain dict/list (yaml.safe_dump and json need exact types)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Col:
    header: str
    key: str | None           # dotted key in the YAML-shaped record; None = shown on export only
    kind: str = "text"        # text | int | float | bool | list | json
    width: int | None = None


def get_key(record: dict, key: str) -> Any:
    node: Any = record
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def set_key(record: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    node = record
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def encode_cell(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "json":
        return to_json(value)
    if kind == "list":
        return list_cell(value if isinstance(value, (list, tuple)) else [value])
    if kind == "bool":
        return "Yes" if value else "No"
    if kind in ("int", "float"):
        return value
    return str(value)


class BadCell(Exception):
    pass


def decode_cell(cell: Any, kind: str) -> Any:
    try:
        if kind == "json":
            return from_json(str(cell))
        if kind == "list":
            return list_value(cell)
        if kind == "bool":
            text = str(cell).strip().lower()
            if text not in ("yes", "no", "true", "false", "y", "n"):
                raise ValueError(f"expected Yes or No, found {cell!r}")
            return text in ("yes", "true", "y")
        if kind == "int":
            number = float(cell)
            if number != int(number):
                raise ValueError(f"expected a whole number, found {cell!r}")
            return int(number)
        if kind == "float":
            number = float(cell)
            return int(number) if number.is_integer() and not isinstance(cell, float) else number
        return str(cell)
    except (ValueError, TypeError) as exc:
        raise BadCell(str(exc)) from None


def row_of(record: dict, cols: tuple[Col, ...], extra: dict | None = None) -> list[Any]:
    extra = extra or {}
    return [extra[c.header] if c.header in extra else encode_cell(get_key(record, c.key), c.kind) if c.key else None
            for c in cols]

