"""Validation reports: report.json (machines), report.html (people), report.xlsx (Pinnacle 21 layout).

The files are byte-identical between runs on the same input apart from the run id: findings are
sorted, JSON keys sorted, no durations or clock times, and the workbook has fixed properties and
fixed zip entry times. Each file is written to a temporary name and moved into place.
"""
from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from cdisc_dpn.atomic import write_atomic
from cdisc_dpn.errors import Finding
from cdisc_dpn.validation.runner import ValidationResult, sort_key

FIXED_TIME = dt.datetime(2000, 1, 1, 0, 0, 0)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SEVERITY_ORDER = {"error": 0, "warning": 1, "notice": 2}


def _atomic_write(path: Path, data: bytes) -> None:
    write_atomic(path, data)


def _rules(result: ValidationResult) -> list[dict[str, Any]]:
    return sorted((c.as_dict() for c in result.rule_counts.values()),
                  key=lambda c: (SEVERITY_ORDER.get(c["severity"], 9), -c["failures"], c["rule_id"]))


def _datasets(result: ValidationResult) -> list[dict[str, Any]]:
    per: dict[str, Counter] = {name: Counter() for name in result.datasets}
    for c in result.rule_counts.values():
        for name, n in c.datasets.items():
            per.setdefault(name, Counter())[c.severity] += n
    return [{"dataset": name, "records": result.datasets.get(name, 0), "errors": per[name]["error"],
             "warnings": per[name]["warning"], "notices": per[name]["notice"]} for name in sorted(per)]


def report_data(result: ValidationResult, run_id: str) -> dict[str, Any]:
    findings = sorted(result.findings, key=sort_key)
    extra = {"open_rules": result.open_rules} if result.open_rules else {}   # rules run, not run and why
    return {**extra,
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
        "datasets": _datasets(result),
        "rules": _rules(result),
        "findings": [f.as_dict() for f in findings],
    }


def report_json(result: ValidationResult, run_id: str) -> bytes:
    return (json.dumps(report_data(result, run_id), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            ).encode("utf-8")


# --------------------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d2330}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccd}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ccd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eef1f7}td.n{text-align:right}
.error{color:#a40000;font-weight:600}.warning{color:#8a5a00;font-weight:600}.notice{color:#2a5d9f}
.ok{color:#1d7a28;font-weight:600}
details{margin:.25rem 0}summary{cursor:pointer}
code{background:#f3f4f8;padding:0 .2rem}.muted{color:#667}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _finding_row(f: Finding) -> str:
    extra = f.extra or {}
    source = extra.get("source") or (f"{f.file}, row {f.source_row}" if f.source_row else "")
    spec = extra.get("spec") or ""
    return ("<tr>" + "".join(f"<td>{_e(x)}</td>" for x in (
        f.row or "", f.usubjid or "", f.variable or "", f.value or "", f.message)) +
        f"<td><code>{_e(spec)}</code></td><td>{_e(source)}</td></tr>")


def report_html(result: ValidationResult, run_id: str) -> bytes:
    data = report_data(result, run_id)
    s = data["summary"]
    by_rule: dict[str, list[Finding]] = {}
    for f in sorted(result.findings, key=sort_key):
        by_rule.setdefault(f.code, []).append(f)
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
    out.append("<h2>By dataset</h2><table><tr><th>Dataset</th><th>Records</th><th>Errors</th><th>Warnings</th>"
               "<th>Notices</th></tr>")
    for d in data["datasets"]:
        out.append(f"<tr><td>{_e(d['dataset'])}</td><td class=n>{d['records']}</td><td class=n>{d['errors']}</td>"
                   f"<td class=n>{d['warnings']}</td><td class=n>{d['notices']}</td></tr>")
    out.append("</table><h2>By rule</h2><table><tr><th>Rule</th><th>Severity</th><th>Failures</th>"
               "<th>Datasets</th><th>Description</th></tr>")
    for r in data["rules"]:
        ds = ", ".join(f"{k} ({v})" for k, v in r["datasets"].items())
        out.append(f"<tr><td><a href=\"#{_e(r['rule_id'])}\">{_e(r['rule_id'])}</a></td>"
                   f"<td class=\"{_e(r['severity'])}\">{_e(r['severity'])}</td><td class=n>{r['failures']}</td>"
                   f"<td>{_e(ds)}</td><td>{_e(r['description'])}</td></tr>")
    out.append("</table><h2>Findings</h2>")
    if not by_rule:
        out.append("<p class=\"ok\">No findings.</p>")
    counts = result.rule_counts
    for code in sorted(by_rule, key=lambda c: (SEVERITY_ORDER.get(by_rule[c][0].severity.value, 9), c)):
        items = by_rule[code]
        rc = counts.get(code)
        total = rc.failures if rc else len(items)
        severity = items[0].severity.value
        out.append(f"<details id=\"{_e(code)}\"><summary><span class=\"{_e(severity)}\">{_e(code)}</span> "
                   f"{_e(rc.description if rc else '')} — {total} failure(s), {len(items)} listed</summary>")
        by_ds: dict[str, list[Finding]] = {}
        for f in items:
            by_ds.setdefault(f.dataset or "", []).append(f)
        for name in sorted(by_ds):
            rows = by_ds[name]
            out.append(f"<details><summary>{_e(name or '(study)')}: {len(rows)} listed"
                       + (f" of {rc.datasets.get(name, len(rows))}" if rc else "") + "</summary><table>"
                       "<tr><th>Row</th><th>USUBJID</th><th>Variable</th><th>Value</th><th>Message</th>"
                       "<th>Spec</th><th>Raw source</th></tr>")
            out.extend(_finding_row(f) for f in rows)
            out.append("</table></details>")
        out.append("</details>")
    out.append("</body></html>\n")
    return "\n".join(out).encode("utf-8")


# --------------------------------------------------------------------------- XLSX
def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is prefixed with ' ."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _normalise_xlsx(data: bytes) -> bytes:
    """Fixed zip entry times and fixed document modification time."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                                 rb"\g<1>" + stamp.encode() + rb"\g<2>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, content)
    return buf.getvalue()


def report_xlsx(result: ValidationResult, run_id: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    data = report_data(result, run_id)
    wb = Workbook()
    wb.properties.creator = "cdisc-dpn"
    wb.properties.lastModifiedBy = "cdisc-dpn"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.title = f"SDTM validation report {run_id}"
    bold = Font(bold=True)

    def sheet(ws, header: list[str], rows: list[list[Any]], widths: list[int]) -> None:
        ws.append(header)
        for cell in ws[1]:
            cell.font = bold
        for row in rows:
            ws.append([safe_cell(v) for v in row])
        for i, w in enumerate(widths):
            ws.column_dimensions[chr(65 + i)].width = w
        ws.freeze_panes = "A2"

    ws = wb.active
    ws.title = "Dataset Summary"
    sheet(ws, ["Dataset", "Records", "Errors", "Warnings", "Notices"],
          [[d["dataset"], d["records"], d["errors"], d["warnings"], d["notices"]] for d in data["datasets"]],
          [12, 10, 10, 10, 10])
    sheet(wb.create_sheet("Issue Summary"), ["Source", "Rule ID", "Severity", "Found", "Description"],
          [[", ".join(r["datasets"]) or "", r["rule_id"], r["severity"].capitalize(), r["failures"],
            r["description"]] for r in data["rules"] if r["failures"]],
          [20, 20, 10, 8, 80])
    details = []
    for f in sorted(result.findings, key=sort_key):
        extra = f.extra or {}
        details.append([f.dataset or "", f.row or "", f.usubjid or "", f.code, f.variable or "", f.value or "",
                        f.message, f.severity.value.capitalize(), extra.get("spec", ""), extra.get("source", "")])
    sheet(wb.create_sheet("Details"), ["Source", "Record", "USUBJID", "Rule ID", "Variables", "Values",
                                       "Message", "Severity", "Spec", "Raw source"], details,
          [10, 8, 18, 20, 12, 20, 80, 10, 30, 30])
    buf = io.BytesIO()
    wb.save(buf)
    return _normalise_xlsx(buf.getvalue())


def write_reports(result: ValidationResult, out_dir: Path, *, run_id: str) -> dict[str, Path]:
    """Write report.json, report.html and report.xlsx into out_dir; returns {format: path}."""
    out_dir = Path(out_dir)
    outputs = {"json": (out_dir / "report.json", report_json(result, run_id)),
               "html": (out_dir / "report.html", report_html(result, run_id)),
               "xlsx": (out_dir / "report.xlsx", report_xlsx(result, run_id))}
    for path, data in outputs.values():
        _atomic_write(path, data)
    return {k: p for k, (p, _) in outputs.items()}
