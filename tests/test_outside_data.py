"""RELEASE-DPN end to end with the issue-14 data shapes in one run: text results in numeric lab tests,
a height typed in metres, a 300-character AETERM. Nothing crashes, each shape ends where it belongs."""
from __future__ import annotations

import csv
import json

import openpyxl
import pyreadstat
import pytest
from lxml import etree

from cdisc_dpn.define.xmlns import NS
from cdisc_dpn.pipeline import RunConfig, run_pipeline
from tests.conftest import MAPPINGS

pytestmark = pytest.mark.slow

LONG_TERM = ("Painful burning paraesthesia of both feet " * 8).strip()     # 335 characters


def _edit_csv(path, column, row, value):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        data = list(csv.reader(fh))
    data[row][data[0].index(column)] = value
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(data)


@pytest.fixture(scope="module")
def outside(tmp_path_factory, synth_raw):
    import shutil

    raw = tmp_path_factory.mktemp("outside") / "raw"
    shutil.copytree(synth_raw, raw)
    book = openpyxl.load_workbook(raw / "lab.xlsx")
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    result_col, test_col = header.index("LBORRES") + 1, header.index("LBTEST") + 1
    glucose = [r for r in range(2, sheet.max_row + 1) if sheet.cell(r, test_col).value in ("FPG", "Fasting glucose")]
    sheet.cell(glucose[0], result_col).value = "NEG"
    sheet.cell(glucose[1], result_col).value = "Negative"
    book.save(raw / "lab.xlsx")
    _edit_csv(raw / "vs.csv", "HEIGHT", 1, "1.72")                  # metres in the cm field
    _edit_csv(raw / "ae.csv", "AETERM", 1, LONG_TERM)
    out = raw.parent / "out"
    return run_pipeline(RunConfig(MAPPINGS, raw, out)), out, glucose


def test_nothing_crashes_and_everything_is_written(outside):
    result, out, _ = outside
    assert not [f for f in result.findings if f.code in ("MAP-ALGORITHM-FAILED", "VAL-GX-EXCEPTION")]
    assert (out / "sdtm" / "define.xml").is_file() and (out / "sdtm" / "lb.xpt").is_file()
    assert sum(r["unaccounted"] for r in result.ledger_summary) == 0


def test_text_results_stay_text_and_define_describes_them(outside):
    result, out, _ = outside
    lb, _ = pyreadstat.read_xport(str(out / "sdtm" / "lb.xpt"))
    text = lb[(lb["LBTESTCD"] == "GLUC") & lb["LBORRES"].isin(["NEG", "Negative"])]
    assert sorted(text["LBSTRESC"]) == ["NEG", "NEGATIVE"] and text["LBSTRESN"].isna().all()
    tree = etree.parse(str(out / "sdtm" / "define.xml"))
    items = [el for el in tree.iterfind(".//odm:ItemDef", NS)
             if el.get("OID", "").startswith("IT.LB.LBORRES.") and "GLUC" in el.get("OID")]
    assert len(items) == 1 and items[0].get("DataType") == "text"      # the where clause holding glucose
    warned = [f for f in result.findings if f.code == "DEF-DATATYPE-TEXT"]
    assert warned and "'NEG'" in warned[0].message and "'Negative'" in warned[0].message


def test_height_in_metres_is_a_plausibility_finding_with_its_raw_row(outside):
    _, out, _ = outside
    report = json.loads((out / "report" / "report.json").read_text())
    found = {f["message"].split()[0]: f for f in report["findings"] if f["code"] == "DPN-PLAUS-001"}
    assert set(found) == {"HEIGHT", "BMI"}      # the BMI derived from that height is implausible too
    height = found["HEIGHT"]
    assert (height["file"], height["source_row"], height["value"]) == ("vs.csv", 2, "1.72")
    assert height["extra"]["spec"] == f"units.yaml:{_line('testcd: HEIGHT, unit: cm')}"
    bmi = found["BMI"]                           # a derived record: no raw row, the range's spec line
    assert "source_row" not in bmi and bmi["extra"]["spec"] == f"units.yaml:{_line('testcd: BMI, unit: kg/m2')}"
    assert bmi["usubjid"] == height["usubjid"]


def _line(text: str) -> int:
    return next(i for i, line in enumerate((MAPPINGS / "units.yaml").read_text().splitlines(), start=1)
                if text in line)


def test_long_aeterm_continues_in_suppae(outside):
    result, out, _ = outside
    assert not [f for f in result.findings if f.code.startswith("XPT-") and f.severity.value == "error"]
    ae, _ = pyreadstat.read_xport(str(out / "sdtm" / "ae.xpt"))
    supp, _ = pyreadstat.read_xport(str(out / "sdtm" / "suppae.xpt"))
    cut = ae[ae["AETERM"].str.startswith("Painful burning")]
    assert len(cut) == 1 and len(cut["AETERM"].iat[0]) <= 200
    rest = supp[(supp["QNAM"] == "AETERM1") & (supp["USUBJID"] == cut["USUBJID"].iat[0])]
    assert len(rest) == 1 and " ".join([cut["AETERM"].iat[0], rest["QVAL"].iat[0]]) == LONG_TERM
