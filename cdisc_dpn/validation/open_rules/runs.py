"""Open Rules inside a validation run: which rules run on a study, and why the others do not.

A rule does not run when the engine does not support it, when its authorities do not list the
study's SDTMIG version, or when the study declares it not applicable (study.yaml
`validation: not_applicable: {CORE-NNNNNN: reason}`); each case is kept with its reason.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from cdisc_dpn.validation.open_rules.engine import RuleRun, run_rules
from cdisc_dpn.validation.open_rules.rulebook import RuleProblem, load_rulebook
from cdisc_dpn.validation.open_rules.study import StudyData


@dataclass(frozen=True)
class OpenRulesConfig:
    enabled: bool = True
    folder: Path | None = None                      # None: the SDTMIG rules shipped with cdisc-dpn
    ids: tuple[str, ...] = ()                       # run only these (CORE-NNNNNN or CDISC ids such as CG0176)
    not_applicable: Mapping[str, str] = field(default_factory=dict)   # rule id -> why it does not apply


@dataclass
class OpenRulesOutcome:
    runs: list[RuleRun]
    problems: list[RuleProblem]
    not_run: dict[str, str]                         # rule id -> reason (unsupported, other version, not applicable)
    source: str
    seconds: float = 0.0

    def ran(self, rule_id: str) -> bool:
        return any(r.rule.id == rule_id and r.status == "ran" for r in self.runs)

    def summary(self) -> dict[str, Any]:
        ran = [r for r in self.runs if r.status == "ran"]
        return {"source": self.source, "rules_run": len(ran),
                "rules_with_findings": sum(1 for r in ran if r.hits),
                "not_run": dict(sorted(self.not_run.items())),
                "load_problems": {p.rule_id or str(p.path): p.message for p in self.problems},
                "engine_errors": {r.rule.id: dict(sorted(r.errors.items())) for r in ran if r.errors}}


def run_open_rules(config: OpenRulesConfig, study: StudyData) -> OpenRulesOutcome:
    started = time.perf_counter()
    full = load_rulebook(config.folder)
    book = full.select(list(config.ids))
    known = {r.id for r in full.rules}
    for rule_id in sorted(set(config.not_applicable) - known):     # a typo must not pass silently
        book.problems.append(RuleProblem(full.folder, rule_id, f"validation: not_applicable names {rule_id}, "
                                         f"which is not a rule of {full.folder}"))
    runnable, not_run = [], {}
    for rule in book.rules:
        if rule.id in config.not_applicable:
            not_run[rule.id] = f"not applicable to this study: {config.not_applicable[rule.id]}"
        elif rule.unsupported:
            not_run[rule.id] = f"not supported: {rule.unsupported}"
        elif not rule.applies_to(study.product, study.version):
            not_run[rule.id] = f"does not apply to {study.product} {study.version}"
        else:
            runnable.append(rule)
    runs = run_rules(runnable, study)
    return OpenRulesOutcome(runs, list(book.problems), not_run, book.source, time.perf_counter() - started)
