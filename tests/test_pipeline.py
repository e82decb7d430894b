"""End to end: synthetic raw exports -> XPT, Dataset-JSON, define.xml, reports, manifest."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from lxml import etree

from cdisc_dpn.pipeline import RunConfig, run_pipeline
from tests.conftest import MAPPINGS, SUBJECTS

pytestmark = pytest.mark.slow
SCHEMA = Path(__file__).resolve().parents[1] / "cdisc_dpn" / "define" / "schema" / "cdisc-define-2.1" / "define2-1-0.xsd"


def _digest_tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_dm_reads_back_one_row_per_subject_screened(pipeline_run, synth_raw):
    result, out = pipeline_run
    dm_path = out / "sdtm" / "dm.xpt"
    frame, meta = pyreadstat.read_xport(str(dm_path))
    via_pandas = pd.read_sas(dm_path, format="xport", encoding="ascii")
    screened = pd.read_csv(synth_raw / "dm.csv", dtype=str, encoding="utf-8-sig")
    assert len(frame) == len(via_pandas) == len(screened)
    assert frame["USUBJID"].is_unique
    randomized = frame[frame["ARMCD"] != ""]
    assert len(randomized) == SUBJECTS
    assert set(randomized["ARM"]) <= {"hUC-MSC + conventional therapy", "Conventional therapy"}
    assert set(frame.loc[frame["ARMCD"] == "", "ARMNRS"]) == {"SCREEN FAILURE"}
    assert meta.table_name == "DM" and meta.file_label == "Demographics"
    assert meta.column_names_to_labels["RFSTDTC"] == "Subject Reference Start Date/Time"
    assert list(frame.columns)[:4] == ["STUDYID", "DOMAIN", "USUBJID", "SUBJID"]
    # character lengths are the longest value in bytes
    widths = meta.variable_storage_width
    assert widths["USUBJID"] == frame["USUBJID"].str.len().max()


def test_every_dataset_reads_back_with_its_row_count(pipeline_run):
    result, out = pipeline_run
    for name, rows in result.datasets.items():
        frame, _ = pyreadstat.read_xport(str(out / "sdtm" / f"{name.lower()}.xpt"))
        assert len(frame) == rows, name
        assert (out / "sdtm" / "json" / f"{name.lower()}.json").is_file()


def test_define_xml_is_schema_valid_and_describes_every_dataset(pipeline_run):
    result, out = pipeline_run
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    schema = etree.XMLSchema(etree.parse(str(SCHEMA), parser))
    doc = etree.parse(str(out / "sdtm" / "define.xml"), parser)
    schema.assertValid(doc)
    names = {e.get("Name") for e in doc.iter("{http://www.cdisc.org/ns/odm/v1.3}ItemGroupDef")}
    assert names == set(result.datasets)
    assert (out / "sdtm" / "define.html").read_text(encoding="utf-8").count("<table") >= len(result.datasets)


def test_reports_ledger_and_manifest(pipeline_run, synth_raw):
    result, out = pipeline_run
    report = json.loads((out / "report" / "report.json").read_text())
    # The report describes this run: every dataset with its record count, no errors (exit 0), and
    # every listed finding complete enough to act on.
    assert report["summary"]["passed"] is True and result.exit_code == 0
    assert {d["dataset"]: d["records"] for d in report["datasets"]} == result.datasets
    assert report["summary"]["records_checked"] == sum(result.datasets.values())
    assert report["summary"]["failures_by_severity"].get("error", 0) == 0
    for finding in report["findings"]:
        assert finding["code"] and finding["message"] and finding["severity"] in {"error", "warning", "notice"}
    for suffix in ("html", "xlsx"):
        assert (out / "report" / f"report.{suffix}").stat().st_size > 1000
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["ledger"]["unaccounted_rows"] == 0
    assert manifest["tool"]["name"] == "cdisc-dpn"
    for name, entry in manifest["inputs"].items():
        assert entry["sha256"] == hashlib.sha256((synth_raw / name).read_bytes()).hexdigest()
    for rel, entry in manifest["outputs"].items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == entry["sha256"]
    ledger = pd.read_csv(out / "report" / "ledger.csv", dtype=str)
    raw_rows = sum(entry["rows"] for entry in manifest["inputs"].values())
    assert len(ledger) == raw_rows
    assert set(ledger["status"]) <= {"mapped", "excluded"}


def test_synthetic_study_converts_without_errors(pipeline_run):
    result, _ = pipeline_run
    errors = [f.render() for f in result.findings if f.severity.value == "error"]
    assert errors == []
    assert result.exit_code == 0


def test_two_runs_give_identical_bytes(pipeline_run, synth_raw, tmp_path):
    _, first = pipeline_run
    second = tmp_path / "again"
    run_pipeline(RunConfig(MAPPINGS, synth_raw, second))
    assert _digest_tree(first) == _digest_tree(second)


def test_dataset_json_validates_and_links_to_define(pipeline_run):
    from cdisc_dpn.xpt.datasetjson import validate_dataset_json

    _, out = pipeline_run
    ns = "{http://www.cdisc.org/ns/odm/v1.3}"
    define = etree.parse(str(out / "sdtm" / "define.xml"), etree.XMLParser(resolve_entities=False, no_network=True))
    item_oids = {e.get("OID") for e in define.iter(f"{ns}ItemDef")}
    group_oids = {e.get("OID") for e in define.iter(f"{ns}ItemGroupDef")}
    files = sorted((out / "sdtm" / "json").glob("*.json"))
    assert files
    for path in files:
        assert [f.render() for f in validate_dataset_json(path) if f.severity.value == "error"] == []
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc["itemGroupOID"] in group_oids
        assert {c["itemOID"] for c in doc["columns"]} <= item_oids


def test_xpt_files_meet_fda_rules_when_read_back(pipeline_run):
    import re

    _, out = pipeline_run
    for path in sorted((out / "sdtm").glob("*.xpt")):
        assert path.name == path.name.lower()
        frame, meta = pyreadstat.read_xport(str(path))
        assert re.fullmatch(r"[A-Z][A-Z0-9]{1,7}", meta.table_name)
        assert len(meta.file_label or "") <= 40
        for name in frame.columns:
            assert re.fullmatch(r"[A-Z][A-Z0-9_]{0,7}", name), name
            assert 0 < len(meta.column_names_to_labels[name]) <= 40
            width = meta.variable_storage_width[name]
            if frame[name].dtype == object:
                values = frame[name].astype(str)
                longest = max([len(v.encode("ascii")) for v in values] + [1])   # ASCII only, or this raises
                assert width == longest <= 200, (path.name, name)
