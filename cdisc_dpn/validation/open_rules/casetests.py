"""`cdisc-dpn rules test`: run each rule's positive/negative test cases and compare the flagged
(dataset, record) pairs with results/results.csv; a table per rule, JSON per case, coverage markdown.
"""
from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cdisc_dpn.validation.open_rules.engine import RuleRun, run_rule
from cdisc_dpn.validation.open_rules.rulebook import OpenRule, RuleBook, load_rulebook
from cdisc_dpn.validation.open_rules.study import read_csv_folder

Pair = tuple[str, "int | None"]


@dataclass
class CaseResult:
    rule_id: str
    case: str                        # positive/01
    status: str                      # passed | failed | unsupported
    reason: str = ""
    expected: list[Pair] = field(default_factory=list)
    flagged: list[Pair] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule_id, "case": self.case, "status": self.status, "reason": self.reason,
                "expected": [list(p) for p in self.expected], "flagged": [list(p) for p in self.flagged]}


@dataclass
class RuleCases:
    rule: OpenRule | None
    rule_id: str
    cases: list[CaseResult]
    load_problem: str = ""

    @property
    def status(self) -> str:
        if self.load_problem:
            return "not loaded"
        statuses = {c.status for c in self.cases}
        if not self.cases:
            return "no test cases"
        if statuses == {"passed"}:
            return "passed"
        if statuses <= {"passed", "unverifiable"}:
            return "passed" if "passed" in statuses else "unverifiable"
        if "unsupported" in statuses:
            return "not supported"
        return "failed"


def read_expected(path: Path) -> list[Pair]:
    pairs: set[Pair] = set()
    if not path.is_file():
        return []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            ds = (row.get("Dataset") or "").strip().upper()
            rec = (row.get("Record") or "").strip()
            if not ds:
                continue
            try:
                pairs.add((ds, int(float(rec)) if rec else None))
            except ValueError:
                pairs.add((ds, None))
    return sorted(pairs, key=_pair_key)


def _pair_key(p: Pair) -> tuple:
    return (p[0], -1 if p[1] is None else p[1])


def _why(expected: set, flagged: set, run: RuleRun) -> str:
    parts = []
    missing = sorted(expected - flagged, key=_pair_key)
    extra = sorted(flagged - expected, key=_pair_key)
    if missing:
        parts.append("not flagged: " + ", ".join(f"{d}:{r or '-'}" for d, r in missing[:8])
                     + (" ..." if len(missing) > 8 else ""))
    if extra:
        parts.append("flagged but not expected: " + ", ".join(f"{d}:{r or '-'}" for d, r in extra[:8])
                     + (" ..." if len(extra) > 8 else ""))
    if run.errors:
        parts.append("engine error: " + "; ".join(f"{d}: {e}" for d, e in sorted(run.errors.items()))[:300])
    if run.skipped and missing:
        parts.append("skipped: " + "; ".join(f"{d}: {e}" for d, e in sorted(run.skipped.items()))[:300])
    return "; ".join(parts)


NOTES_FILE = Path(__file__).resolve().parent / "fixture_notes.yaml"


def fixture_notes() -> dict[str, dict]:
    """Published test cases whose expected results are not conformance findings (see the file)."""
    import yaml

    return yaml.safe_load(NOTES_FILE.read_text(encoding="utf-8")) or {}


def run_case(rule: OpenRule, case_dir: Path, kind: str, notes: dict[str, dict] | None = None) -> CaseResult:
    case = f"{kind}/{case_dir.name}"
    expected = read_expected(case_dir / "results" / "results.csv")
    note = (notes or {}).get(f"{rule.id}/{case}") or {}
    if note.get("ignore_dataset_rows"):
        expected = [p for p in expected if not (p[1] is None and p[0] in note["ignore_dataset_rows"])]
    if not (case_dir / "results" / "results.csv").is_file():
        return CaseResult(rule.id, case, "unverifiable", "test case has no results/results.csv (fixture defect)")
    if rule.unsupported:
        return CaseResult(rule.id, case, "unsupported", rule.unsupported, expected, [])
    data = case_dir / "data"
    if not data.is_dir():
        return CaseResult(rule.id, case, "failed", "test case has no data/ folder", expected, [])
    try:
        study = read_csv_folder(data, listed_only=True)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return CaseResult(rule.id, case, "failed", f"test data cannot be read: {exc}", expected, [])
    run = run_rule(rule, study)
    flagged = sorted({(h.dataset, h.record) for h in run.hits}, key=_pair_key)
    if note.get("unverifiable"):
        return CaseResult(rule.id, case, "unverifiable", f"fixture note: {note['unverifiable']}", expected, flagged)
    exp_set, fl_set = set(expected), set(flagged)
    if exp_set == fl_set and not run.errors:
        reason = f"fixture note: {note['reason']}" if note.get("reason") else ""
        return CaseResult(rule.id, case, "passed", reason, expected, flagged)
    why = _why(exp_set, fl_set, run) + (f" (fixture note: {note['reason']})" if note.get("reason") else "") \
        + (f" (diagnosis: {note['diagnosis']})" if note.get("diagnosis") else "")
    return CaseResult(rule.id, case, "failed", why, expected, flagged)


def run_rule_cases(rule: OpenRule, notes: dict[str, dict] | None = None) -> RuleCases:
    folder = rule.path.parent
    notes = fixture_notes() if notes is None else notes
    cases = []
    for kind in ("positive", "negative"):
        for case_dir in sorted(p for p in (folder / kind).glob("*") if p.is_dir()):
            cases.append(run_case(rule, case_dir, kind, notes))
    return RuleCases(rule, rule.id, cases)


def run_all(folder: Path, ids: list[str] | None = None) -> tuple[RuleBook, list[RuleCases]]:
    book = load_rulebook(folder).select(ids)
    notes = fixture_notes()
    results = [run_rule_cases(r, notes) for r in book.rules]
    for p in book.problems:
        results.append(RuleCases(None, p.rule_id, [], p.message))
    return book, sorted(results, key=lambda r: r.rule_id)


def summary(results: list[RuleCases]) -> dict[str, Any]:
    def count(pred) -> Counter:
        c: Counter = Counter()
        for rc in results:
            if rc.rule is not None and pred(rc.rule):
                c.update(case.status for case in rc.cases)
        return c
    fe = count(lambda r: r.fully_executable)
    other = count(lambda r: not r.fully_executable)
    total_fe = sum(v for k, v in fe.items() if k != "unverifiable")
    return {
        "rules": len(results),
        "rules_by_status": dict(sorted(Counter(r.status for r in results).items())),
        "fully_executable_cases": dict(sorted(fe.items())), "other_cases": dict(sorted(other.items())),
        "fully_executable_pass_rate": round(100.0 * fe.get("passed", 0) / total_fe, 1) if total_fe else 0.0,
        "fully_executable_pass_rate_all_cases": round(100.0 * fe.get("passed", 0) / sum(fe.values()), 1)
        if fe else 0.0,
    }


def write_json(results: list[RuleCases], book: RuleBook, path: Path) -> None:
    doc = {"rules_folder": str(book.folder), "source": book.source, "summary": summary(results),
           "rules": [{"rule": rc.rule_id, "status": rc.status, "load_problem": rc.load_problem,
                      "executability": rc.rule.executability if rc.rule else "",
                      "cdisc_ids": list(rc.rule.authority_ids) if rc.rule else [],
                      "cases": [c.as_dict() for c in rc.cases]} for rc in results]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def table(results: list[RuleCases]) -> str:
    lines = [f"{'rule':<12} {'ids':<16} {'status':<14} cases (pass/fail/unsupported/unverifiable)  reason"]
    for rc in results:
        c = Counter(x.status for x in rc.cases)
        ids = ",".join(rc.rule.authority_ids[:2]) if rc.rule else ""
        reason = rc.load_problem or next((x.reason for x in rc.cases if x.status != "passed"), "")
        lines.append(f"{rc.rule_id:<12} {ids:<16} {rc.status:<14} "
                     f"{c.get('passed', 0)}/{c.get('failed', 0)}/{c.get('unsupported', 0)}/{c.get('unverifiable', 0):<18} "
                     f"{reason[:150]}")
    return "\n".join(lines) + "\n"
