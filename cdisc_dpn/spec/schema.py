"""Structural checks of spec documents against the shipped JSON Schema (spec-schema.json).

The schema is also usable in an editor (yaml-language-server: $schema=...). Its per-algorithm
parameter definitions are generated from the algorithm catalogue's typed models (`render_schema`,
written by `python -m cdisc_dpn.derive.catalogue`); the structural check leaves them out, because
`spec check` checks parameters against the same models with a message and line per mistake.
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


#: The generated $defs: per algorithm `params_<name>` (the `params:` mapping) and `inline_<name>` (the
#: `algorithm: {name: x, ...}` form), and the two dispatchers the hand-written part refers to.
PARAMS_DEFS = "algorithm_params"
INLINE_DEFS = "algorithm_inline"
_GENERATED = ("params_", "inline_")


def _is_generated(key: str) -> bool:
    return key in (PARAMS_DEFS, INLINE_DEFS) or key.startswith(_GENERATED)


def render_schema(schema: dict, algorithms) -> dict:
    """`schema` with its generated parameter definitions made anew from the catalogue's models."""
    defs = {k: v for k, v in schema["$defs"].items() if not _is_generated(k)}
    sibling, inline = [], []
    for name, algorithm in sorted(algorithms.items()):
        model = getattr(algorithm, "params", None)
        if model is None:
            continue
        params = model.schema()
        params["description"] = f"parameters of {name}: {algorithm.summary}".strip()
        defs[f"params_{name}"] = params
        defs[f"inline_{name}"] = {**params, "properties": {"name": {"const": name}, **params["properties"]},
                                  "required": ["name", *params.get("required", [])]}
        then: dict = {"properties": {"params": {"$ref": f"#/$defs/params_{name}"}}}
        if params.get("required") or params.get("oneOf") or params.get("allOf"):
            then["required"] = ["params"]
        sibling.append({"if": {"properties": {"algorithm": {"const": name}}, "required": ["algorithm"]},
                        "then": then})
        inline.append({"if": {"properties": {"name": {"const": name}}, "required": ["name"]},
                       "then": {"$ref": f"#/$defs/inline_{name}"}})
    defs[PARAMS_DEFS] = {"description": "generated: `params:` of the algorithm named by `algorithm:`", "allOf": sibling}
    defs[INLINE_DEFS] = {"description": "generated: `algorithm: {name: x, ...}`, the parameters beside the name",
                         "allOf": inline}
    return {**schema, "$defs": defs}


def schema_text(schema: dict) -> str:
    """The schema as the shipped file holds it (sorted keys, one-space indent)."""
    return json.dumps(schema, indent=1, sort_keys=True) + "\n"


def check_structure(doc: Any, kind: str, file: str) -> list[Finding]:
    """Validate one parsed YAML document of `kind` (study, dataset, terminology, units)."""
    schema = load_schema()
    defs = {k: ({} if k in (PARAMS_DEFS, INLINE_DEFS) else v) for k, v in schema["$defs"].items()
            if not k.startswith(_GENERATED)}     # parameters: checked against the models, at their lines
    sub = {"$ref": f"#/$defs/{kind}_file", "$defs": defs}
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
