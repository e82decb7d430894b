"""Reports are deterministic (byte-identical apart from the run id), escaped and formula-safe;
validate_folder reads XPT files written by another tool (pyreadstat.write_xport)."""
from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "validation"))
import sdtm_study as st  # noqa: E402

from cdisc_dpn.validation import validate_domains, validate_folder, write_reports  # noqa: E402
from cdisc_dpn.xlsx import formula_safe as safe_cell  # noqa: E402


@pytest.fixture(scope="module")
def broken_result():
    frames = st.frames()
    frames["AE"].loc[0, "AETERM"] = "=HYPERLINK(\"http://x\")<script>"
    frames["DM"].loc[0, "SEX"] = "<b>X</b>"
    frames["AE"].loc[0, "AESTDY"] = 7.0
    return validate_domains(st.domains(frames), st.terminology())


def test_reports_are_byte_identical_apart_from_run_id(tmp_path, broken_result):
    a = write_reports(broken_result, tmp_path / "a", run_id="run-1")
    b = write_reports(broken_result, tmp_path / "b", run_id="run-1")
    c = write_reports(broken_result, tmp_path / "c", run_id="run-2")
    assert set(a) == {"json", "html", "xlsx"}
    for kind in a:
        assert a[kind].read_bytes() == b[kind].read_bytes(), kind
    for kind in ("json", "html"):
        assert a[kind].read_text().replace("run-1", "run-2") == c[kind].read_text()


def test_report_json_summary_and_sorted_findings(tmp_path, broken_result):
    data = json.loads(write_reports(broken_result, tmp_path, run_id="r")["json"].read_text())
    assert data["run"] == {"run_id": "r"}
    assert "duration" not in json.dumps(data)
    assert data["summary"]["failures_by_severity"]["error"] >= 2
    rules = {r["rule_id"]: r for r in data["rules"]}
    assert rules["DPN-DY-001"]["failures"] == 1 and rules["DPN-DY-001"]["datasets"] == {"AE": 1}
    sev = [f["severity"] for f in data["findings"]]
    assert sev == sorted(sev, key=["error", "warning", "notice"].index)
    ct_finding = next(f for f in data["findings"] if f["code"] == "DPN-GX-CT")
    assert ct_finding["file"] == "dm_raw.csv" and ct_finding["source_row"] == 2
    assert ct_finding["extra"]["spec"].startswith("mappings/dm.yaml:")


def test_report_html_is_escaped_with_drill_down(tmp_path, broken_result):
    html = write_reports(broken_result, tmp_path, run_id="r")["html"].read_text()
    assert "<b>X</b>" not in html and "&lt;b&gt;X&lt;/b&gt;" in html
    assert "<script>" not in html
    assert "<details" in html and "DPN-DY-001" in html and "dm_raw.csv, row 2" in html
    assert "<style>" in html and "http" not in html.split("<body>")[0]


def test_report_xlsx_layout_and_formula_neutralised(tmp_path, broken_result):
    from openpyxl import load_workbook
    path = write_reports(broken_result, tmp_path, run_id="r")["xlsx"]
    wb = load_workbook(path)
    assert wb.sheetnames == ["Dataset Summary", "Issue Summary", "Details", "Rules"]
    values = [c.value for row in wb["Details"].iter_rows() for c in row]
    assert not any(isinstance(v, str) and v.startswith(("=", "+", "-", "@")) for v in values)
    for ws in wb.worksheets:           # a data manager filters and scrolls every sheet
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), ws.title
    rules = [[c.value for c in row] for row in wb["Rules"].iter_rows()]
    assert rules[0] == ["Rule ID", "Severity", "Description", "Source", "Kind", "Found"]
    by_id = {r[0]: r for r in rules[1:]}
    assert by_id["DPN-DY-001"][1] == "Error" and by_id["DPN-DY-001"][5] == 1
    assert by_id["DPN-DY-001"][3].startswith("cdisc_dpn/validation/rules.yaml:")
    found = [r[5] for r in rules[1:]]
    assert found.index(0) > 0 and all(n == 0 for n in found[found.index(0):]), "fired rules first"
    assert wb.properties.created.year == 2000 and wb.properties.modified.year == 2000
    with zipfile.ZipFile(path) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert safe_cell("=1+1") == "'=1+1" and safe_cell("-3") == "'-3" and safe_cell("ok") == "ok"
    assert safe_cell(5) == 5


def _write_xpt(folder: Path, name: str, frame: pd.DataFrame) -> None:
    import pyreadstat
    pyreadstat.write_xport(frame, str(folder / f"{name.lower()}.xpt"), table_name=name, file_format_version=5)


def test_validate_folder_on_xpt_written_by_another_tool(tmp_path):
    domains = st.domains()
    for name in ("DM", "AE", "EX", "TS", "SE"):
        frame = domains[name].frame.copy()
        if name == "AE":
            frame.loc[0, "AESTDTC"] = "15JAN2024"       # not ISO 8601
            frame.loc[1, "AESEV"] = "VERY BAD"          # not in C66769
        _write_xpt(tmp_path, name, frame)
    result = validate_folder(tmp_path)
    assert sorted(result.datasets) == ["AE", "DM", "EX", "SE", "TS"]
    found = {(f.code, f.dataset, f.variable) for f in result.findings}
    assert ("DPN-GX-ISO8601-DTC", "AE", "AESTDTC") in found
    assert ("DPN-GX-CT", "AE", "AESEV") in found
    # SDTMIG Exp variables the other tool left out are reported as warnings, not errors
    assert ("DPN-GX-EXP-VAR", "AE", "AEBODSYS") in found
    assert not any(f.code == "DPN-GX-COL-ORDER" for f in result.findings)
    spec_refs = {f.extra.get("spec") for f in result.findings if f.code == "DPN-GX-CT"}
    assert spec_refs == {"SDTMIG 3.4 AE.AESEV"}


def test_reports_keep_every_finding_and_rank_fired_rules_first(tmp_path):
    """No 50-row cap in report.json and report.xlsx; report.html caps and points to the XLSX."""
    from openpyxl import load_workbook

    frames = st.frames()
    ae = frames["AE"]
    many = pd.concat([ae] * 40, ignore_index=True)
    many["AESEQ"] = range(1, len(many) + 1)
    many["AESEV"] = "VERY BAD"                          # every row off the non-extensible codelist
    frames["AE"] = many
    result = validate_domains(st.domains(frames), st.terminology())
    paths = write_reports(result, tmp_path, run_id="r")
    data = json.loads(paths["json"].read_text())
    listed = [f for f in data["findings"] if f["code"] == "DPN-GX-CT" and f["variable"] == "AESEV"]
    assert len(listed) == len(many) > 50
    assert all(f["value"] == "VERY BAD" and f["row"] for f in listed)
    rules = data["rules"]
    fired = [r["failures"] > 0 for r in rules]
    assert fired == sorted(fired, reverse=True)
    ranks = [(["error", "warning", "notice"].index(r["severity"]), -r["failures"]) for r in rules if r["failures"]]
    assert ranks == sorted(ranks)
    wb = load_workbook(paths["xlsx"])
    rows = [[c.value for c in r] for r in wb["Details"].iter_rows(min_row=2)]
    assert sum(1 for r in rows if r[3] == "DPN-GX-CT" and r[4] == "AESEV") == len(many)
    html = paths["html"].read_text()
    assert f"Showing 50 of {len(many)}" in html and 'href="report.xlsx"' in html
    assert "{'" not in html                             # no raw Python dict anywhere


def test_report_cells_are_strings_not_python_objects(tmp_path, broken_result):
    from openpyxl import load_workbook

    wb = load_workbook(write_reports(broken_result, tmp_path, run_id="r")["xlsx"])
    for ws in wb.worksheets:
        for row in ws.iter_rows(min_row=2):
            for c in row:
                assert c.value is None or isinstance(c.value, (str, int, float)), (ws.title, c.value)
                assert not (isinstance(c.value, str) and c.value.startswith("{'")), (ws.title, c.value)


def test_formula_like_values_are_neutralised_in_every_sheet(tmp_path):
    from openpyxl import load_workbook

    from cdisc_dpn.errors import Finding, Severity
    from cdisc_dpn.validation.runner import RuleCount, ValidationResult

    values = ["=1+1", "+CMD|' /C calc'!A0", "-2+3", "@SUM(A1)", " =HYPERLINK(1)"]
    findings = [Finding("MAP-TERM", Severity.WARNING, f"collected value not in codelist ({i})", stage="map",
                        dataset="AE", variable="AESEV", value=v, file="ae.csv", source_row=i + 2, column="SEV",
                        spec_file="mappings/ae.yaml", spec_line=40) for i, v in enumerate(values)]
    result = ValidationResult(findings, {"MAP-TERM": RuleCount("MAP-TERM", "warning", "=descr", "conversion",
                                                               len(values), len(values), {"AE": len(values)})},
                              0, 0, {"AE": 10})
    wb = load_workbook(write_reports(result, tmp_path, run_id="r")["xlsx"])
    cells = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [c for c in cells if c.lstrip().startswith(("=", "+", "-", "@"))]
    assert {"'" + v for v in values} <= set(cells)
    details = [[c.value for c in r] for r in wb["Details"].iter_rows()]
    header = details[0]
    first = dict(zip(header, details[1]))
    assert first["Spec"] == "mappings/ae.yaml:40"          # pipeline-stage findings carry their spec line
    assert first["Raw source"].startswith("ae.csv, row ") and first["Raw source"].endswith("column SEV")


def test_validation_reports_progress_per_dataset_and_rule():
    """Progress comes from a callback (the CLI prints it), never printed by the stage itself."""
    messages: list[str] = []
    domains = st.domains()
    result = validate_domains(domains, st.terminology(), progress=messages.append)
    datasets = [m for m in messages if m.startswith("expectations: ")]
    rules = [m for m in messages if m.startswith("conformance rules: ")]
    assert [m.split()[1] for m in datasets] == sorted(domains)
    assert datasets[-1].startswith(f"expectations: {sorted(domains)[-1]} ({len(domains)}/{len(domains)} datasets")
    assert len(rules) >= result.rules_run > 0
    assert rules[-1].endswith(f"; {result.expectations} expectations done)")
