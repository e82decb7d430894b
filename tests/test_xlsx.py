"""One owner for XLSX output: the spec workbook and report.xlsx neutralise the same formula leads and
save the same deterministic way (cdisc_dpn.xlsx)."""
from __future__ import annotations

import zipfile
from io import BytesIO

import pytest
from openpyxl import load_workbook

from cdisc_dpn.spec.workbook import neutralise
from cdisc_dpn.xlsx import formula_safe, new_workbook, workbook_bytes

RISKY = ["=1+1", "+1", "-3", "@SUM(A1)", "\t=1", "\rx", " =HYPERLINK(\"x\")", "  +1"]
HARMLESS = ["ok", "a=b", "1-2", "x@y.org", ""]


@pytest.mark.parametrize("text", RISKY)
def test_both_writers_neutralise_every_formula_lead(text):
    assert formula_safe(text) == "'" + text
    assert neutralise(text) == "'" + text      # the spec workbook escapes at least the same set


@pytest.mark.parametrize("text", HARMLESS)
def test_report_cells_without_a_formula_lead_pass_unchanged(text):
    assert formula_safe(text) == text


def test_non_text_passes_unchanged():
    assert formula_safe(5) == 5 and formula_safe(None) is None


def _save(write_only: bool) -> bytes:
    wb = new_workbook(write_only=write_only, title="t")
    ws = wb.create_sheet("S")
    ws.append([formula_safe(v) for v in ["=1+1", "plain", 3]])
    return workbook_bytes(wb)


@pytest.mark.parametrize("write_only", [False, True])
def test_workbook_bytes_are_deterministic_and_cells_stay_text(write_only):
    data = _save(write_only)
    assert data == _save(write_only)
    with zipfile.ZipFile(BytesIO(data)) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert b"2000-01-01T00:00:00Z" in z.read("docProps/core.xml")
    wb = load_workbook(BytesIO(data))
    assert [c.value for c in wb["S"][1]] == ["'=1+1", "plain", 3]
    assert wb["S"]["A1"].data_type == "s"
    assert wb.properties.creator == "cdisc-dpn"
