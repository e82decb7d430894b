"""The rule catalogue: validation/rules.yaml read into typed, frozen objects.

Severities, message templates and parameters are data; this module only reads and checks them
(unknown check names, unknown severities and missing keys fail here, with the YAML line).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from cdisc_dpn.errors import Finding, Severity, SpecError
from cdisc_dpn.spec.yamlsafe import YamlProblem, load_yaml_with_lines

#: The conformance rules ship inside the package so an installed tool finds them.
VALIDATION_DIR = Path(__file__).resolve().parent  # the repo's validation/rules.yaml links to this copy
DEFAULT_RULES = VALIDATION_DIR / "rules.yaml"
DEFAULT_MAX_ROWS = 50


@dataclass(frozen=True)
class ExpectationRule:
    """Severity and wording of one kind of generated expectation."""

    id: str
    severity: Severity
    message: str
    description: str
    line: int | None = None


@dataclass(frozen=True)
class ConformanceRule:
    id: str
    check: str
    severity: Severity
    message: str
    description: str
    params: Mapping[str, Any] = field(default_factory=dict)
    line: int | None = None
    open_rules: tuple[str, ...] = ()     # CDISC Open Rules that check the same thing (one is kept)


@dataclass(frozen=True)
class Catalogue:
    file: str
    expectations: Mapping[str, ExpectationRule]
    rules: tuple[ConformanceRule, ...]
    max_rows: int = DEFAULT_MAX_ROWS

    def expectation(self, rule_id: str) -> ExpectationRule:
        return self.expectations[rule_id]

    def describe(self, rule_id: str) -> tuple[Severity | None, str]:
        if rule_id in self.expectations:
            e = self.expectations[rule_id]
            return e.severity, e.description
        for r in self.rules:
            if r.id == rule_id:
                return r.severity, r.description
        return None, ""


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, fields: Mapping[str, Any]) -> str:
    """Fill a message template; unknown placeholders become empty, never an exception."""
    try:
        return template.format_map(_Blank(fields))
    except (ValueError, IndexError, AttributeError, KeyError):
        return template


def _problem(file: str, line: int | None, message: str) -> Finding:
    return Finding(code="VAL-RULES", severity=Severity.ERROR, stage="validate", message=message, file=file,
                   spec_line=line, fix="correct validation/rules.yaml")


def _severity(value: Any) -> Severity | None:
    try:
        return Severity(str(value).lower())
    except ValueError:
        return None


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read and check the rules file; raise SpecError listing every problem."""
    path = Path(path) if path is not None else DEFAULT_RULES
    return _load(str(path.resolve()))


@lru_cache(maxsize=8)
def _load(path: str) -> Catalogue:
    from cdisc_dpn.validation.conformance import CHECKS   # catalogue of check functions

    display = path
    try:
        data = load_yaml_with_lines(Path(path))
    except FileNotFoundError:
        raise SpecError(f"{display}: rules file not found", [_problem(display, None, "rules file not found")]) from None
    except YamlProblem as exc:
        raise SpecError(f"{display}: {exc}", [_problem(display, exc.line, str(exc))]) from None
    problems: list[Finding] = []
    if not isinstance(data, dict):
        raise SpecError(f"{display}: not a mapping", [_problem(display, None, "the rules file must be a mapping")])
    expectations: dict[str, ExpectationRule] = {}
    exp_block = data.get("expectations") or {}
    for rule_id, body in exp_block.items():
        line = exp_block.line_of(rule_id) if hasattr(exp_block, "line_of") else None
        sev = _severity(body.get("severity")) if isinstance(body, dict) else None
        if sev is None or not isinstance(body.get("message"), str):
            problems.append(_problem(display, line, f"expectation {rule_id}: needs severity "
                                     f"(error|warning|notice) and message"))
            continue
        expectations[rule_id] = ExpectationRule(rule_id, sev, body["message"], str(body.get("description", "")), line)
    rules: list[ConformanceRule] = []
    seen: set[str] = set()
    for body in data.get("rules") or []:
        line = getattr(body, "line", None)
        if not isinstance(body, dict):
            problems.append(_problem(display, line, "a rule must be a mapping"))
            continue
        rule_id = str(body.get("id", ""))
        sev = _severity(body.get("severity"))
        check = body.get("check")
        missing = [k for k in ("id", "check", "severity", "message") if not body.get(k)]
        if missing:
            problems.append(_problem(display, line, f"rule {rule_id or '?'}: missing {', '.join(missing)}"))
            continue
        if sev is None:
            problems.append(_problem(display, line, f"rule {rule_id}: unknown severity {body.get('severity')!r}"))
            continue
        if check not in CHECKS:
            problems.append(_problem(display, line, f"rule {rule_id}: unknown check {check!r}; known checks: "
                                     f"{', '.join(sorted(CHECKS))}"))
            continue
        if rule_id in seen or rule_id in expectations:
            problems.append(_problem(display, line, f"rule id {rule_id} used twice"))
            continue
        unknown_open = [i for i in body.get("open_rules") or () if not _is_open_rule(str(i))]
        if unknown_open:
            problems.append(_problem(display, line, f"rule {rule_id}: open_rules names unknown CDISC Open Rule(s) "
                                     f"{', '.join(map(str, unknown_open))}"))
            continue
        seen.add(rule_id)
        rules.append(ConformanceRule(rule_id, check, sev, body["message"], str(body.get("description", "")),
                                     dict(body.get("params") or {}), line,
                                     tuple(str(x) for x in body.get("open_rules") or ())))
    if problems:
        raise SpecError(f"{display}: {len(problems)} problem(s) in the validation rules", problems)
    return Catalogue(display, expectations, tuple(rules), int(data.get("max_rows_listed") or DEFAULT_MAX_ROWS))


def with_severities(catalogue: Catalogue, overrides: Mapping[str, str]) -> Catalogue:
    """The catalogue with a study's own severities for some rules (study.yaml `validation: severity:`).

    Unknown rule ids raise KeyError with the ids, so a typo is never silently ignored.
    """
    if not overrides:
        return catalogue
    known = set(catalogue.expectations) | {r.id for r in catalogue.rules}
    unknown = sorted(i for i in set(overrides) - known if not _is_open_rule(i))
    if unknown:
        raise KeyError(", ".join(unknown))
    overrides = {k: v for k, v in overrides.items() if k in known}
    expectations = {k: replace(e, severity=Severity(overrides[k])) if k in overrides else e
                    for k, e in catalogue.expectations.items()}
    rules = tuple(replace(r, severity=Severity(overrides[r.id])) if r.id in overrides else r for r in catalogue.rules)
    return replace(catalogue, expectations=expectations, rules=rules)


def _is_open_rule(rule_id: str) -> bool:
    """CDISC Open Rule ids (CORE-NNNNNN) of the shipped rules may carry a study severity too."""
    from cdisc_dpn.validation.open_rules.rulebook import SHIPPED_RULES

    return rule_id.startswith("CORE-") and (SHIPPED_RULES / rule_id / "rule.yml").is_file()
