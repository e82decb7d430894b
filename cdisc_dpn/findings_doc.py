"""docs/findings.md, generated from the finding-code catalogue and the validation rules file.

    python -m cdisc_dpn.findings_doc            # rewrite docs/findings.md of this checkout
    python -m cdisc_dpn.findings_doc --check    # exit 1 when the committed page is out of date
    python -m cdisc_dpn.findings_doc -          # print the page

The page is a build product: edit cdisc_dpn/finding_codes.yaml (or validation/rules.yaml), then run
the command; tests/test_finding_codes.py fails while the committed page differs from the generated one.
"""
from __future__ import annotations

import posixpath
import sys
from pathlib import Path
from typing import Iterable, Mapping

from cdisc_dpn.finding_codes import FINDINGS_PAGE, STAGES, FindingCode, anchor, finding_codes

DOC_PATH = FINDINGS_PAGE               # from the repository root
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / DOC_PATH

STAGE_TITLES = {
    "read": "Reading the raw exports",
    "spec": "Checking the specs (study.yaml, dataset specs, terminology, units, workbook)",
    "map": "Mapping raw forms to SDTM",
    "derive": "Derivations",
    "ledger": "The ledger: every raw row accounted for",
    "write": "Writing XPT and Dataset-JSON",
    "define": "Building and checking define.xml",
    "validate": "Validation: reading its inputs, running its rules, checking Dataset-JSON",
    "run": "The run and its output folder",
    "compare": "Comparing two sets of datasets (cdisc-dpn compare)",
}


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _link(doc: str) -> str:
    """A catalogue doc reference (path from the repository root) as a link relative to docs/."""
    path, _, fragment = doc.partition("#")
    target = posixpath.relpath(path, posixpath.dirname(DOC_PATH))
    return f"[more]({target}{'#' + fragment if fragment else ''})"


def _code_rows(codes: Iterable[FindingCode]) -> list[str]:
    rows = ["| Code | Severity | Meaning | What to do |", "|---|---|---|---|"]
    for c in codes:
        fix = _cell(c.fix) + (f" {_link(c.doc)}" if c.doc else "")
        rows.append(f"| <a id=\"{anchor(c.code)}\"></a>`{c.code}` | {c.severity.value} | {_cell(c.meaning)} | {fix} |")
    return rows


def _rule_rows(rules: Iterable[tuple[str, str, str]]) -> list[str]:
    rows = ["| Rule | Severity | What it checks |", "|---|---|---|"]
    rows += [f"| <a id=\"{anchor(rid)}\"></a>`{rid}` | {sev} | {_cell(desc)} |" for rid, sev, desc in rules]
    return rows


def render_findings_doc(codes: Mapping[str, FindingCode] | None = None,
                        expectations: Iterable[tuple[str, str, str]] | None = None,
                        rules: Iterable[tuple[str, str, str]] | None = None) -> str:
    """The whole page; by default from the package's catalogue and validation/rules.yaml."""
    codes = finding_codes() if codes is None else codes
    if expectations is None or rules is None:
        from cdisc_dpn.validation.catalogue import load_catalogue

        cat = load_catalogue()
        expectations = [(e.id, e.severity.value, e.description) for e in cat.expectations.values()]
        rules = [(r.id, r.severity.value, r.description) for r in cat.rules]
    expectations, rules = list(expectations), list(rules)
    by_stage = {s: [c for c in codes.values() if c.stage == s] for s in STAGES}
    out = [
        "# Finding codes",
        "",
        "<!-- Generated from cdisc_dpn/finding_codes.yaml and cdisc_dpn/validation/rules.yaml by",
        "     `python -m cdisc_dpn.findings_doc`; edit those files, not this page. -->",
        "",
        "Every finding cdisc-dpn reports carries a stable code, a severity, a message that says what was found",
        "and where (file, row, column, spec line), and what to do. This page lists every code the engine can",
        "emit, grouped by the stage that finds it, with the usual severity; a message may say more precisely",
        "what to do than the general advice here. Findings are listed in report.html, report.xlsx and",
        "report.json of a run (see [Reading the findings](../README.md#reading-the-findings)).",
        "",
        "Severities: **error** (the output cannot be trusted as is; `cdisc-dpn run` and `validate` exit 1,",
        "or 2 when the input or the spec cannot be used at all), **warning** (check it), **notice** (for",
        "information). A study can change the severity of a validation rule in study.yaml.",
        "",
        f"{len(codes)} conversion codes, {len(expectations) + len(rules)} validation rules of cdisc-dpn, and the",
        "CDISC Open Rules the engine runs.",
        "",
        "## Contents",
        "",
    ]
    out += [f"- [{STAGE_TITLES[s]}](#{s}) ({len(by_stage[s])})" for s in STAGES if by_stage[s]]
    out += ["- [Validation rules of cdisc-dpn](#validation-rules)"
            f" ({len(expectations) + len(rules)})",
            "- [CDISC Open Rules](#cdisc-open-rules)", ""]
    for stage in STAGES:
        if not by_stage[stage]:
            continue
        out += [f"<a id=\"{stage}\"></a>", "", f"## {STAGE_TITLES[stage]}", ""]
        out += _code_rows(by_stage[stage]) + [""]
    out += [
        "<a id=\"validation-rules\"></a>", "",
        "## Validation rules of cdisc-dpn", "",
        "Checks generated from the mapping spec for every dataset (Great Expectations) and conformance rules",
        "across rows and datasets, kept as data in `cdisc_dpn/validation/rules.yaml` with their message",
        "templates. The finding message names the rows and values; the fix is in the data or the spec the",
        "message points to.", "",
        "### Generated checks (expectations)", "",
    ]
    out += _rule_rows(expectations) + ["", "### Conformance rules", ""]
    out += _rule_rows(rules) + [""]
    out += [
        "<a id=\"cdisc-open-rules\"></a>", "",
        "## CDISC Open Rules", "",
        "Findings coded `CORE-000nnn` come from the CDISC Open Rules (SDTMIG) the engine runs; the rule text is",
        "CDISC's own (`cdisc_dpn/validation/open_rules/rules/`). Which rules run, which are overridden and why:",
        "[Open Rules coverage](open-rules-coverage.md). The message starts with the rule id and, in brackets,",
        "the other authorities' ids for the same check (e.g. FDA or Pinnacle 21 ids such as SD0083).", "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    text = render_findings_doc()
    if args == ["-"]:
        sys.stdout.write(text)
        return 0
    check = "--check" in args
    paths = [a for a in args if a != "--check"]
    if len(paths) > 1 or any(p.startswith("-") for p in paths):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    target = Path(paths[0]) if paths else DEFAULT_OUTPUT
    if check:
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current != text:
            print(f"{target} is out of date: run python -m cdisc_dpn.findings_doc", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
