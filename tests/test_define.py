"""Define-XML 2.1 builder and checks on a tiny study (DM, LB with value-level metadata, SUPPDM)."""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
from lxml import etree

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "define"))
import define_study as S  # noqa: E402

from cdisc_dpn.define import build_define, check_define, write_define  # noqa: E402
from cdisc_dpn.define.checks import check_datasets, check_oids, check_xsd  # noqa: E402
from cdisc_dpn.define.xmlns import NS, schema_dir  # noqa: E402


@pytest.fixture(scope="module")
def study():
    spec = S.specs()
    domains = S.frames(spec)
    lengths = S.lengths(domains)
    tree, findings = build_define(spec, S.terminology(spec), domains, lengths, created=S.CREATED)
    return spec, domains, lengths, tree, findings


def codes(findings):
    return {f.code for f in findings}


def one(tree, xpath):
    found = tree.getroot().findall(xpath, NS)
    assert len(found) == 1, (xpath, len(found))
    return found[0]


def test_builds_xsd_valid_and_clean(study):
    _spec, domains, lengths, tree, findings = study
    assert [f for f in findings if f.severity.value == "error"] == []
    assert check_define(tree, domains, lengths) == []


def test_schemas_ship_in_the_package():
    assert (schema_dir() / "cdisc-define-2.1" / "define2-1-0.xsd").is_file()
    assert (schema_dir() / "cdisc-odm-1.3.2" / "ODM1-3-2-foundation.xsd").is_file()


def test_root_and_study_metadata(study):
    *_, tree, _f = study
    root = tree.getroot()
    assert root.get("CreationDateTime") == S.CREATED
    assert root.get("FileType") == "Snapshot" and root.get("ODMVersion") == "1.3.2"
    assert root.get("{http://www.cdisc.org/ns/def/v2.1}Context") == "Submission"
    assert one(tree, ".//odm:StudyName").text == "RELEASE-DPN"
    stds = {s.get("Name"): s for s in root.iterfind(".//def:Standard", NS)}
    assert stds["SDTMIG"].get("Version") == "3.4"
    assert stds["CDISC/NCI"].get("Version") == "2025-03-28" and stds["CDISC/NCI"].get("PublishingSet") == "SDTM"
    assert one(tree, ".//def:AnnotatedCRF/def:DocumentRef").get("leafID") == "LF.acrf"


def test_item_groups(study):
    *_, tree, _f = study
    dm = one(tree, ".//odm:ItemGroupDef[@OID='IG.DM']")
    assert dm.get("Repeating") == "No" and dm.get("Purpose") == "Tabulation"
    refs = dm.findall("odm:ItemRef", NS)
    assert [r.get("ItemOID") for r in refs][:3] == ["IT.DM.STUDYID", "IT.DM.DOMAIN", "IT.DM.USUBJID"]
    assert refs[2].get("KeySequence") == "2" and refs[2].get("Mandatory") == "Yes"
    assert refs[2].get("MethodOID") == "MT.DM.USUBJID"
    assert one(tree, ".//odm:ItemGroupDef[@OID='IG.DM']/def:leaf").get("{http://www.w3.org/1999/xlink}href") == "dm.xpt"
    supp = one(tree, ".//odm:ItemGroupDef[@OID='IG.SUPPDM']")
    assert supp.get("Domain") == "DM"            # like the CDISC example: the parent domain
    assert supp.find("def:Class", NS).get("Name") == "RELATIONSHIP"


def test_item_defs_types_and_lengths(study):
    _s, _d, lengths, tree, _f = study
    item = lambda oid: one(tree, f".//odm:ItemDef[@OID='{oid}']")  # noqa: E731
    assert item("IT.DM.USUBJID").get("Length") == str(lengths["DM"]["USUBJID"])
    assert item("IT.DM.AGE").get("DataType") == "integer" and item("IT.DM.AGE").get("Length") == "2"
    h = item("IT.DM.HEIGHT")
    assert (h.get("DataType"), h.get("SignificantDigits")) == ("float", "2")
    assert item("IT.DM.RFSTDTC").get("DataType") == "datetime" and item("IT.DM.RFSTDTC").get("Length") is None
    assert item("IT.DM.BRTHDTC").get("DataType") == "date"
    assert item("IT.DM.SUBJID").find("def:Origin/def:DocumentRef/def:PDFPageRef", NS).get("PageRefs") == "3"


def test_codelists(study):
    *_, tree, _f = study
    sex = one(tree, ".//odm:CodeList[@OID='CL.C66731']")
    assert [i.get("CodedValue") for i in sex.findall("odm:CodeListItem", NS)] == ["F", "M"]   # used terms only
    assert sex.find("odm:Alias", NS).get("Name") == "C66731"
    testcd = one(tree, ".//odm:CodeList[@OID='CL.C65047']")
    decodes = {i.get("CodedValue"): i.findtext("odm:Decode/odm:TranslatedText", namespaces=NS)
               for i in testcd.findall("odm:CodeListItem", NS)}
    assert decodes == {"ALT": "Alanine Aminotransferase", "GLUC": "Glucose"}
    assert one(tree, ".//odm:CodeList[@OID='CL.C67154']").findall("odm:EnumeratedItem", NS)
    unit = one(tree, ".//odm:CodeList[@OID='CL.C71620']")
    ext = unit.find("odm:CodeListItem[@CodedValue='mg/dL/h']", NS)
    assert ext.get("{http://www.cdisc.org/ns/def/v2.1}ExtendedValue") == "Yes" and ext.find("odm:Alias", NS) is None
    arm = one(tree, ".//odm:CodeList[@OID='CL.ARMCD']")
    assert arm.find(".//odm:Alias", NS) is None and arm.get("{http://www.cdisc.org/ns/def/v2.1}StandardOID") is None


def test_value_level_and_supp(study):
    *_, tree, _f = study
    vl = one(tree, ".//def:ValueListDef[@OID='VL.LB.LBORRES']")
    assert [r.get("ItemOID") for r in vl.findall("odm:ItemRef", NS)] == ["IT.LB.LBORRES.GLUC", "IT.LB.LBORRES.ALT"]
    wc = one(tree, ".//def:WhereClauseDef[@OID='WC.LB.LBTESTCD.GLUC']/odm:RangeCheck")
    assert wc.get("{http://www.cdisc.org/ns/def/v2.1}ItemOID") == "IT.LB.LBTESTCD"
    gluc = one(tree, ".//odm:ItemDef[@OID='IT.LB.LBORRES.GLUC']")
    assert (gluc.get("DataType"), gluc.get("SignificantDigits")) == ("float", "1")
    qval = one(tree, ".//def:ValueListDef[@OID='VL.SUPPDM.QVAL']/odm:ItemRef")
    assert qval.get("ItemOID") == "IT.SUPPDM.QVAL.COMPLT" and qval.get("MethodOID") == "MT.SUPPDM.QVAL.COMPLT"
    complt = one(tree, ".//odm:ItemDef[@OID='IT.SUPPDM.QVAL.COMPLT']")
    assert complt.get("Name") == "COMPLT"
    assert complt.find("odm:CodeListRef", NS).get("CodeListOID") == "CL.C66742"


def test_value_level_generated_from_data_when_spec_has_none():
    spec = S.specs(value_level=False)
    domains = S.frames(spec)
    lengths = S.lengths(domains)
    tree, _findings = build_define(spec, S.terminology(spec), domains, lengths, created=S.CREATED)
    oids = [r.get("ItemOID") for r in tree.getroot().iterfind(".//def:ValueListDef[@OID='VL.LB.LBORRES']/odm:ItemRef", NS)]
    assert oids == ["IT.LB.LBORRES.ALT", "IT.LB.LBORRES.GLUC"]
    assert one(tree, ".//odm:ItemDef[@OID='IT.LB.LBORRES.ALT']").get("DataType") == "integer"
    assert one(tree, ".//odm:ItemDef[@OID='IT.LB.LBSTRESC.GLUC']").get("DataType") == "float"
    assert check_define(tree, domains, lengths) == []


# ------------------------------------------------------------------ each check catches its defect
def test_xsd_violation_is_reported(study):
    *_, tree, _f = study
    bad = copy.deepcopy(tree)
    one(bad, ".//odm:ItemDef[@OID='IT.DM.AGE']").set("DataType", "number")
    found = check_xsd(bad)
    assert codes(found) == {"DEF-XSD"} and found[0].source_row


def test_missing_item_def_is_dangling_and_missing_var(study):
    _s, domains, lengths, tree, _f = study
    bad = copy.deepcopy(tree)
    el = one(bad, ".//odm:ItemDef[@OID='IT.DM.SEX']")
    el.getparent().remove(el)
    found = codes(check_oids(bad)) | codes(check_datasets(bad, domains, lengths))
    assert {"DEF-OID-DANGLING", "DEF-MISSING-VAR", "DEF-OID-UNUSED"} <= found   # CL.C66731 no longer used


def test_duplicate_oid(study):
    *_, tree, _f = study
    bad = copy.deepcopy(tree)
    el = one(bad, ".//def:CommentDef[@OID='COM.DM']")
    el.addnext(copy.deepcopy(el))
    assert "DEF-OID-DUP" in codes(check_oids(bad))


def test_wrong_length(study):
    _s, domains, lengths, tree, _f = study
    bad = copy.deepcopy(tree)
    one(bad, ".//odm:ItemDef[@OID='IT.DM.USUBJID']").set("Length", "200")
    found = [f for f in check_datasets(bad, domains, lengths) if f.code == "DEF-LENGTH"]
    assert [(f.dataset, f.variable) for f in found] == [("DM", "USUBJID")]


def test_unused_codelist(study):
    *_, tree, _f = study
    bad = copy.deepcopy(tree)
    ref = one(bad, ".//odm:ItemDef[@OID='IT.DM.ARMCD']/odm:CodeListRef")
    ref.getparent().remove(ref)
    found = [f for f in check_oids(bad) if f.code == "DEF-OID-UNUSED"]
    assert [f.value for f in found] == ["CL.ARMCD"]


def test_type_mismatch_and_missing_dataset(study):
    _s, domains, lengths, tree, _f = study
    bad = copy.deepcopy(tree)
    one(bad, ".//odm:ItemDef[@OID='IT.DM.AGE']").set("DataType", "text")
    assert "DEF-TYPE" in codes(check_datasets(bad, domains, lengths))
    ig = one(bad, ".//odm:ItemGroupDef[@OID='IG.LB']")
    ig.getparent().remove(ig)
    assert "DEF-MISSING-DATASET" in codes(check_datasets(bad, domains, lengths))


def test_schema_dir_can_be_passed(study, tmp_path):
    _s, domains, lengths, tree, _f = study
    assert check_define(tree, domains, lengths, schema_dir=schema_dir()) == []
    assert codes(check_define(tree, domains, lengths, schema_dir=tmp_path)) == {"DEF-SCHEMA"}


def test_bad_created_is_refused():
    spec = S.specs()
    domains = S.frames(spec)
    with pytest.raises(ValueError):
        build_define(spec, S.terminology(spec), domains, S.lengths(domains), created="2025-06-01")


# ------------------------------------------------------------------ output
def test_deterministic_bytes_and_atomic_write(tmp_path):
    paths = []
    for i in range(2):
        spec = S.specs()
        domains = S.frames(spec)
        tree, _f = build_define(spec, S.terminology(spec), domains, S.lengths(domains), created=S.CREATED)
        path = tmp_path / f"run{i}" / "define.xml"
        write_define(tree, path)
        paths.append(path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<ODM')
    assert sorted(p.name for p in paths[0].parent.iterdir()) == ["define.xml"]


def test_odmlib_reads_it(study, tmp_path):
    """A second, independent reader (odmlib's Define-XML 2.1 model) loads the written file."""
    import odmlib.define_loader as DL
    import odmlib.loader as LD

    *_, tree, _f = study
    path = tmp_path / "define.xml"
    write_define(tree, path)
    loader = LD.ODMLoader(DL.XMLDefineLoader(model_package="define_2_1", ns_uri="http://www.cdisc.org/ns/def/v2.1"))
    loader.open_odm_document(str(path))
    mdv = loader.MetaDataVersion()
    assert [ig.Name for ig in mdv.ItemGroupDef] == ["DM", "LB", "SUPPDM"]
    items = {i.OID: i for i in mdv.ItemDef}
    assert items["IT.DM.AGE"].DataType == "integer"
    assert {v.OID for v in mdv.ValueListDef} == {"VL.LB.LBORRES", "VL.LB.LBSTRESN", "VL.SUPPDM.QVAL"}
    assert "CL.C66731" in {c.OID for c in mdv.CodeList}


def test_written_file_parses_back_identically(study, tmp_path):
    *_, tree, _f = study
    path = tmp_path / "define.xml"
    write_define(tree, path)
    parsed = etree.parse(str(path), etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True))
    assert etree.tostring(parsed.getroot()) == etree.tostring(
        etree.fromstring(etree.tostring(tree.getroot()), etree.XMLParser(remove_blank_text=True)))


def test_iso8601_durations_are_duration_datetime_like_validation_expects():
    """--STINT/--ENINT hold ISO 8601 durations (SDTMIG value domain): define types them durationDatetime
    (no Length), as --DUR, and the validation suite checks the same variables as durations."""
    import dataclasses

    from cdisc_dpn.frames import DomainFrame
    from cdisc_dpn.standards.kinds import is_duration_name

    spec = S.specs()
    lb = spec.dataset("LB")
    extra = (S.var("LBSTINT", "Planned Start of Assessment Interval", order=12),
             S.var("LBENINT", "Planned End of Assessment Interval", order=13))
    lb = dataclasses.replace(lb, variables=lb.variables + extra)
    spec = dataclasses.replace(spec, datasets=tuple(lb if d.name == "LB" else d for d in spec.datasets))
    domains = S.frames(spec)
    frame = domains[1].frame.assign(LBSTINT=["-P1D", "-P1D", "", "-PT2H"], LBENINT=["P0D", "P0D", "", "PT1H"])
    domains[1] = DomainFrame(lb, frame, domains[1].provenance)
    lengths = S.lengths(domains)
    tree, _findings = build_define(spec, S.terminology(spec), domains, lengths, created=S.CREATED)
    for name in ("LBSTINT", "LBENINT"):
        item = one(tree, f".//odm:ItemDef[@OID='IT.LB.{name}']")
        assert item.get("DataType") == "durationDatetime" and item.get("Length") is None
        assert is_duration_name(name)
    assert check_xsd(tree) == []


def test_first_rows_from_the_writer_give_the_same_define(study):
    """The pipeline hands define the first row of each distinct text value (the XPT writer's
    CodedText.first) instead of factorizing again: the same define.xml, byte for byte."""
    from cdisc_dpn.pipeline import xpt_metadata
    from cdisc_dpn.xpt.writer import coded_columns

    spec, domains, lengths, tree, findings = study
    first_rows = {d.spec.name: {c: t.first for c, t in coded_columns(d.frame, xpt_metadata(d.spec)).items()}
                  for d in domains}
    assert any(first_rows.values())
    shared, shared_findings = build_define(spec, S.terminology(spec), domains, lengths, created=S.CREATED,
                                           first_rows=first_rows)
    assert etree.tostring(shared) == etree.tostring(tree)
    assert [f.message for f in shared_findings] == [f.message for f in findings]
    # rows that are not the first of each value would describe other values: the rows are really used
    wrong = {n: {c: f[:1] for c, f in cols.items()} for n, cols in first_rows.items()}
    narrowed, _ = build_define(spec, S.terminology(spec), domains, lengths, created=S.CREATED, first_rows=wrong)
    assert etree.tostring(narrowed) != etree.tostring(tree)
