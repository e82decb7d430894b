"""The mapping engine on a small hand-written study: sources, phases, SUPP--, derived records, ledger."""
from pathlib import Path

import pytest

from cdisc_dpn.derive.context import RunSettings
from cdisc_dpn.mapping.engine import map_study
from cdisc_dpn.mapping.ledger import build_ledger
from cdisc_dpn.raw.readers import read_form
from cdisc_dpn.derive.catalogue import known_algorithms
from cdisc_dpn.spec.loader import load_specs
from cdisc_dpn.terminology import load_terminology

STUDY = """
study: {studyid: TINY}
files: {terminology: terminology.yaml, units: units.yaml}
datasets: [dm.yaml, ex.yaml, qs.yaml]
date_formats: ["DD/MM/YYYY"]
subject: {form: dm, subject_column: SUBJECT}
forms:
  - {name: dm, file: dm.csv, subject_column: SUBJECT, required_columns: [SUBJECT, SEX]}
  - {name: rand, file: rand.csv, subject_column: SUBJECT}
  - {name: ex1, file: ex1.csv, subject_column: SUBJECT}
  - {name: ex2, file: ex2.csv, subject_column: SUBJECT}
  - {name: q, file: q.csv, subject_column: SUBJECT}
  - {name: junk, file: junk.csv, exclude_reason: test form used by the EDC vendor}
arms:
  - {armcd: A, arm: Active, elements: [SCRN, TRT]}
elements:
  - {etcd: SCRN, element: Screening, epoch: SCREENING, testrl: consent}
  - {etcd: TRT, element: Treatment, epoch: TREATMENT, testrl: first dose}
visits:
  - {visitnum: 1, visit: SCREENING, visitdy: -7, labels: [Screening]}
  - {visitnum: 2, visit: DAY 1, visitdy: 1, labels: [Day 1]}
"""
COMMON = """
  - {name: STUDYID, label: Study Identifier, type: Char, core: Req, origin: Assigned, algorithm: study_id}
  - {name: DOMAIN, label: Domain Abbreviation, type: Char, core: Req, origin: Assigned, algorithm: domain}
  - {name: USUBJID, label: Unique Subject Identifier, type: Char, core: Req, origin: Derived, algorithm: usubjid,
     params: {column: SUBJECT}}
"""
DM = """
dataset: {name: DM, label: Demographics, class: SPECIAL PURPOSE, structure: One record per subject, keys: [USUBJID]}
source:
  form: dm
  join: [{form: rand, on: [SUBJECT], first: true}]
variables:""" + COMMON + """
  - {name: SUBJID, label: Subject Identifier for the Study, type: Char, core: Req, origin: Collected, algorithm: assign, params: {column: SUBJECT}}
  - {name: RFSTDTC, label: Subject Reference Start Date/Time, type: Char, core: Exp, origin: Derived, algorithm: first_date,
     params: {sources: [{from: EX, variable: EXSTDTC}]}}
  - {name: RFXSTDTC, label: Date/Time of First Study Treatment, type: Char, core: Exp, origin: Derived, algorithm: first_date,
     params: {sources: [{from: EX, variable: EXSTDTC}]}}
  - {name: SITEID, label: Study Site Identifier, type: Char, core: Req, origin: Collected, algorithm: constant, params: {value: "01"}}
  - {name: SEX, label: Sex, type: Char, core: Req, codelist: C66731, origin: Collected, algorithm: recode, params: {column: SEX}}
  - {name: ARMCD, label: Planned Arm Code, type: Char, core: Exp, origin: Assigned, algorithm: assign, params: {column: rand.ARMCD}}
  - {name: ARM, label: Description of Planned Arm, type: Char, core: Exp, origin: Derived, algorithm: arm_name}
  - {name: ACTARMCD, label: Actual Arm Code, type: Char, core: Exp, origin: Derived, algorithm: actual_arm,
     params: {from: EX, treatment: EXTRT, arms: [{armcd: A, requires: [DRUG]}]}}
  - {name: ACTARM, label: Description of Actual Arm, type: Char, core: Exp, origin: Derived, algorithm: arm_name,
     params: {variable: ACTARMCD}}
  - {name: ARMNRS, label: Reason Arm and/or Actual Arm is Null, type: Char, core: Exp, codelist: C142179, origin: Derived,
     algorithm: arm_null_reason, params: {screen_failure: {column: SF, in: ["Y"]}}}
  - {name: COUNTRY, label: Country, type: Char, core: Req, origin: Assigned, algorithm: constant, params: {value: CHN}}
supplemental:
  - {qnam: NICKNAME, qlabel: Nickname, origin: Collected, idvar: "", algorithm: assign, params: {column: NICK}}
"""
EX = """
dataset: {name: EX, label: Exposure, class: INTERVENTIONS, structure: One record per dose, keys: [USUBJID, EXSTDTC]}
source:
  stack:
    - {form: ex1, columns: {SUBJECT: SUBJECT, D: DOSEDAT}, constants: {T: DRUG}}
    - {form: ex2, columns: {SUBJECT: SUBJECT, D: START}, constants: {T: BACKGROUND},
       filter: [{column: START, op: not_empty, reason: never started}]}
variables:""" + COMMON + """
  - {name: EXSEQ, label: Sequence Number, type: Num, core: Req, origin: Derived, algorithm: seq}
  - {name: EXTRT, label: Name of Treatment, type: Char, core: Req, origin: Collected, algorithm: assign, params: {column: T}}
  - {name: EXSTDTC, label: Start Date/Time of Treatment, type: Char, core: Exp, origin: Collected, algorithm: iso_date, params: {column: D}}
  - {name: EXSTDY, label: Study Day of Start of Treatment, type: Num, core: Perm, origin: Derived, algorithm: study_day,
     params: {variable: EXSTDTC}}
supplemental:
  - {qnam: STARTDAY, qlabel: Start Day Copy, origin: Derived, algorithm: assign, params: {variable: EXSTDY}}
"""
QS = """
dataset: {name: QS, label: Questionnaires, class: FINDINGS, structure: One record per item per visit, keys: [USUBJID, QSTESTCD, VISITNUM]}
source:
  form: q
  unpivot:
    keep_if_any: [RES]
    reason: item not answered
    items:
      - {constants: {CD: ITEM1}, columns: {RES: I1}}
      - {constants: {CD: ITEM2}, columns: {RES: I2}}
variables:""" + COMMON + """
  - {name: QSSEQ, label: Sequence Number, type: Num, core: Req, origin: Derived, algorithm: seq}
  - {name: QSTESTCD, label: Question Short Name, type: Char, core: Req, origin: Assigned, algorithm: assign, params: {column: CD}}
  - {name: QSTEST, label: Question Name, type: Char, core: Req, origin: Assigned, algorithm: assign, params: {column: CD}}
  - {name: QSCAT, label: Category of Question, type: Char, core: Req, origin: Assigned, algorithm: constant, params: {value: TINY}}
  - {name: QSORRES, label: Finding in Original Units, type: Char, core: Exp, origin: Collected, algorithm: assign, params: {column: RES}}
  - {name: QSSTRESC, label: Character Result/Finding in Std Format, type: Char, core: Exp, origin: Derived, algorithm: assign, params: {column: RES}}
  - {name: QSSTRESN, label: Numeric Finding in Standard Units, type: Num, core: Exp, origin: Derived, algorithm: numeric, params: {column: RES}}
  - {name: QSDRVFL, label: Derived Flag, type: Char, core: Perm, origin: Derived, algorithm: constant, params: {value: ""}}
  - {name: VISITNUM, label: Visit Number, type: Num, core: Exp, origin: Derived, algorithm: visitnum, params: {column: VISIT}}
  - {name: VISIT, label: Visit Name, type: Char, core: Perm, origin: Derived, algorithm: visit}
  - {name: QSDTC, label: Date/Time of Finding, type: Char, core: Exp, origin: Collected, algorithm: iso_date, params: {column: DAT}}
derived_records:
  - algorithm: sum_items
    params: {group_by: [STUDYID, DOMAIN, USUBJID, VISITNUM, VISIT, QSDTC], items: {QSTESTCD: [ITEM1, ITEM2]},
             value: QSSTRESN, set: {QSTESTCD: TOTAL, QSTEST: Total, QSDRVFL: "Y"},
             results: {QSSTRESN: num, QSSTRESC: char, QSORRES: char},
             copy: [STUDYID, DOMAIN, USUBJID, VISITNUM, VISIT, QSDTC], compare_column: TOT}
"""
FILES = {
    "dm.csv": "SUBJECT,SEX,SF,NICK\n01-001,Male,,Bob\n01-002,f,,\n01-003,F,Y,Cat\n01-004,M,,\n",
    "rand.csv": "SUBJECT,ARMCD\n01-001,A\n01-002,A\n01-004,A\n",
    "ex1.csv": "SUBJECT,DOSEDAT\n01-001,10/01/2026\n01-002,12/01/2026\n",
    "ex2.csv": "SUBJECT,START\n01-001,05/01/2026\n01-002,\n",
    "q.csv": "SUBJECT,VISIT,DAT,I1,I2,TOT\n01-001,Screening,03/01/2026,1,2,3\n01-001,Day 1,10/01/2026,1,,\n"
             "01-002,Screening,04/01/2026,2,2,5\n01-003,Screening,04/01/2026,,,\n",
    "junk.csv": "X\n1\n",
}


@pytest.fixture()
def tiny(tmp_path: Path):
    specs_dir, raw_dir = tmp_path / "specs", tmp_path / "raw"
    specs_dir.mkdir()
    raw_dir.mkdir()
    for name, text in {"study.yaml": STUDY, "dm.yaml": DM, "ex.yaml": EX, "qs.yaml": QS,
                       "terminology.yaml": "codelists: []\n", "units.yaml": "conversions: []\n"}.items():
        (specs_dir / name).write_text(text)
    for name, text in FILES.items():
        (raw_dir / name).write_text(text)
    specs, _ = load_specs(specs_dir)
    raw = {f.name: read_form(raw_dir, f) for f in specs.study.forms}
    result = map_study(specs, load_terminology(specs.terminology), raw, RunSettings())
    return specs, raw, result


def test_dm_joins_derives_across_datasets_and_explains_null_arms(tiny):
    _, _, result = tiny
    dm = result.domains["DM"].frame.set_index("SUBJID")
    assert dm.loc["01-001", "RFSTDTC"] == "2026-01-05"             # earliest of both stacked forms
    assert dm.loc["01-002", "RFSTDTC"] == "2026-01-12"
    assert dm["SEX"].tolist() == ["M", "F", "F", "M"]
    assert dm.loc["01-001", "ACTARMCD"] == "A" and dm.loc["01-001", "ACTARM"] == "Active"
    assert dm.loc["01-003", "ARMNRS"] == "SCREEN FAILURE" and dm.loc["01-003", "ARM"] == ""
    assert dm.loc["01-004", "ARMNRS"] == "ASSIGNED, NOT TREATED"


def test_stack_filter_seq_and_study_day(tiny):
    _, _, result = tiny
    ex = result.domains["EX"].frame
    assert ex[["USUBJID", "EXSEQ", "EXTRT", "EXSTDTC", "EXSTDY"]].values.tolist() == [
        ["TINY-01-001", 1.0, "BACKGROUND", "2026-01-05", 1.0],
        ["TINY-01-001", 2.0, "DRUG", "2026-01-10", 6.0],
        ["TINY-01-002", 1.0, "DRUG", "2026-01-12", 1.0]]
    prov = result.domains["EX"].provenance
    assert prov["__source_file"].tolist() == ["ex2.csv", "ex1.csv", "ex1.csv"]
    assert prov["__source_row"].tolist() == [2, 2, 3]


def test_unpivot_derived_total_and_mismatch_finding(tiny):
    _, _, result = tiny
    qs = result.domains["QS"].frame
    totals = qs[qs["QSTESTCD"] == "TOTAL"]
    assert totals[["USUBJID", "VISITNUM", "QSSTRESN", "QSDRVFL"]].values.tolist() == [
        ["TINY-01-001", 1.0, 3.0, "Y"], ["TINY-01-002", 1.0, 4.0, "Y"]]
    assert len(qs[(qs["USUBJID"] == "TINY-01-001") & (qs["VISITNUM"] == 2)]) == 1   # one item: no total
    mismatch = [f for f in result.findings if f.code == "DRV-TOTAL-MISMATCH"]
    assert len(mismatch) == 1 and "TINY-01-002" in mismatch[0].message
    assert qs.groupby("USUBJID")["QSSEQ"].apply(lambda s: s.is_unique).all()


def test_supp_records_link_to_parent(tiny):
    _, _, result = tiny
    supp = result.domains["SUPPDM"].frame
    assert supp[["USUBJID", "RDOMAIN", "IDVAR", "QNAM", "QVAL"]].values.tolist() == [
        ["TINY-01-001", "DM", "", "NICKNAME", "Bob"], ["TINY-01-003", "DM", "", "NICKNAME", "Cat"]]


def test_ledger_accounts_for_every_raw_row(tiny):
    specs, raw, result = tiny
    ledger, findings = build_ledger(specs, raw, result)
    rows = ledger.rows.set_index(["form", "row"])
    assert rows.loc[("ex2", 3), "status"] == "excluded" and "never started" in rows.loc[("ex2", 3), "reason"]
    assert rows.loc[("q", 5), "status"] == "excluded" and "item not answered" in rows.loc[("q", 5), "reason"]
    assert rows.loc[("junk", 2), "reason"] == "test form used by the EDC vendor"
    assert rows.loc[("rand", 2), "datasets"] == "DM"
    assert (ledger.rows["status"] != "unaccounted").all()
    assert findings == []
    assert sum(len(t) for t in raw.values()) == len(ledger.rows)


def test_unmapped_rows_fail_the_ledger(tiny, tmp_path):
    specs, raw, result = tiny
    raw["rand"].frame.loc[len(raw["rand"].frame)] = ["09-999", "A", "rand.csv", 99]
    _, findings = build_ledger(specs, raw, result)
    assert [f.code for f in findings] == ["LEDGER-UNACCOUNTED"]
    assert findings[0].source_row == 99


def test_collected_columns_no_spec_uses_are_listed(tiny):
    from cdisc_dpn.raw.checks import check_unused_columns

    specs, raw, _ = tiny
    algorithms = known_algorithms()
    assert check_unused_columns(specs, raw, algorithms) == []
    raw["dm"].frame["HOBBY"] = "chess"
    [finding] = check_unused_columns(specs, raw, algorithms)
    assert finding.code == "RAW-COLUMN-UNUSED" and "HOBBY" in finding.message and finding.file == "dm.csv"


def test_a_column_used_in_one_form_is_not_used_in_another(tiny):
    """Used means read by a spec from that form: NICK of dm is mapped (SUPPDM), NICK of rand is not, and a
    variable or a map value spelled like a column does not make the column used."""
    from cdisc_dpn.raw.checks import check_unused_columns

    specs, raw, _ = tiny
    raw["rand"].frame["NICK"] = "x"
    raw["rand"].frame["SEX"] = "F"           # SEX: a variable name, and dm's SEX column is mapped
    [finding] = check_unused_columns(specs, raw, known_algorithms())
    assert finding.file == "rand.csv" and finding.value == "NICK, SEX"


def test_qualifier_reading_a_dataset_level_variable_waits_for_it(tiny):
    _, _, result = tiny
    supp = result.domains["SUPPEX"].frame
    assert supp[["USUBJID", "IDVARVAL", "QNAM", "QVAL"]].values.tolist() == [
        ["TINY-01-001", "1", "STARTDAY", "1"], ["TINY-01-001", "2", "STARTDAY", "6"],
        ["TINY-01-002", "1", "STARTDAY", "1"]]


def test_concat_joins_parts_and_skips_empty_ones():
    import pandas as pd

    from cdisc_dpn.derive.general import concat

    class Ctx:
        src = pd.DataFrame(index=range(3))

        def value(self, part):
            return {"A": pd.Series(["x", "", "z"]), "B": pd.Series(["1", "2", ""])}[part["column"]]

        def blank(self, value=""):
            return pd.Series([value] * 3)

    parts = [{"column": "A"}, {"text": "-"}, {"column": "B"}]
    assert concat(Ctx(), {"parts": parts, "separator": ""}, None).tolist() == ["x-1", "-2", "z-"]
    assert concat(Ctx(), {"parts": [{"column": "A"}, {"column": "B"}], "separator": "/"}, None).tolist() == [
        "x/1", "2", "z"]
    assert concat(Ctx(), {"parts": [{"column": "A"}, {"column": "B"}], "separator": "/", "skip_empty": False},
                  None).tolist() == ["x/1", "/2", "z/"]
