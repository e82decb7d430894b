"""The catalogue of conversion finding codes (finding_codes.yaml), read into typed records.

Codes stay literals at their call sites (a grep finds the emitter); this catalogue says what each one
means, how severe it usually is and what the user does about it, so the reports, docs/findings.md and
the tests read one source. Validation rule ids live in validation/rules.yaml and the Open Rules files.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from cdisc_dpn.errors import Severity

CATALOGUE_FILE = Path(__file__).with_name("finding_codes.yaml")
FINDINGS_PAGE = "docs/findings.md"      # generated from this catalogue (python -m cdisc_dpn.findings_doc)

#: Stages in the order a run meets them; docs/findings.md groups the codes in this order.
STAGES = ("read", "spec", "map", "derive", "ledger", "write", "define", "validate", "run", "compare")
CODE_PATTERN = re.compile(r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+")
_KEYS = {"stage", "severity", "meaning", "fix", "doc"}
_REQUIRED = ("stage", "severity", "meaning", "fix")


@dataclass(frozen=True)
class FindingCode:
    code: str
    stage: str
    severity: Severity          # the usual severity; a call site may say otherwise in its message
    meaning: str                # one sentence, shown in the reports' Rules tables
    fix: str                    # what the user does about it
    doc: str | None = None      # further reading: "<path from the repository root>#<anchor>"

    @property
    def documented_at(self) -> str:
        """Where the code is documented: its row of docs/findings.md."""
        return f"{FINDINGS_PAGE}#{anchor(self.code)}"


def anchor(code: str) -> str:
    """The id of a code's row in docs/findings.md (the code in lower case)."""
    return code.lower()


class CatalogueError(ValueError):
    """The catalogue file itself is malformed (a defect of the package, caught by the tests)."""


def parse_finding_codes(data: object, source: str = str(CATALOGUE_FILE)) -> dict[str, FindingCode]:
    """Check every entry and build the records; all problems are reported together."""
    if not isinstance(data, dict):
        raise CatalogueError(f"{source}: expected a mapping of finding codes")
    problems: list[str] = []
    codes: dict[str, FindingCode] = {}
    for code, body in data.items():
        code = str(code)
        if not CODE_PATTERN.fullmatch(code):
            problems.append(f"{code}: not a finding code (UPPER-CASE words joined by '-')")
            continue
        if not isinstance(body, dict):
            problems.append(f"{code}: expected a mapping with {', '.join(_REQUIRED)}")
            continue
        unknown = sorted(set(map(str, body)) - _KEYS)
        missing = [k for k in _REQUIRED if not str(body.get(k) or "").strip()]
        if unknown:
            problems.append(f"{code}: unknown key(s) {', '.join(unknown)}")
        if missing:
            problems.append(f"{code}: missing {', '.join(missing)}")
        if unknown or missing:
            continue
        if body["stage"] not in STAGES:
            problems.append(f"{code}: stage {body['stage']!r} is not one of {', '.join(STAGES)}")
            continue
        try:
            severity = Severity(str(body["severity"]))
        except ValueError:
            problems.append(f"{code}: severity {body['severity']!r} is not error, warning or notice")
            continue
        codes[code] = FindingCode(code, str(body["stage"]), severity, " ".join(str(body["meaning"]).split()),
                                  " ".join(str(body["fix"]).split()), str(body["doc"]) if body.get("doc") else None)
    if problems:
        raise CatalogueError(f"{source}: " + "; ".join(problems))
    return codes


@lru_cache(maxsize=1)
def finding_codes() -> Mapping[str, FindingCode]:
    """The package's catalogue, read once."""
    return parse_finding_codes(load_catalogue_yaml(CATALOGUE_FILE.read_text(encoding="utf-8")))


def code_description(code: str) -> str:
    """What a conversion finding code means (cdisc_dpn/finding_codes.yaml); "" when not described."""
    entry = finding_codes().get(code)
    return entry.meaning if entry is not None else ""


def load_catalogue_yaml(text: str) -> object:
    """Safe YAML whose mappings refuse a repeated key (a second entry for a code must not hide the first)."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    def mapping(loader: _Loader, node: yaml.MappingNode) -> dict:
        keys = [loader.construct_object(k) for k, _ in node.value]
        repeated = sorted({str(k) for k in keys if keys.count(k) > 1})
        if repeated:
            raise CatalogueError(f"{CATALOGUE_FILE.name} line {node.start_mark.line + 1}: "
                                 f"key(s) given twice: {', '.join(repeated)}")
        return {k: loader.construct_object(v, deep=True) for k, (_, v) in zip(keys, node.value)}

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
