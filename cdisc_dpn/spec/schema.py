"""Structural checks of spec documents against the shipped JSON Schema (spec-schema.json).

The schema is also usable in an editor (yaml-language-server: $schema=...).
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema

from cdisc_dpn.errors import Finding, Severity
from cdisc_dpn.spec.yamlsafe import LineDict, LineList

SCHEMA_FILE = "spec-schema.json"


@lru_cache(maxsize=1)
def load_schema() -> dict:
    return json.loads(resources.files("cdisc_dpn.spec").joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


def _line_at(doc: Any, path: list) -> int | None:
    """Walk the error path through LineDict/LineList to the nearest known line."""
    line = getattr(doc, "line", None)
    node = doc
    for part in path:
        if isinstance(node, LineDict) and part in node:
            line = node.line_of(part)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
    return line


def _plain(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: _plain(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_plain(v) for v in doc]
    return doc


def check_structure(doc: Any, kind: str, file: str) -> list[Finding]:
    """Validate one parsed YAML document of `kind` (study, dataset, terminology, units)."""
    schema = load_schema()
    sub = {"$ref": f"#/$defs/{kind}_file", "$defs": schema["$defs"]}
    validator = jsonschema.Draft202012Validator(sub)
    findings = []
    for err in sorted(validator.iter_errors(_plain(doc)), key=lambda e: [str(p) for p in e.absolute_path]):
        path = list(err.absolute_path)
        where = "/".join(str(p) for p in path) or "(top level)"
        if err.validator == "additionalProperties":
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            allowed = ", ".join(sorted(err.schema.get("properties", {})))
            for key in extra:
                findings.append(Finding("SPEC-UNKNOWN-KEY", Severity.ERROR, f"unknown key '{key}' at {where}",
                                        stage="spec", file=file, spec_line=_line_at(doc, path + [key]),
                                        fix=f"allowed keys here: {allowed}"))
            continue
        findings.append(Finding("SPEC-SCHEMA", Severity.ERROR, f"{where}: {err.message}", stage="spec",
                                file=file, spec_line=_line_at(doc, path),
                                fix="see docs/spec-format.md for the expected shape"))
    return findings
