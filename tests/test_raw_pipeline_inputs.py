"""Issue 14 inputs through a whole run: renamed columns, doubled line endings, a form with no records,
and `spec check --raw` before a run. Outputs are compared with the standard run of the same study."""
from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner
from lxml import etree

from cdisc_dpn.cli import main
from cdisc_dpn.pipeline import RunConfig, run_pipeline
from tests.conftest import MAPPINGS

SV_FORM = "  - {name: sv, file: sv.csv, label: Visit dates, subject_column: SUBJECT,\n"
VS_FORM = "  - {name: vs, file: vs.csv, label: Vital signs, subject_column: SUBJECT,\n"


def _rename_header(path, renames: dict[str, str]) -> None:
    text = path.read_text(encoding="utf-8-sig")
    header, rest = text.split("\n", 1)
    cells = [renames.get(c, c) for c in header.split(",")]
    path.write_text(",".join(cells) + "\n" + rest, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def other_edc(synth_raw, tmp_path_factory):
    """The synthetic study with sv/vs columns named as another EDC names them, renamed in study.yaml only."""
    root = tmp_path_factory.mktemp("other-edc")
    raw, specs = root / "raw", root / "mappings"
    shutil.copytree(synth_raw, raw)
    shutil.copytree(MAPPINGS, specs)
    _rename_header(raw / "sv.csv", {"SUBJECT": "Subject", "VISIT": "InstanceName", "VISITDAT": "VISITDAT_RAW"})
    _rename_header(raw / "vs.csv", {"SUBJECT": "Subject", "SITE": "SiteNumber"})
    study = (specs / "study.yaml").read_text(encoding="utf-8")
    assert SV_FORM in study and VS_FORM in study
    study = study.replace(SV_FORM, SV_FORM.replace(
        "subject_column: SUBJECT,",
        "subject_column: SUBJECT,\n     columns: {Subject: SUBJECT, InstanceName: VISIT, VISITDAT_RAW: VISITDAT},"))
    study = study.replace(VS_FORM, VS_FORM.replace(
        "subject_column: SUBJECT,", "subject_column: SUBJECT,\n     columns: {Subject: SUBJECT, SiteNumber: SITE},"))
    (specs / "study.yaml").write_text(study, encoding="utf-8")
    return raw, specs


def test_spec_check_raw_passes_on_the_renamed_layout(other_edc):
    raw, specs = other_edc
    result = CliRunner().invoke(main, ["spec", "check", str(specs), "--raw", str(raw)])
    assert result.exit_code == 0, result.output
    assert "every column the specs name is present" in result.output


def test_spec_check_raw_names_the_spec_line_and_column(other_edc, tmp_path):
    raw, specs = other_edc
    bad = tmp_path / "raw"
    shutil.copytree(raw, bad)
    _rename_header(bad / "ae.csv", {"AEACN": "AE_ACTION"})
    _rename_header(bad / "sv.csv", {"InstanceName": "Visit"})
    result = CliRunner().invoke(main, ["spec", "check", str(specs), "--raw", str(bad)])
    assert result.exit_code == 2
    err = result.output
    assert "SPEC-RAW-COLUMN" in err and "names column 'AEACN'" in err and "ae.yaml:" in err
    assert "AE_ACTION" in err                                      # what the file has instead
    assert "READ-MISSING-COLUMN" in err and "InstanceName" in err and "study.yaml:" in err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def damaged_run(other_edc, tmp_path_factory):
    """Renamed layout + a header-only AE form + doubled line endings in CM."""
    raw, specs = other_edc
    root = tmp_path_factory.mktemp("damaged")
    shutil.copytree(raw, root / "raw")
    ae = (root / "raw" / "ae.csv").read_text(encoding="utf-8-sig")
    (root / "raw" / "ae.csv").write_text(ae.split("\n", 1)[0] + "\n", encoding="utf-8-sig")
    cm = (root / "raw" / "cm.csv").read_bytes()
    (root / "raw" / "cm.csv").write_bytes(cm.replace(b"\r\n", b"\n").replace(b"\n", b"\r\r\n"))
    result = run_pipeline(RunConfig(specs, root / "raw", root / "out"))
    return result, root / "out", cm


def test_renamed_columns_give_the_same_datasets(damaged_run, pipeline_run):
    _, out, _ = damaged_run
    _, standard = pipeline_run
    for name in ("sv.xpt", "vs.xpt", "cm.xpt", "dm.xpt", "qs.xpt"):
        assert (out / "sdtm" / name).read_bytes() == (standard / "sdtm" / name).read_bytes(), name


def test_blank_lines_are_a_notice_not_records(damaged_run):
    result, _, cm = damaged_run
    notices = [f for f in result.findings if f.code == "READ-BLANK-LINES"]
    assert len(notices) == 1 and notices[0].file == "cm.csv"
    lines = cm.count(b"\n")
    assert notices[0].message.startswith(f"{lines} blank line(s)")
    assert not [f for f in result.findings if f.file == "cm.csv" and f.severity.value == "error"]
    cm_ledger = next(s for s in result.ledger_summary if s["form"] == "cm")
    assert cm_ledger["rows"] == lines - 1 and cm_ledger["unaccounted"] == 0


def test_form_without_records_writes_no_dataset_and_no_false_findings(damaged_run, pipeline_run):
    result, out, _ = damaged_run
    standard, _ = pipeline_run
    assert not (out / "sdtm" / "ae.xpt").exists() and not (out / "sdtm" / "suppae.xpt").exists()
    assert not list((out / "sdtm" / "json").glob("ae.*")) and not list((out / "sdtm" / "json").glob("suppae.*"))
    define = etree.parse(str(out / "sdtm" / "define.xml"))
    names = define.xpath("//*[local-name()='ItemGroupDef']/@Name")
    assert "AE" not in names and "SUPPAE" not in names and "CM" in names
    empty = {f.dataset for f in result.findings if f.code == "RUN-EMPTY-DATASET"}
    assert empty == {"AE", "SUPPAE"}
    errors = {(f.code, f.dataset) for f in result.findings if f.severity.value == "error"}
    standard_errors = {(f.code, f.dataset) for f in standard.findings if f.severity.value == "error"}
    assert errors <= standard_errors
    assert "AE" not in result.datasets and "CM" in result.datasets
    assert all(s["unaccounted"] == 0 for s in result.ledger_summary)


AE_FORM = "  - {name: ae, file: ae.csv, label: Adverse events, subject_column: SUBJECT,\n"


def _ae_as_odm(csv_path, xml_path) -> list[str]:
    """The AE export as an EDC writes ODM 1.3.2: one ItemGroupData per AE, empty items left out."""
    import csv
    import itertools
    from xml.sax.saxutils import quoteattr

    rows = list(csv.DictReader(csv_path.open(encoding="utf-8-sig", newline="")))
    items = [c for c in rows[0] if c not in ("SUBJECT", "SITE")]
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" ODMVersion="1.3.2" FileType="Snapshot" FileOID="F1">',
           ' <ClinicalData StudyOID="S" MetaDataVersionOID="MDV.1">']
    for subject, group in itertools.groupby(rows, key=lambda r: r["SUBJECT"]):
        group = list(group)
        site = quoteattr(group[0]["SITE"])
        out.append(f'  <SubjectData SubjectKey={quoteattr(subject)}><SiteRef LocationOID={site}/>')
        out.append('   <StudyEventData StudyEventOID="SE.AE"><FormData FormOID="F.AE">')
        for key, row in enumerate(group, start=1):
            out.append(f'    <ItemGroupData ItemGroupOID="IG.AE" ItemGroupRepeatKey="{key}">')
            out += [f'     <ItemData ItemOID="IT.{c}" Value={quoteattr(row[c])}>'
                    '<AuditRecord><DateTimeStamp>2026-01-01T00:00:00</DateTimeStamp></AuditRecord></ItemData>'
                    for c in items if row[c] != ""]
            out.append("    </ItemGroupData>")
        out.append("   </FormData></StudyEventData></SubjectData>")
    out += [" </ClinicalData>", "</ODM>"]
    xml_path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return items


def test_odm_export_with_empty_items_left_out_gives_the_same_ae(synth_raw, pipeline_run, tmp_path):
    raw, specs = tmp_path / "raw", tmp_path / "mappings"
    shutil.copytree(synth_raw, raw)
    shutil.copytree(MAPPINGS, specs)
    items = _ae_as_odm(raw / "ae.csv", raw / "ae.xml")
    (raw / "ae.csv").unlink()
    xml = (raw / "ae.xml").read_text(encoding="utf-8")
    assert xml.count('ItemOID="IT.AESDTH"') < xml.count("<ItemGroupData")         # empty items really left out
    rename = ", ".join(f"IT.{c}: {c}" for c in items)
    study = (specs / "study.yaml").read_text(encoding="utf-8")
    assert AE_FORM in study
    study = study.replace(AE_FORM, "  - {name: ae, file: ae.xml, format: odm, form_oid: F.AE, label: Adverse events, "
                                   f"subject_column: SUBJECT,\n     columns: {{{rename}}},\n")
    (specs / "study.yaml").write_text(study, encoding="utf-8")
    result = run_pipeline(RunConfig(specs, raw, tmp_path / "out"))
    _, standard = pipeline_run
    for name in ("ae.xpt", "suppae.xpt"):
        assert (tmp_path / "out" / "sdtm" / name).read_bytes() == (standard / "sdtm" / name).read_bytes(), name
    ae_ledger = next(s for s in result.ledger_summary if s["form"] == "ae")
    assert ae_ledger["unaccounted"] == 0 and ae_ledger["rows"] == ae_ledger["mapped"] + ae_ledger["excluded"]
    assert not [f for f in result.findings if f.file and f.file.endswith("ae.xml") and f.severity.value == "error"]


def test_subject_column_may_differ_per_form_without_work_around(synth_raw, pipeline_run, tmp_path):
    """VS calls its subject PATIENT; visitnum's reference_form (sv) calls it SUBJECT: no subject_here needed."""
    raw, specs = tmp_path / "raw", tmp_path / "mappings"
    shutil.copytree(synth_raw, raw)
    shutil.copytree(MAPPINGS, specs)
    _rename_header(raw / "vs.csv", {"SUBJECT": "PATIENT"})
    study = (specs / "study.yaml").read_text(encoding="utf-8")
    vs_required = "     required_columns: [SUBJECT, VISIT, VSDAT, WEIGHT, SYSBP, DIABP, PULSE, TEMP]}"
    assert VS_FORM + vs_required in study
    study = study.replace(VS_FORM + vs_required, VS_FORM.replace("subject_column: SUBJECT", "subject_column: PATIENT")
                          + vs_required.replace("[SUBJECT,", "[PATIENT,"))
    (specs / "study.yaml").write_text(study, encoding="utf-8")
    vs = (specs / "vs.yaml").read_text(encoding="utf-8")
    assert vs.count("params: {column: SUBJECT}") == 1 and "subject_here" not in vs
    vs = vs.replace("params: {column: SUBJECT}", "params: {column: PATIENT}")
    (specs / "vs.yaml").write_text(vs, encoding="utf-8")
    result = run_pipeline(RunConfig(specs, raw, tmp_path / "out"))
    _, standard = pipeline_run
    assert (tmp_path / "out" / "sdtm" / "vs.xpt").read_bytes() == (standard / "sdtm" / "vs.xpt").read_bytes()
    assert not [f for f in result.findings if f.dataset == "VS" and f.severity.value == "error"]
