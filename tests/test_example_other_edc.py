"""examples/other-edc: the same study exported by another EDC converts to byte-identical SDTM (issue 14).

The other layout is generated from the synthetic study by examples/other-edc/make_layout.py: other
file names and column names, "05 JAN 2026" / "UN UNK 2026" dates, 1/0 answers, decode + *_STD code
columns, wide lab, vital signs as SAS XPT with formats, medical history as XLSX.
"""
from __future__ import annotations

import importlib.util
import re

import pandas as pd
import pyreadstat
import pytest

from cdisc_dpn.pipeline import RunConfig, run_pipeline
from cdisc_dpn.derive.catalogue import known_algorithms
from cdisc_dpn.raw.checks import check_spec_columns
from cdisc_dpn.spec.loader import load_specs
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "other-edc"


def _make_layout():
    spec = importlib.util.spec_from_file_location("make_layout", EXAMPLE / "make_layout.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_layout


@pytest.fixture(scope="module")
def other_layout(synth_raw, tmp_path_factory):
    raw = tmp_path_factory.mktemp("other-edc") / "raw"
    _make_layout()(synth_raw, raw)
    return raw


def test_the_other_layout_is_really_different(other_layout):
    ae = (other_layout / "RDPN_AE.csv").read_text(encoding="utf-8")
    header = ae.split("\r\n", 1)[0].split(",")
    assert {"Subject", "SiteNumber", "AESTDAT_RAW", "AESEV_STD"} <= set(header) and "SUBJECT" not in header
    assert re.search(r",\d\d [A-Z]{3} \d{4},", ae)                                 # 05 JAN 2026
    mh = pd.read_excel(other_layout / "RDPN_MH.xlsx", dtype=str, engine="calamine").fillna("")
    assert mh["MHSTDAT_RAW"].str.fullmatch(r"UN UNK \d{4}").any()            # partial dates the other way
    assert set(mh["MHONGO"]) <= {"1", "0", ""}                                   # yes/no as 1/0
    vs, meta = pyreadstat.read_xport(str(other_layout / "RDPN_VS.xpt"), disable_datetime_conversion=True)
    assert meta.original_variable_types["VSDAT"] == "DATE9." and vs["VSDAT"].dtype == float
    assert meta.original_variable_types["WEIGHT"] == "8.1"
    lab = pd.read_csv(other_layout / "RDPN_LAB_WIDE.csv", dtype=str, keep_default_na=False)
    assert "HBA1C_RES" in lab.columns and "LBORRES" not in lab.columns              # wide


def test_spec_check_raw_passes(other_layout):
    specs, _ = load_specs(EXAMPLE / "mappings")
    findings, tables = check_spec_columns(specs, other_layout, known_algorithms())
    assert [f for f in findings if f.severity.value == "error"] == [] and len(tables) == len(specs.study.forms)


def test_other_layout_converts_to_byte_identical_sdtm(other_layout, pipeline_run, tmp_path):
    _, standard = pipeline_run
    result = run_pipeline(RunConfig(EXAMPLE / "mappings", other_layout, tmp_path / "out"))
    produced = sorted(p.name for p in (tmp_path / "out" / "sdtm").glob("*.xpt"))
    expected = sorted(p.name for p in (standard / "sdtm").glob("*.xpt"))
    assert produced == expected and len(produced) > 20
    for name in produced + ["define.xml"]:
        assert (tmp_path / "out" / "sdtm" / name).read_bytes() == (standard / "sdtm" / name).read_bytes(), name
    assert all(s["unaccounted"] == 0 for s in result.ledger_summary)
    assert not [f for f in result.findings if f.severity.value == "error"]
