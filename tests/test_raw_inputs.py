"""Exports as other EDC systems write them (issue 14): ODM, SAS formats, renames, blank lines, encodings.

Every test writes a real file in tmp_path and reads it back through read_form.
"""
from __future__ import annotations

import pandas as pd
import pyreadstat
import pytest

from cdisc_dpn.errors import InputError
from cdisc_dpn.raw.encoding import likely_codec
from cdisc_dpn.raw.readers import read_form
from cdisc_dpn.raw.table import SOURCE_ROW
from cdisc_dpn.spec.model import FormSpec, SpecLocation

WHERE = SpecLocation("study.yaml", 42)


def form(name="ae", file="ae.csv", fmt="csv", **options) -> FormSpec:
    return FormSpec(name=name, file=file, format=fmt, where=WHERE, **options)


def failure(tmp_path, spec, declared=()) -> InputError:
    with pytest.raises(InputError) as info:
        read_form(tmp_path, spec, declared)
    return info.value


# --------------------------------------------------------------------------- ODM 1.3.2 as an EDC writes it
ODM_EDC = """<?xml version="1.0" encoding="UTF-8"?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" FileType="Snapshot" FileOID="F.1" ODMVersion="1.3.2"
     CreationDateTime="2026-02-01T10:00:00">
 <ClinicalData StudyOID="S.RELEASE" MetaDataVersionOID="MDV.1">
  <SubjectData SubjectKey="56-001">
   <SiteRef LocationOID="SITE.56"/>
   <StudyEventData StudyEventOID="SE.AE">
    <FormData FormOID="F.AE">
     <ItemGroupData ItemGroupOID="IG.AE" ItemGroupRepeatKey="1">
      <ItemData ItemOID="IT.AETERM" Value="Headache"/>
      <ItemData ItemOID="IT.AESTDAT" Value="05 JAN 2026">
       <AuditRecord><UserRef UserOID="U.1"/><LocationRef LocationOID="SITE.56"/>
        <DateTimeStamp>2026-01-06T09:00:00</DateTimeStamp><ReasonForChange>typo</ReasonForChange></AuditRecord>
      </ItemData>
     </ItemGroupData>
     <ItemGroupData ItemGroupOID="IG.AE" ItemGroupRepeatKey="2">
      <ItemData ItemOID="IT.AETERM" Value="Nausea"/>
      <ItemData ItemOID="IT.AESTDAT" Value="UN UNK 2026"/>
      <ItemData ItemOID="IT.AESEV" Value="MILD"/>
     </ItemGroupData>
     <ItemGroupData ItemGroupOID="IG.AE" ItemGroupRepeatKey="3" TransactionType="Remove">
      <ItemData ItemOID="IT.AETERM" Value="entered in error"/>
     </ItemGroupData>
    </FormData>
   </StudyEventData>
  </SubjectData>
  <SubjectData SubjectKey="56-002">
   <SiteRef LocationOID="SITE.56"/>
   <StudyEventData StudyEventOID="SE.UNS" StudyEventRepeatKey="2">
    <FormData FormOID="F.VS">
     <ItemGroupData ItemGroupOID="IG.VS"><ItemData ItemOID="IT.WEIGHT" Value="70.5"/></ItemGroupData>
    </FormData>
    <FormData FormOID="F.AE">
     <ItemGroupData ItemGroupOID="IG.AE" ItemGroupRepeatKey="1">
      <ItemDataString ItemOID="IT.AETERM">Dizziness</ItemDataString>
      <ItemData ItemOID="IT.AESEV" IsNull="Yes"/>
      <Annotation SeqNum="1"><Comment>checked</Comment></Annotation>
     </ItemGroupData>
    </FormData>
   </StudyEventData>
  </SubjectData>
 </ClinicalData>
</ODM>
"""
AE_ITEMS = {"IT.AETERM": "AETERM", "IT.AESTDAT": "AESTDAT", "IT.AESEV": "AESEV", "IT.AELOC": "AELOC"}


def test_odm_edc_export_absent_items_are_empty_columns(tmp_path):
    (tmp_path / "edc.xml").write_text(ODM_EDC, encoding="utf-8")
    spec = form("ae", "edc.xml", "odm", form_oid="F.AE", columns=AE_ITEMS, subject_column="SUBJECT",
                required_columns=("AETERM", "AESER"))
    table = read_form(tmp_path, spec, declared=("AEOUT",))
    frame = table.frame
    assert frame["SUBJECT"].tolist() == ["56-001", "56-001", "56-002"]
    assert frame["SITE"].tolist() == ["SITE.56"] * 3
    assert frame["AETERM"].tolist() == ["Headache", "Nausea", "Dizziness"]
    assert frame["AESTDAT"].tolist() == ["05 JAN 2026", "UN UNK 2026", ""]   # audit trail is not a value
    assert frame["AESEV"].tolist() == ["", "MILD", ""]                      # IsNull="Yes" is empty
    assert frame["ITEMGROUPREPEAT"].tolist() == ["1", "2", "1"]
    assert frame["STUDYEVENTREPEAT"].tolist() == ["", "", "2"]
    for absent in ("AELOC", "AESER", "AEOUT"):                             # never in the file: empty columns
        assert frame[absent].tolist() == ["", "", ""]
    # provenance: the line of each ItemGroupData element in the file
    lines = ODM_EDC.splitlines()
    for row, term in zip(frame[SOURCE_ROW], frame["AETERM"]):
        assert "<ItemGroupData" in lines[row - 1]
        assert term in "\n".join(lines[row - 1:row + 2])
    codes = {n.code: n for n in table.notices}
    assert "3 declared item(s)" in codes["READ-ODM-ITEM-ABSENT"].message
    assert "AELOC" in codes["READ-ODM-ITEM-ABSENT"].message
    assert codes["READ-ODM-REMOVED"].message.startswith("1 record(s)")
    assert codes["READ-ODM-ITEM-ABSENT"].spec_line == 42


def test_odm_unknown_form_oid_is_a_warning_listing_the_form_oids(tmp_path):
    (tmp_path / "edc.xml").write_text(ODM_EDC, encoding="utf-8")
    table = read_form(tmp_path, form("ae", "edc.xml", "odm", form_oid="AE"), declared=("AETERM",))
    assert len(table) == 0 and table.data_columns[-1] == "AETERM"
    notice = next(n for n in table.notices if n.code == "READ-ODM-FORM-ABSENT")
    assert notice.severity.value == "warning"
    assert "F.AE, F.VS" in notice.message


def test_odm_item_groups_option_selects_groups(tmp_path):
    (tmp_path / "edc.xml").write_text(ODM_EDC, encoding="utf-8")
    table = read_form(tmp_path, form("vs", "edc.xml", "odm", form_oid="F.VS", item_groups=("IG.VS",)))
    assert table.frame["IT.WEIGHT"].tolist() == ["70.5"]
    assert table.frame["STUDYEVENT"].tolist() == ["SE.UNS"]


def test_odm_entity_expansion_is_refused_not_performed(tmp_path):
    bomb = ('<?xml version="1.0"?><!DOCTYPE ODM [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
            '<ODM><ClinicalData><SubjectData SubjectKey="1"><StudyEventData StudyEventOID="E">'
            '<FormData FormOID="AE"><ItemGroupData ItemGroupOID="G"><ItemData ItemOID="X" Value="ok"/>'
            '<ItemDataString ItemOID="Y">&c;</ItemDataString></ItemGroupData></FormData></StudyEventData>'
            '</SubjectData></ClinicalData></ODM>')
    (tmp_path / "edc.xml").write_text(bomb)
    table = read_form(tmp_path, form("ae", "edc.xml", "odm", form_oid="AE"))
    assert table.frame["X"].tolist() == ["ok"]
    assert "aaaaaaaaaa" not in table.frame["Y"].iloc[0]


def test_odm_not_xml_names_the_file_and_spec_line(tmp_path):
    (tmp_path / "edc.xml").write_text("<ODM><ClinicalData>")
    finding = failure(tmp_path, form("ae", "edc.xml", "odm")).findings[0]
    assert finding.code == "READ-ODM" and finding.spec_line == 42 and "edc.xml" in finding.file


# --------------------------------------------------------------------------- SAS formats
def write_sas(tmp_path, frame, formats, name="vs.xpt"):
    pyreadstat.write_xport(frame, str(tmp_path / name), file_format_version=5, table_name="VS",
                           variable_format=formats)


SAS_FRAME = pd.DataFrame({"SUBJECT": ["56-001", "56-002", "56-003"], "WEIGHT": [66.0, 70.25, None],
                          "VSDAT": [24112.0, 24113.0, None], "VSDTM": [2083309200.0, 2083334400.0, None],
                          "VSTIM": [30600.0, 59.0, None], "SEX": [1.0, 2.0, 3.0], "YN": ["Y", "N", ""],
                          "COUNT": [3.0, 12.0, 0.0], "VSHM": [30659.0, 0.0, None],
                          "VSDTM16": [2083309259.0, 0.0, None]})
SAS_FORMATS = {"WEIGHT": "5.1", "VSDAT": "DATE9.", "VSDTM": "DATETIME20.", "VSTIM": "TIME8.", "SEX": "SEXF.",
               "YN": "$NYF.", "COUNT": "BEST12.", "VSHM": "TIME5.", "VSDTM16": "DATETIME16."}


def test_sas_numbers_dates_times_and_user_formats_keep_their_meaning(tmp_path):
    write_sas(tmp_path, SAS_FRAME, SAS_FORMATS)
    table = read_form(tmp_path, form("vs", "vs.xpt", "xpt", value_formats={"SEXF": {"1": "Male", "2": "Female"},
                                                                            "NYF": {"Y": "Yes", "N": "No"}}))
    frame = table.frame
    assert frame["WEIGHT"].tolist() == ["66.0", "70.3", ""]           # 5.1: one decimal, half away from zero
    assert frame["VSDAT"].tolist() == ["2026-01-06", "2026-01-07", ""]
    assert frame["VSDTM"].tolist() == ["2026-01-06T09:00:00", "2026-01-06T16:00:00", ""]
    assert frame["VSTIM"].tolist() == ["08:30:00", "00:00:59", ""]
    assert frame["SEX"].tolist() == ["Male", "Female", "3"]             # a code the format lacks stays a code
    assert frame["YN"].tolist() == ["Yes", "No", ""]
    assert frame["COUNT"].tolist() == ["3", "12", "0"]
    assert frame["VSHM"].tolist() == ["08:30", "00:00", ""]                 # TIME5. shows no seconds
    assert frame["VSDTM16"].tolist() == ["2026-01-06T09:00", "1960-01-01T00:00", ""]
    assert table.notices == []


def test_sas_numbers_raw_switch_and_undeclared_user_format_notice(tmp_path):
    write_sas(tmp_path, SAS_FRAME, SAS_FORMATS)
    table = read_form(tmp_path, form("vs", "vs.xpt", "xpt", numbers="raw"))
    assert table.frame["WEIGHT"].tolist() == ["66", "70.25", ""]
    assert table.frame["VSDAT"].tolist() == ["2026-01-06", "2026-01-07", ""]   # dates are always ISO 8601
    assert table.frame["SEX"].tolist() == ["1", "2", "3"]
    notices = {n.message.split("user format ")[1].split(",")[0]: n for n in table.notices}
    assert set(notices) == {"SEXF", "NYF"}
    assert notices["SEXF"].column == "SEX" and notices["SEXF"].spec_line == 42
    assert "value_formats" in notices["SEXF"].fix


def test_sas_missing_format_catalogue_is_an_input_error(tmp_path):
    write_sas(tmp_path, SAS_FRAME, SAS_FORMATS)
    finding = failure(tmp_path, form("vs", "vs.xpt", "xpt", format_catalog="formats.sas7bcat")).findings[0]
    assert finding.code == "READ-MISSING" and "formats.sas7bcat" in finding.message


def test_sas_unreadable_catalogue_is_an_input_error(tmp_path):
    write_sas(tmp_path, SAS_FRAME, SAS_FORMATS)
    (tmp_path / "formats.sas7bcat").write_bytes(b"not a catalogue" * 40)
    finding = failure(tmp_path, form("vs", "vs.xpt", "xpt", format_catalog="formats.sas7bcat")).findings[0]
    assert finding.code == "READ-SAS" and "catalogue" in finding.message


# --------------------------------------------------------------------------- columns: rename map
def test_rename_map_gives_the_spec_names(tmp_path):
    (tmp_path / "ae.csv").write_text("Subject,SiteNumber,AESTDAT_RAW,Other\n56-001,56,05 JAN 2026,x\n")
    table = read_form(tmp_path, form(columns={"Subject": "SUBJECT", "SiteNumber": "SITE", "AESTDAT_RAW": "AESTDAT"},
                                     required_columns=("SUBJECT", "AESTDAT")))
    assert table.data_columns == ["SUBJECT", "SITE", "AESTDAT", "Other"]
    assert table.frame["AESTDAT"].tolist() == ["05 JAN 2026"]


def test_rename_map_naming_an_absent_column(tmp_path):
    (tmp_path / "ae.csv").write_text("Subject,Term\n56-001,x\n")
    finding = failure(tmp_path, form(columns={"SubjectId": "SUBJECT"})).findings[0]
    assert finding.code == "READ-MISSING-COLUMN" and finding.column == "SubjectId"
    assert "Subject, Term" in finding.fix and finding.spec_line == 42


def test_rename_map_collision(tmp_path):
    (tmp_path / "ae.csv").write_text("Subject,SUBJECT\n56-001,56-001\n")
    finding = failure(tmp_path, form(columns={"Subject": "SUBJECT"})).findings[0]
    assert finding.code == "READ-HEADER" and "would both be named 'SUBJECT'" in finding.message


# --------------------------------------------------------------------------- blank lines, empty forms
def test_doubled_line_endings_are_skipped_and_counted(tmp_path):
    body = "SUBJECT,AETERM\r\n56-001,Headache\r\n56-002,Nausea\r\n"
    (tmp_path / "ae.csv").write_bytes(body.replace("\r\n", "\r\r\n").encode())
    table = read_form(tmp_path, form())
    assert table.frame["AETERM"].tolist() == ["Headache", "Nausea"]
    assert table.frame[SOURCE_ROW].tolist() == [3, 5]                 # as a text editor numbers the lines
    notice = table.notices[0]
    assert notice.code == "READ-BLANK-LINES" and "3 blank line(s)" in notice.message
    assert "2, 4, 6" in notice.message


def test_rows_of_only_delimiters_are_blank_lines(tmp_path):
    (tmp_path / "ae.csv").write_text("SUBJECT,AETERM\n,\n56-001,Headache\n , \n")
    table = read_form(tmp_path, form())
    assert len(table) == 1 and table.notices[0].message.startswith("2 blank line(s)")


def test_multiline_quoted_value_keeps_row_numbers(tmp_path):
    (tmp_path / "ae.csv").write_text('SUBJECT,AETERM\n56-001,"two\nlines"\n56-002,x\n')
    assert read_form(tmp_path, form()).frame[SOURCE_ROW].tolist() == [2, 4]


def test_header_only_form_has_no_records(tmp_path):
    (tmp_path / "ae.csv").write_text("SUBJECT,AETERM\n")
    table = read_form(tmp_path, form(required_columns=("AETERM",)))
    assert len(table) == 0 and table.data_columns == ["SUBJECT", "AETERM"] and table.notices == []


def test_xlsx_blank_rows_and_title_rows(tmp_path):
    pd.DataFrame([["Lab export 2026-02-01", None], [None, None], ["SUBJECT", "LBORRES"], ["56-001", 5.5],
                  [None, None], ["56-002", 6.0]]).to_excel(tmp_path / "lab.xlsx", index=False, header=False)
    table = read_form(tmp_path, form("lab", "lab.xlsx", "xlsx", header_row=3))
    assert table.frame["LBORRES"].tolist() == ["5.5", "6"]
    assert table.frame[SOURCE_ROW].tolist() == [4, 6]
    assert table.notices[0].code == "READ-BLANK-LINES" and "row(s) 5" in table.notices[0].message


# --------------------------------------------------------------------------- encodings, delimiters, title rows
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-8"])
def test_byte_order_mark_decides(tmp_path, codec):
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff", "utf-8": b"\xef\xbb\xbf"}[codec]
    (tmp_path / "ae.csv").write_bytes(bom + "SUBJECT,AETERM\r\n56-001,Ménière disease\r\n".encode(codec))
    table = read_form(tmp_path, form())                                  # nothing declared
    assert table.frame["AETERM"].tolist() == ["Ménière disease"]


def test_declared_utf16_is_obeyed(tmp_path):
    (tmp_path / "ae.csv").write_bytes("SUBJECT,AETERM\n56-001,头痛\n".encode("utf-16"))
    assert read_form(tmp_path, form(encoding="utf-16")).frame["AETERM"].tolist() == ["头痛"]
    (tmp_path / "ae.csv").write_bytes("SUBJECT,AETERM\n56-001,头痛\n".encode("utf-16-le"))   # no BOM
    assert read_form(tmp_path, form(encoding="utf-16-le")).frame["AETERM"].tolist() == ["头痛"]


def test_utf16_without_bom_undeclared_names_the_codec(tmp_path):
    (tmp_path / "ae.csv").write_bytes("SUBJECT,AETERM\n56-001,Headache\n".encode("utf-16-le"))
    finding = failure(tmp_path, form()).findings[0]
    assert finding.code == "READ-ENCODING" and "encoding: utf-16-le" in finding.fix


def test_bom_contradicting_the_declared_encoding_is_noticed(tmp_path):
    (tmp_path / "ae.csv").write_bytes("SUBJECT,AETERM\n56-001,Ménière\n".encode("utf-16"))
    table = read_form(tmp_path, form(encoding="cp1252"))
    assert table.frame["AETERM"].tolist() == ["Ménière"]
    assert table.notices[0].code == "READ-ENCODING-BOM"


def test_cp1252_file_hint_names_cp1252_and_the_declared_codec_reads_it(tmp_path):
    data = "SUBJECT,MHTERM\n56-001,Ménière's disease\n56-002,Sjögren syndrome – primary\n".encode("cp1252")
    (tmp_path / "mh.csv").write_bytes(data)
    finding = failure(tmp_path, form("mh", "mh.csv")).findings[0]
    assert finding.code == "READ-ENCODING" and finding.source_row == 2
    assert "decodes as cp1252" in finding.message and "encoding: cp1252" in finding.fix
    assert "gb18030" not in finding.message + finding.fix
    table = read_form(tmp_path, form("mh", "mh.csv", encoding="cp1252"))
    assert table.frame["MHTERM"].tolist() == ["Ménière's disease", "Sjögren syndrome – primary"]


def test_gb18030_file_hint_names_gb18030(tmp_path):
    data = "SUBJECT,AETERM\n56-001,头痛\n56-002,恶心呕吐\n56-003,𠀀 rare\n".encode("gb18030")
    (tmp_path / "ae.csv").write_bytes(data)
    finding = failure(tmp_path, form()).findings[0]
    assert "decodes as gb18030" in finding.message and "encoding: gb18030" in finding.fix
    terms = read_form(tmp_path, form(encoding="gb18030")).frame["AETERM"].tolist()
    assert terms == ["头痛", "恶心呕吐", "𠀀 rare"]


def test_likely_codec_on_plain_ascii_and_utf8():
    assert likely_codec(b"plain") == "utf-8"
    assert likely_codec("Ménière".encode("cp1252")) == "cp1252"


def test_unknown_declared_encoding(tmp_path):
    (tmp_path / "ae.csv").write_text("SUBJECT\n1\n")
    finding = failure(tmp_path, form(encoding="klingon")).findings[0]
    assert finding.code == "READ-ENCODING" and finding.value == "klingon" and finding.spec_line == 42


def test_semicolon_file_gets_a_delimiter_hint_then_reads_with_the_option(tmp_path):
    (tmp_path / "ae.csv").write_text("SUBJECT;AETERM;WEIGHT\n56-001;Headache;70,5\n")
    finding = failure(tmp_path, form()).findings[0]
    assert finding.code == "READ-DELIMITER" and 'delimiter: ";"' in finding.fix
    table = read_form(tmp_path, form(delimiter=";"))
    assert table.frame["WEIGHT"].tolist() == ["70,5"]


def test_tab_delimited(tmp_path):
    (tmp_path / "ae.csv").write_text("SUBJECT\tAETERM\n56-001\tHeadache, severe\n")
    assert read_form(tmp_path, form(delimiter="\t")).frame["AETERM"].tolist() == ["Headache, severe"]


def test_title_rows_above_the_header(tmp_path):
    (tmp_path / "ae.csv").write_text('Study RELEASE-DPN, "AE listing"\nExported 2026-02-01\n'
                                     "SUBJECT,AETERM\n56-001,Headache\n")
    table = read_form(tmp_path, form(header_row=3))
    assert table.frame["AETERM"].tolist() == ["Headache"] and table.frame[SOURCE_ROW].tolist() == [4]
    finding = failure(tmp_path, form(header_row=9)).findings[0]
    assert finding.code == "READ-HEADER" and "only 4 line(s)" in finding.message


def test_latin_text_declared_as_gb18030_is_a_warning_not_silent_mojibake(tmp_path):
    (tmp_path / "mh.csv").write_bytes("SUBJECT,MHTERM\n56-001,Headache\n56-002,Ménière's disease\n".encode("cp1252"))
    table = read_form(tmp_path, form("mh", "mh.csv", encoding="gb18030"))
    warning = next(n for n in table.notices if n.code == "READ-ENCODING-SUSPECT")
    assert warning.severity.value == "warning" and warning.source_row == 3
    assert "Ménière's disease" in warning.message and "encoding: cp1252" in warning.fix
    gb = tmp_path / "gb"
    gb.mkdir()
    (gb / "mh.csv").write_bytes("SUBJECT,MHTERM\n56-001,头痛\n".encode("gb18030"))
    assert read_form(gb, form("mh", "mh.csv", encoding="gb18030")).notices == []


def test_odm_root_that_is_not_odm(tmp_path):
    (tmp_path / "edc.xml").write_text('<?xml version="1.0"?><define><ItemGroupDef/></define>')
    finding = failure(tmp_path, form("ae", "edc.xml", "odm")).findings[0]
    assert finding.code == "READ-ODM" and "<define>" in finding.message


def test_multi_character_delimiter_at_read_time(tmp_path):
    (tmp_path / "ae.csv").write_text("SUBJECT||AETERM\n56-001||x\n")
    finding = failure(tmp_path, form(delimiter="||")).findings[0]
    assert finding.code == "READ-DELIMITER" and finding.spec_line == 42


def test_blank_header_row(tmp_path):
    (tmp_path / "ae.csv").write_text("\nSUBJECT,AETERM\n56-001,x\n")
    finding = failure(tmp_path, form()).findings[0]
    assert finding.code == "READ-HEADER" and "row 1 (the header row) is blank" in finding.message
    assert "header_row" in finding.fix
    assert read_form(tmp_path, form(header_row=2)).frame["AETERM"].tolist() == ["x"]


def test_xlsx_header_row_beyond_the_sheet(tmp_path):
    pd.DataFrame({"SUBJECT": ["56-001"]}).to_excel(tmp_path / "lab.xlsx", index=False)
    finding = failure(tmp_path, form("lab", "lab.xlsx", "xlsx", header_row=5)).findings[0]
    assert finding.code == "READ-EMPTY" and "row 5" in finding.message


def test_odm_on_one_line_numbers_records_by_position(tmp_path):
    one_line = " ".join(line.strip() for line in ODM_EDC.splitlines()[1:])
    (tmp_path / "edc.xml").write_text(one_line, encoding="utf-8")
    table = read_form(tmp_path, form("ae", "edc.xml", "odm", form_oid="F.AE", columns=AE_ITEMS))
    assert table.frame[SOURCE_ROW].tolist() == [1, 2, 3]
    assert table.frame["AETERM"].tolist() == ["Headache", "Nausea", "Dizziness"]
