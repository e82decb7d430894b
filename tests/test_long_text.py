"""SDTMIG 4.5.3.2 long text (`long_text: supp`): an AETERM over 200 characters keeps its first part,
continues in SUPPAE AETERM1, AETERM2..., is described in define.xml, and no longer stops the study."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from hypothesis import given, strategies as st
from lxml import etree

from cdisc_dpn.derive.long_text import split_text
from cdisc_dpn.define.xmlns import NS
from cdisc_dpn.pipeline import RunConfig, run_pipeline
from cdisc_dpn.spec.loader import load_specs
from cdisc_dpn.spec.supp import long_text_qnam, long_text_qualifier

ROOT = Path(__file__).resolve().parents[1]
PILOT = ROOT / "examples" / "cdiscpilot01"
RAW = ROOT.parent / "shared" / "reference" / "cdiscpilot01" / "raw"

WORDS = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=60)
LONG = st.lists(WORDS, min_size=1, max_size=40).map(" ".join)


# --------------------------------------------------------------------------- splitting
def test_split_between_words_keeps_first_200_in_the_variable():
    text = " ".join(f"word{i:03d}" for i in range(60))          # 60 words of 7 characters: 479 characters
    parts = split_text(text)
    assert [len(p) for p in parts] == [199, 199, 79]             # 25 words (199 characters) fit in 200
    assert " ".join(parts) == text and all(not p.startswith(" ") and not p.endswith(" ") for p in parts)


def test_a_word_longer_than_the_limit_is_cut_inside():
    parts = split_text("x" * 450)
    assert [len(p) for p in parts] == [200, 200, 50] and "".join(parts) == "x" * 450


def test_limit_counts_utf8_bytes_not_characters():
    parts = split_text("é" * 150)                                  # 300 bytes
    assert [len(p.encode("utf-8")) for p in parts] == [200, 100]


@given(LONG)
def test_parts_fit_and_lose_nothing_but_the_blanks_at_the_cuts(text):
    parts = split_text(text)
    assert all(0 < len(p.encode("utf-8")) <= 200 for p in parts) or parts == [""]
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")
    assert text.startswith(parts[0])


def test_qnam_is_name_plus_number_within_8_characters():
    assert [long_text_qnam("AETERM", n) for n in (1, 2, 10)] == ["AETERM1", "AETERM2", "AETERM10"]
    assert [long_text_qnam("CMDOSTXT", n) for n in (1, 10)] == ["CMDOSTX1", "CMDOST10"]


def test_implied_qualifier_carries_the_variable_label_and_origin():
    specs, _ = load_specs(PILOT)
    ae = specs.dataset("AE")
    q = long_text_qualifier(ae, "AETERM2")
    assert (q.qnam, q.qlabel, q.origin.type) == ("AETERM2", "Reported Term for the Adverse Event 2", "Collected")
    assert "SDTMIG 4.5.3.2" in q.comment
    assert long_text_qualifier(ae, "AEDECOD1") is None          # AEDECOD has no long_text option


# --------------------------------------------------------------------------- end to end
LONG_TERM = ("Application site erythema spreading from the patch area to the whole upper back with intense "
             "itching, small vesicles and a burning sensation that woke the subject at night; it was treated "
             "with a topical corticosteroid cream twice daily and cool compresses; the investigator noted that "
             "the erythema faded within ten days after the patch site was rotated to the opposite flank, "
             "then came back in a milder form at the new site two weeks later and resolved without treatment")


@pytest.fixture(scope="module")
def long_run(tmp_path_factory):
    raw = tmp_path_factory.mktemp("pilot-long") / "raw"
    shutil.copytree(RAW, raw)
    ae_file = raw / "ae_raw.csv"
    with ae_file.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    column = rows[0].index("IT.AETERM")
    rows[1][column] = LONG_TERM
    subject = "01-" + rows[1][rows[0].index("PATNUM")]
    with ae_file.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    out = raw.parent / "out"
    return run_pipeline(RunConfig(PILOT, raw, out)), out, subject


def test_long_aeterm_no_longer_stops_the_study(long_run):
    import pyreadstat

    assert len(LONG_TERM) > 400

    result, out, subject = long_run
    assert [f.render() for f in result.findings if f.severity.value == "error"] == [] and result.exit_code == 0
    ae, _ = pyreadstat.read_xport(str(out / "sdtm" / "ae.xpt"))
    supp, _ = pyreadstat.read_xport(str(out / "sdtm" / "suppae.xpt"))
    record = ae[ae["AETERM"].str.startswith("APPLICATION SITE ERYTHEMA SPREADING")]
    assert len(record) == 1 and record["USUBJID"].iat[0] == subject
    seq = str(int(record["AESEQ"].iat[0]))
    parts = supp[(supp["USUBJID"] == subject) & (supp["IDVARVAL"] == seq) & supp["QNAM"].str.startswith("AETERM")]
    assert parts["QNAM"].tolist() == ["AETERM1", "AETERM2"]
    assert set(parts["IDVAR"]) == {"AESEQ"}
    assert parts["QLABEL"].tolist() == ["Reported Term for the Adverse Event 1", "Reported Term for the Adverse Event 2"]
    assert set(parts["QORIG"]) == {"Collected"}
    assert len(record["AETERM"].iat[0]) <= 200
    assert " ".join([record["AETERM"].iat[0], *parts["QVAL"]]) == LONG_TERM.upper()


def test_define_describes_the_continuation_qnams(long_run):
    result, out, _ = long_run
    assert not [f for f in result.findings if f.code == "DEF-SUPP-QNAM"]
    tree = etree.parse(str(out / "sdtm" / "define.xml"))
    items = {el.get("Name"): el for el in tree.iterfind(".//odm:ItemDef", NS) if el.get("OID", "").startswith(
        "IT.SUPPAE.QVAL.")}
    assert {"AETERM1", "AETERM2"} <= set(items)
    item = items["AETERM1"]
    assert item.get("DataType") == "text" and int(item.get("Length")) <= 200
    assert item.find("odm:Description/odm:TranslatedText", NS).text == "Reported Term for the Adverse Event 1"
    assert item.find("def:Origin", NS).get("Type") == "Collected"
    comment = tree.find(f".//def:CommentDef[@OID='{item.get('{http://www.cdisc.org/ns/def/v2.1}CommentOID')}']", NS)
    assert "4.5.3.2" in "".join(comment.itertext())
    wheres = [el for el in tree.iterfind(".//def:WhereClauseDef/odm:RangeCheck", NS)
              if el.findtext("odm:CheckValue", namespaces=NS) == "AETERM1"]
    assert wheres
