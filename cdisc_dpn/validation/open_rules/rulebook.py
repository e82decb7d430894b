"""Load CDISC Open Rules (rule.yml, CORE rule language) into typed rules, checked against a schema.

A rule that cannot be loaded (bad YAML, schema violation) becomes a `RuleProblem`; a rule that
loads but uses an operator or operation this engine does not implement is kept with the reason in
`unsupported`, so callers report it instead of skipping it silently.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

#: libyaml's safe loader when available (30x faster on 331 rules), else PyYAML's; both are safe loaders.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: The SDTMIG subset of the CDISC Open Rules, shipped as data (see rules/SOURCE.md and LICENSE).
SHIPPED_RULES = Path(__file__).resolve().parent / "rules"
SCHEMA_FILE = Path(__file__).resolve().parent / "rule.schema.json"


@dataclass(frozen=True)
class Standard:
    name: str                        # SDTMIG, SENDIG, TIG ...
    version: str                     # "3.4"
    rule_ids: tuple[str, ...]        # CDISC/FDA rule ids, e.g. CG0176


@dataclass(frozen=True)
class OpenRule:
    id: str                          # CORE-000001
    path: Path
    description: str
    executability: str
    rule_type: str
    sensitivity: str                 # Record | Dataset
    standards: tuple[Standard, ...]
    classes_include: tuple[str, ...]
    classes_exclude: tuple[str, ...]
    domains_include: tuple[str, ...]
    domains_exclude: tuple[str, ...]
    match_datasets: tuple[dict, ...]
    operations: tuple[dict, ...]
    check: dict
    message: str
    output_variables: tuple[str, ...]
    unsupported: str = ""            # why the engine cannot run this rule ("" when it can)

    @property
    def authority_ids(self) -> tuple[str, ...]:
        """CDISC/FDA ids (CG0176 ...) for SDTMIG, in first-seen order."""
        seen: dict[str, None] = {}
        for s in self.standards:
            if s.name.upper() == "SDTMIG":
                for i in s.rule_ids:
                    seen.setdefault(i, None)
        return tuple(seen)

    @property
    def fully_executable(self) -> bool:
        return self.executability == "Fully Executable"

    def applies_to(self, product: str, version: str) -> bool:
        """True if the rule's authorities list this standard version (3-4 and 3.4 are the same)."""
        want_v = version.replace("-", ".")
        return any(s.name.upper() == product.upper() and s.version.replace("-", ".") == want_v
                   for s in self.standards)


@dataclass(frozen=True)
class RuleProblem:
    path: Path
    rule_id: str
    message: str


@dataclass
class RuleBook:
    folder: Path
    rules: list[OpenRule] = field(default_factory=list)
    problems: list[RuleProblem] = field(default_factory=list)
    source: str = ""                 # commit / provenance line from SOURCE.md when present

    def select(self, ids: list[str] | None) -> "RuleBook":
        """Only the named rules (CORE ids or CDISC ids such as CG0176); unknown names are problems."""
        if not ids:
            return self
        wanted = {i.strip().upper() for i in ids if i.strip()}
        keep = [r for r in self.rules if r.id in wanted or wanted & set(r.authority_ids)]
        found = {r.id for r in keep} | {a for r in keep for a in r.authority_ids}
        problems = list(self.problems) + [RuleProblem(self.folder, w, f"no rule {w} in {self.folder}")
                                          for w in sorted(wanted - found)]
        return RuleBook(self.folder, keep, problems, self.source)


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def _text(v: Any) -> str:
    return "" if v is None else str(v)


def _standards(authorities: list[dict]) -> tuple[Standard, ...]:
    out = []
    for auth in authorities:
        for s in auth.get("Standards") or []:
            ids = []
            for ref in s.get("References") or []:
                rid = (ref.get("Rule Identifier") or {}).get("Id")
                if rid:
                    ids.append(str(rid))
            out.append(Standard(_text(s.get("Name")), _text(s.get("Version")), tuple(ids)))
    return tuple(out)


def _walk_operators(node: Any) -> list[str]:
    if isinstance(node, dict):
        ops = [node["operator"]] if "operator" in node else []
        for k in ("all", "any"):
            for child in node.get(k) or []:
                ops += _walk_operators(child)
        if "not" in node:
            ops += _walk_operators(node["not"])
        return ops
    if isinstance(node, list):
        return [o for n in node for o in _walk_operators(n)]
    return []


def _unsupported_reason(raw: dict) -> str:
    from cdisc_dpn.validation.open_rules.operations import OPERATIONS
    from cdisc_dpn.validation.open_rules.operators import OPERATORS
    from cdisc_dpn.validation.open_rules.engine import RULE_TYPES

    if raw.get("Rule Type") not in RULE_TYPES:
        return f"rule type {raw.get('Rule Type')!r} is not implemented"
    missing_ops = sorted({o for o in _walk_operators(raw.get("Check")) if o not in OPERATORS})
    if missing_ops:
        return "operator(s) not implemented: " + ", ".join(missing_ops)
    missing = sorted({str(o.get("operator")) for o in raw.get("Operations") or [] if o.get("operator") not in OPERATIONS})
    if missing:
        return "operation(s) not implemented: " + ", ".join(missing)
    for m in raw.get("Match Datasets") or []:
        if m.get("Child") and str(m.get("Name")).upper() not in ("SUPP--", "CO", "RELREC"):
            return "Match Datasets with Child: true is implemented for SUPP--, CO and RELREC only"
        if not m.get("Keys") and m.get("Name") != "RELREC":
            return "Match Datasets without Keys is not implemented"
    return ""


def load_rule(path: Path, check_schema: bool = True) -> OpenRule | RuleProblem:
    """One rule.yml -> OpenRule, or the problem that keeps it from loading."""
    rule_id = path.parent.name
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return RuleProblem(path, rule_id, f"cannot read the rule: {exc}")
    if not isinstance(raw, dict):
        return RuleProblem(path, rule_id, "the rule is not a YAML mapping")
    errors = sorted(_validator().iter_errors(raw), key=lambda e: list(e.absolute_path)) if check_schema else []
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(top)"
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return RuleProblem(path, rule_id, f"does not match the rule schema at {where}: {e.message[:200]}{more}")
    core_id = raw["Core"]["Id"]
    scope = raw.get("Scope") or {}
    classes = scope.get("Classes") or {}
    domains = scope.get("Domains") or {}
    outcome = raw.get("Outcome") or {}
    return OpenRule(
        id=core_id, path=path, description=_text(raw.get("Description")).strip(),
        executability=_text(raw.get("Executability")), rule_type=_text(raw.get("Rule Type")),
        sensitivity=_text(raw.get("Sensitivity")), standards=_standards(raw.get("Authorities") or []),
        classes_include=tuple(c.upper() for c in classes.get("Include") or ["ALL"]),
        classes_exclude=tuple(c.upper() for c in classes.get("Exclude") or []),
        domains_include=tuple(d.upper() for d in domains.get("Include") or ["ALL"]),
        domains_exclude=tuple(d.upper() for d in domains.get("Exclude") or []),
        match_datasets=tuple(raw.get("Match Datasets") or ()), operations=tuple(raw.get("Operations") or ()),
        check=raw["Check"], message=re.sub(r"\s+", " ", _text(outcome.get("Message"))).strip(),
        output_variables=tuple(str(v) for v in outcome.get("Output Variables") or ()),
        unsupported=_unsupported_reason(raw))


def _source_line(folder: Path) -> str:
    for candidate in (folder / "SOURCE.md", folder.parent / "SOURCE.md"):
        if candidate.is_file():
            m = re.search(r"commit\s+([0-9a-f]{7,40})", candidate.read_text(encoding="utf-8"))
            if m:
                return f"cdisc-org/cdisc-open-rules commit {m.group(1)}"
    return ""


def rule_files(folder: Path) -> list[Path]:
    """rule.yml files of a rules folder: FOLDER/CORE-*/rule.yml or FOLDER/rules/CORE-*/rule.yml."""
    if (folder / "rules").is_dir() and not any(folder.glob("CORE-*/rule.yml")):
        folder = folder / "rules"
    return sorted(folder.glob("*/rule.yml"))


def load_rulebook(folder: Path | None = None, *, check_schema: bool | None = None) -> RuleBook:
    """Every rule of a folder (the shipped SDTMIG rules by default), with the ones that failed to load.

    `check_schema`: validate each rule against rule.schema.json; by default every folder but the
    shipped rules, which tests/test_open_rules.py validates (about half of the load time)."""
    folder = Path(folder) if folder is not None else SHIPPED_RULES
    if check_schema is None:
        check_schema = folder.resolve() != SHIPPED_RULES
    book = RuleBook(folder, source=_source_line(folder if (folder / "SOURCE.md").is_file() else folder / "rules"))
    if not book.source:
        book.source = _source_line(folder)
    files = rule_files(folder)
    if not files:
        book.problems.append(RuleProblem(folder, "", "no */rule.yml file in this folder"))
    for path in files:
        loaded = load_rule(path, check_schema)
        (book.problems if isinstance(loaded, RuleProblem) else book.rules).append(loaded)
    return book
