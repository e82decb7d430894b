"""Conformance checks named by validation/rules.yaml, by theme.

A check receives a CheckContext and the rule's params and returns Violations: per dataset and
variable, a frame of the failing records (row = 0-based position in the dataset, -1 for
dataset-level problems; usubjid; value; and the fields the rule's message template names).
Checks are vectorised with pandas: no loop over records, only over datasets and variables.
Checks never decide severity or wording; the rule does.

Layers: columns (value helpers) -> base (context, violation, @check) -> the themes (subjects, dates,
findings, supp, trial_summary, define) -> CHECKS, the catalogue built here from the themes listed.
"""
from __future__ import annotations

from . import dates, define, findings, subjects, supp, trial_summary
from .base import Check, CheckContext, DefineMetadata, DefineVariable, Violation

#: the theme modules, in the order their checks are listed
THEMES = (subjects, dates, findings, supp, trial_summary, define)


def _catalogue() -> dict[str, Check]:
    found: dict[str, Check] = {}
    for module in THEMES:
        for value in vars(module).values():
            declared = getattr(value, "check", None)
            if isinstance(declared, Check) and declared.function is value:
                if declared.name in found:
                    raise ValueError(f"check {declared.name!r} declared twice")
                found[declared.name] = declared
    return found


CHECKS: dict[str, Check] = _catalogue()

__all__ = ["CHECKS", "Check", "CheckContext", "DefineMetadata", "DefineVariable", "THEMES", "Violation"]
