"""Validation reports: report.json (machines), report.html (people), report.xlsx (Pinnacle 21 layout).

The files are byte-identical between runs on the same input apart from the run id: findings are
sorted, JSON keys sorted, no durations or clock times, and the workbook has fixed properties and
fixed zip entry times. Each file is written to a temporary name and moved into place.
"""
from __future__ import annotations

import dataclasses
import html
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from cdisc_dpn.atomic import write_atomic
from cdisc_dpn.errors import Finding, Severity
from cdisc_dpn.validation.runner import ValidationResult, sort_key
from cdisc_dpn.xlsx import formula_safe, new_workbook, workbook_bytes

SEVERITY_ORDER = {"error": 0, "warning": 1, "notice": 2}


def _atomic_write(path: Path, data: bytes) -> None:
    write_atomic(path, data)


HTML_ROWS = 50                 # findings shown per rule and dataset in report.html (all are in JSON and XLSX)


def _rules(result: ValidationResult) -> list[dict[str, Any]]:
    """Rules that fired first (by severity, then most failures), then those run without findings."""
    return sorted((c.as_dict() for c in result.rule_counts.values()),
                  key=lambda c: (c["failures"] == 0, SEVERITY_ORDER.get(c["severity"], 9), -c["failures"],
                                 c["rule_id"]))


def _rule_source(rule: dict[str, Any], first: Finding | None) -> str:
    """Where a rule is declared: its rules file line, or what produced it."""
    if first is not None and (first.extra or {}).get("rule"):
        return str(first.extra["rule"])
    if rule["kind"] == "expectation":
        return "expectation suite generated from the spec (cdisc_dpn/validation/rules.yaml)"
    if rule["kind"] == "conversion":
        return "cdisc-dpn conversion"
    return rule["kind"]


def spec_of(f: Finding) -> str:
    """The spec file:line behind a finding, wherever it is recorded."""
    extra = f.extra or {}
    if extra.get("spec"):
        return str(extra["spec"])
    if f.spec_file:
        return f"{f.spec_file}:{f.spec_line}" if f.spec_line else f.spec_file
    if f.file and f.spec_line and not f.source_row:
        return f"{f.file}:{f.spec_line}"
    return ""


def source_of(f: Finding) -> str:
    """The raw file, row and column behind a finding."""
    extra = f.extra or {}
    text = str(extra.get("source") or "")
    if not text and f.file and f.source_row:
        text = f"{f.file}, row {f.source_row}"
    if text and f.column:
        text += f", column {f.column}"
    return text


def _datasets(result: ValidationResult) -> list[dict[str, Any]]:
    per: dict[str, Counter] = {name: Counter() for name in result.datasets}
    for c in result.rule_counts.values():
        for name, n in c.datasets.items():
            per.setdefault(name, Counter())[c.severity] += n
    return [{"dataset": name, "records": result.datasets.get(name, 0), "errors": per[name]["error"],
             "warnings": per[name]["warning"], "notices": per[name]["notice"]} for name in sorted(per)]


def _causes(findings: list[Finding]) -> list[dict[str, Any]]:
    from collections import defaultdict

    roots = [f for f in findings if f.cause]
    following: dict[str, Counter] = defaultdict(Counter)
    for f in findings:
        if f.caused_by:
            following[f.caused_by][(f.code, f.dataset or "")] += 1
    return [{"cause": f.cause, "code": f.code, "severity": f.severity.value, "message": f.message,
             "fix": f.fix or "", "spec": spec_of(f), "following": sum(following[f.cause].values()),
             "following_by_code": [{"code": code, "dataset": ds, "count": n}
                                   for (code, ds), n in sorted(following[f.cause].items(),
                                                               key=lambda t: (-t[1], t[0]))]}
            for f in roots]


_FINDING_FIELDS = tuple(f.name for f in dataclasses.fields(Finding))
_SEVERITY_TEXT = {s: s.value for s in Severity}


def _finding_dict(f: Finding) -> dict[str, Any]:
    """f.as_dict() without dataclasses.asdict's deep copy (the report only reads the values)."""
    data = {}
    for name in _FINDING_FIELDS:
        value = _SEVERITY_TEXT[f.severity] if name == "severity" else getattr(f, name)
        if value not in (None, {}, ""):
            data[name] = value
    return data


def report_data(result: ValidationResult, run_id: str, ledger: list[dict] | None = None) -> dict[str, Any]:
    findings = sorted(result.findings, key=sort_key)
    data = {
        "run": {"run_id": run_id},
        "summary": {
            "passed": result.passed,
            "datasets_checked": len(result.datasets),
            "records_checked": sum(result.datasets.values()),
            "expectations_run": result.expectations,
            "rules_run": result.rules_run,
            "failures_by_severity": result.failures_by_severity(),
            "findings_listed": len(findings),
            "ct_version": result.ct_version,
            "define": result.define_file,
        },
        "causes": _causes(findings),
        "datasets": _datasets(result),
        "rules": _rules(result),
        "findings": [_finding_dict(f) for f in findings],
    }
    if ledger is not None:
        data["ledger"] = ledger
    if result.open_rules:
        data["open_rules"] = result.open_rules       # rules run, not run and why
    return data


def report_json(result: ValidationResult, run_id: str, ledger: list[dict] | None = None, *,
                data: dict[str, Any] | None = None) -> bytes:
    """`data`: report_data(result, run_id, ledger) when the caller already has it."""
    data = report_data(result, run_id, ledger) if data is None else data
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d2330}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccd}
nav a{margin-right:1rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ccd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eef1f7}td.n{text-align:right}
.error{color:#a40000;font-weight:600}.warning{color:#8a5a00;font-weight:600}.notice{color:#2a5d9f}
.ok{color:#1d7a28;font-weight:600}
details{margin:.25rem 0}summary{cursor:pointer}
.cause{border-left:4px solid #a40000;padding:.25rem .75rem;margin:.75rem 0;background:#fff6f6}
code{background:#f3f4f8;padding:0 .2rem}.muted{color:#667}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _anchor(prefix: str, name: str) -> str:
    return prefix + "-" + re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _finding_row(f: Finding) -> str:
    value = f.shown_value() if f.value else ""
    return ("<tr>" + "".join(f"<td>{_e(x)}</td>" for x in (
        f.dataset or "", f.row or "", f.usubjid or "", f.variable or "", value, f.message)) +
        f"<td><code>{_e(spec_of(f))}</code></td><td>{_e(source_of(f))}</td></tr>")


_FINDING_HEADER = ("<tr><th>Dataset</th><th>Row</th><th>USUBJID</th><th>Variable</th><th>Value</th><th>Message</th>"
                   "<th>Spec</th><th>Raw source</th></tr>")


def _finding_table(rows: list[Finding], total: int) -> list[str]:
    out = ["<table>", _FINDING_HEADER]
    out.extend(_finding_row(f) for f in rows[:HTML_ROWS])
    out.append("</table>")
    if total > min(len(rows), HTML_ROWS):
        out.append(f"<p class=\"muted\">Showing {min(len(rows), HTML_ROWS)} of {total}; every finding is in "
                   f"<a href=\"report.xlsx\">report.xlsx</a> (sheet Details, with filters) and report.json.</p>")
    return out


def _html_causes(data: dict[str, Any], findings: list[Finding]) -> list[str]:
    if not data["causes"]:
        return []
    by_cause: dict[str, list[Finding]] = {}
    for f in findings:
        if f.caused_by:
            by_cause.setdefault(f.caused_by, []).append(f)
    out = [f"<h2 id=\"causes\">Root causes ({len(data['causes'])})</h2>",
           "<p>Fix these first: the findings listed under each one follow from it and are not repeated under "
           "their rules.</p>"]
    for c in data["causes"]:
        out.append(f"<div class=\"cause\" id=\"{_e(_anchor('cause', c['cause']))}\"><p><span class=\"{_e(c['severity'])}\">"
                   f"{_e(c['code'])}</span> {_e(c['message'])}"
                   + (f" <code>{_e(c['spec'])}</code>" if c["spec"] else "") + "</p>"
                   + (f"<p>Fix: {_e(c['fix'])}</p>" if c["fix"] else ""))
        if c["following"]:
            out.append(f"<details><summary>{c['following']} finding(s) follow from it</summary><table>"
                       "<tr><th>Rule</th><th>Dataset</th><th>Findings</th></tr>")
            for g in c["following_by_code"]:
                out.append(f"<tr><td>{_e(g['code'])}</td><td>{_e(g['dataset'])}</td><td class=n>{g['count']}</td></tr>")
            out.append("</table>")
            items = by_cause.get(c["cause"], [])
            out.extend(_finding_table(items, len(items)))
            out.append("</details>")
        out.append("</div>")
    return out


def _html_ledger(ledger: list[dict] | None) -> list[str]:
    if not ledger:
        return []
    out = ["<h2 id=\"ledger\">Raw-row ledger</h2>",
           "<p>Every raw row read is mapped to an SDTM dataset or excluded with a reason.</p>",
           "<table><tr><th>Form</th><th>File</th><th>Rows</th><th>Mapped</th><th>Into</th><th>Excluded</th>"
           "<th>Unaccounted</th><th>Reasons</th></tr>"]
    for r in ledger:
        reasons = "; ".join(f"{x['rows']} {x['status']}: {x['reason']}" for x in r.get("reasons", []))
        lost = r.get("unaccounted", 0)
        out.append(f"<tr><td>{_e(r['form'])}</td><td>{_e(r['file'])}</td><td class=n>{r['rows']}</td>"
                   f"<td class=n>{r['mapped']}</td><td>{_e(', '.join(r.get('datasets', [])))}</td>"
                   f"<td class=n>{r['excluded']}</td><td class=\"n{' error' if lost else ''}\">{lost}</td>"
                   f"<td>{_e(reasons)}</td></tr>")
    out.append("</table>")
    return out


def report_html(result: ValidationResult, run_id: str, ledger: list[dict] | None = None, *,
                data: dict[str, Any] | None = None) -> bytes:
    """`data`: report_data(result, run_id, ledger) when the caller already has it."""
    data = report_data(result, run_id, ledger) if data is None else data
    s = data["summary"]
    findings = sorted(result.findings, key=sort_key)
    by_rule: dict[str, list[Finding]] = {}
    following: Counter = Counter()
    for f in findings:
        if f.caused_by:
            following[f.code] += 1
        else:
            by_rule.setdefault(f.code, []).append(f)
    fired = [r for r in data["rules"] if r["failures"]]
    quiet = [r for r in data["rules"] if not r["failures"]]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>cdisc-dpn validation report {_e(run_id)}</title><style>{_CSS}</style></head><body>",
           "<h1>SDTM validation report</h1>",
           f"<p class=\"muted\">Run {_e(run_id)} · CT {_e(s['ct_version'])}"
           + (f" · define {_e(s['define'])}" if s["define"] else "") + "</p>"]
    status = '<span class="ok">PASSED</span>' if s["passed"] else '<span class="error">FAILED</span>'
    sev = s["failures_by_severity"]
    out.append(f"<p>{status}: {s['datasets_checked']} datasets, {s['records_checked']} records, "
               f"{s['expectations_run']} expectations and {s['rules_run']} rules run; "
               f"<span class=\"error\">{sev['error']} errors</span>, "
               f"<span class=\"warning\">{sev['warning']} warnings</span>, "
               f"<span class=\"notice\">{sev['notice']} notices</span>.</p>")
    nav = ([("causes", "Root causes")] if data["causes"] else []) + [("rules", "Rules"), ("datasets", "By dataset"),
                                                                   ("findings", "Findings")]
    nav += [("ledger", "Raw-row ledger")] if ledger else []
    out.append("<nav>" + "".join(f"<a href=\"#{a}\">{_e(t)}</a>" for a, t in nav)
               + "<a href=\"report.xlsx\">report.xlsx</a></nav>")
    out.extend(_html_causes(data, findings))
    out.append(f"<h2 id=\"rules\">Rules with findings ({len(fired)})</h2>")
    if fired:
        out.append("<table id=\"fired-rules\"><tr><th>Rule</th><th>Severity</th><th>Failures</th><th>Datasets</th>"
                   "<th>Description</th></tr>")
        for r in fired:
            ds = ", ".join(f"{k} ({v})" for k, v in r["datasets"].items())
            under = following[r["rule_id"]]
            note = (" (all under root causes)" if under >= r["failures"] else f" ({under} under root causes)") \
                if under else ""
            out.append(f"<tr class=\"fired\"><td><a href=\"#{_e(_anchor('rule', r['rule_id']))}\">{_e(r['rule_id'])}</a></td>"
                       f"<td class=\"{_e(r['severity'])}\">{_e(r['severity'])}</td><td class=n>{r['failures']}{note}</td>"
                       f"<td>{_e(ds)}</td><td>{_e(r['description'])}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p class=\"ok\">No rule found anything.</p>")
    if quiet:
        out.append(f"<details id=\"quiet-rules\"><summary>{len(quiet)} rules and expectation kinds run without "
                   "findings</summary><table><tr><th>Rule</th><th>Severity</th><th>Description</th></tr>")
        out.extend(f"<tr><td>{_e(r['rule_id'])}</td><td>{_e(r['severity'])}</td><td>{_e(r['description'])}</td></tr>"
                   for r in quiet)
        out.append("</table></details>")
    out.append("<h2 id=\"datasets\">By dataset</h2><table><tr><th>Dataset</th><th>Records</th><th>Errors</th>"
               "<th>Warnings</th><th>Notices</th></tr>")
    for d in data["datasets"]:
        out.append(f"<tr><td>{_e(d['dataset'])}</td><td class=n>{d['records']}</td><td class=n>{d['errors']}</td>"
                   f"<td class=n>{d['warnings']}</td><td class=n>{d['notices']}</td></tr>")
    out.append("</table><h2 id=\"findings\">Findings</h2>")
    if not findings:
        out.append("<p class=\"ok\">No findings.</p>")
    for r in fired:
        code = r["rule_id"]
        items = by_rule.get(code, [])
        note = f"; {following[code]} of them listed under root causes" if following[code] else ""
        out.append(f"<details id=\"{_e(_anchor('rule', code))}\"><summary><span class=\"{_e(r['severity'])}\">"
                   f"{_e(code)}</span> {_e(r['description'])} — {r['failures']} failure(s){note}</summary>")
        if following[code]:
            out.append(f"<p class=\"muted\">{following[code]} finding(s) of this rule follow from a root cause and are "
                       f"listed under it: see <a href=\"#causes\">Root causes</a>.</p>")
        by_ds: dict[str, list[Finding]] = {}
        for f in items:
            by_ds.setdefault(f.dataset or "", []).append(f)
        for name in sorted(by_ds):
            rows = by_ds[name]
            total = len(rows)
            out.append(f"<details><summary>{_e(name or '(study)')}: {total} finding(s)</summary>")
            out.extend(_finding_table(rows, total))
            out.append("</details>")
        out.append("</details>")
    out.extend(_html_ledger(ledger))
    out.append("</body></html>\n")
    return "\n".join(out).encode("utf-8")


# --------------------------------------------------------------------------- XLSX
def report_xlsx(result: ValidationResult, run_id: str, ledger: list[dict] | None = None) -> bytes:
    from openpyxl.styles import Font
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    data = report_data(result, run_id, ledger)
    # streamed: every finding is listed, tens of thousands of rows
    wb = new_workbook(write_only=True, title=f"SDTM validation report {run_id}")
    bold = Font(bold=True)

    def sheet(ws, header: list[str], rows: list[list[Any]], widths: list[int]) -> None:
        """Bold header, frozen below it, an autofilter over the table, every text cell formula-safe."""
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = w
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{max(len(rows) + 1, 1)}"
        titles = []
        for text in header:
            cell = WriteOnlyCell(ws, value=text)
            cell.font = bold
            titles.append(cell)
        ws.append(titles)
        for row in rows:
            ws.append([formula_safe(v) for v in row])

    sheet(wb.create_sheet("Dataset Summary"), ["Dataset", "Records", "Errors", "Warnings", "Notices"],
          [[d["dataset"], d["records"], d["errors"], d["warnings"], d["notices"]] for d in data["datasets"]],
          [12, 10, 10, 10, 10])
    sheet(wb.create_sheet("Issue Summary"), ["Source", "Rule ID", "Severity", "Found", "Description"],
          [[", ".join(r["datasets"]) or "", r["rule_id"], r["severity"].capitalize(), r["failures"],
            r["description"]] for r in data["rules"] if r["failures"]],
          [20, 20, 10, 8, 80])
    findings = sorted(result.findings, key=sort_key)
    details = [[f.dataset or "", f.row or "", f.usubjid or "", f.code, f.variable or "", f.value or "",
                f.message, f.severity.value.capitalize(), spec_of(f), source_of(f), f.fix or "",
                f.caused_by or f.cause or ""] for f in findings]
    sheet(wb.create_sheet("Details"), ["Source", "Record", "USUBJID", "Rule ID", "Variables", "Values",
                                       "Message", "Severity", "Spec", "Raw source", "Fix", "Root cause"], details,
          [10, 8, 18, 20, 12, 20, 80, 10, 30, 30, 40, 16])
    if data["causes"]:
        sheet(wb.create_sheet("Root Causes"), ["Root cause", "Rule ID", "Severity", "Message", "Fix", "Spec",
                                               "Findings following"],
              [[c["cause"], c["code"], c["severity"].capitalize(), c["message"], c["fix"], c["spec"], c["following"]]
               for c in data["causes"]], [16, 20, 10, 80, 50, 20, 10])
    first = {}
    for f in findings:
        first.setdefault(f.code, f)
    sheet(wb.create_sheet("Rules"), ["Rule ID", "Severity", "Description", "Source", "Kind", "Found"],
          [[r["rule_id"], r["severity"].capitalize(), r["description"], _rule_source(r, first.get(r["rule_id"])),
            r["kind"], r["failures"]] for r in data["rules"]], [20, 10, 80, 40, 12, 8])
    if ledger:
        sheet(wb.create_sheet("Ledger"), ["Form", "File", "Rows", "Mapped", "Into", "Excluded", "Unaccounted",
                                          "Reasons"],
              [[r["form"], r["file"], r["rows"], r["mapped"], ", ".join(r.get("datasets", [])), r["excluded"],
                r.get("unaccounted", 0), "; ".join(f"{x['rows']} {x['status']}: {x['reason']}"
                                                   for x in r.get("reasons", []))] for r in ledger],
              [12, 20, 8, 8, 20, 8, 10, 80])
    return workbook_bytes(wb)


def write_reports(result: ValidationResult, out_dir: Path, *, run_id: str,
                  ledger: list[dict] | None = None) -> dict[str, Path]:
    """Write report.json, report.html and report.xlsx into out_dir; returns {format: path}.

    `ledger`: per raw form, rows mapped and excluded with reasons (a run's ledger page)."""
    out_dir = Path(out_dir)
    data = report_data(result, run_id, ledger)          # built once for the JSON and the HTML
    outputs = {"json": (out_dir / "report.json", report_json(result, run_id, ledger, data=data)),
               "html": (out_dir / "report.html", report_html(result, run_id, ledger, data=data)),
               "xlsx": (out_dir / "report.xlsx", report_xlsx(result, run_id, ledger))}
    for path, data in outputs.values():
        _atomic_write(path, data)
    return {k: p for k, (p, _) in outputs.items()}
