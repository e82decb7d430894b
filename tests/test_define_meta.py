"""validate --define without --study: define.xml's ExtendedValue terms and sponsor codelists are the
study's terminology, so the run's own output gives no off-codelist warnings for its declared extensions."""
from __future__ import annotations

from lxml import etree

from cdisc_dpn.validation import validate_folder
from cdisc_dpn.validation.define_meta import read_define_codelists


def _extended_terms(define_path) -> set[tuple[str, str]]:
    """(codelist OID, term) marked def:ExtendedValue="Yes", read with plain XPath (not the code under test)."""
    tree = etree.parse(str(define_path))
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
    return {(item.getparent().get("OID"), item.get("CodedValue"))
            for item in tree.xpath("//odm:CodeList/*[@def:ExtendedValue='Yes']", namespaces=ns)}


def test_read_define_codelists_finds_extensions_and_variable_links(pipeline_run):
    _result, out = pipeline_run
    define = out / "sdtm" / "define.xml"
    read = read_define_codelists(define)
    expected = _extended_terms(define)
    assert expected, "the study's define.xml declares sponsor extensions"
    assert {(oid, t) for oid, cl in read.codelists.items() for t in cl.extended} == expected
    assert read.variables["DM"]["SEX"] == "CL.C66731"
    assert read.codelists["CL.C66731"].nci_code == "C66731"
    assert read.order["DM"][:3] == ("STUDYID", "DOMAIN", "USUBJID")


def test_validate_with_define_reads_extended_values(pipeline_run):
    _result, out = pipeline_run
    sdtm, define = out / "sdtm", out / "sdtm" / "define.xml"
    extended = {t for _oid, t in _extended_terms(define)}
    without = validate_folder(sdtm)
    off = [f for f in without.findings if f.code == "DPN-GX-CT-EXT"]
    assert any(f.value in extended for f in off), "SDTMIG metadata alone flags the sponsor extensions"
    with_define = validate_folder(sdtm, define_path=define)
    flagged = [f for f in with_define.findings if f.code == "DPN-GX-CT-EXT" and f.value in extended]
    assert flagged == []
    counts = with_define.failures_by_severity()
    assert counts["warning"] < without.failures_by_severity()["warning"]
    assert counts["error"] == 0
