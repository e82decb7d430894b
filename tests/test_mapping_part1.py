"""RELEASE-DPN specs AE, DS, CM, MH, IE and the trial design (TA, TE, TV, TI, TS) on the synthetic study.

The study's own mappings/ are copied and restricted to these datasets and the ones they need
(DM, EX, SV, SE), then mapped from a small synthetic study with a fixed seed.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cdisc_dpn.derive.dates import is_iso8601
from cdisc_dpn.errors import Severity
from cdisc_dpn.mapping.engine import map_study
from cdisc_dpn.raw.readers import read_form
from cdisc_dpn.spec.loader import load_specs
from cdisc_dpn.synth import generate_study
from cdisc_dpn.terminology import load_terminology

ROOT = Path(__file__).resolve().parent.parent
MAPPINGS = ROOT / "mappings"
RULES = ROOT / "cdisc_dpn" / "validation" / "rules.yaml"
PART1 = ["AE", "DS", "CM", "MH", "IE", "TA", "TE", "TV", "TI", "TS"]
EVENTS_ETC = ["AE", "DS", "CM", "MH", "IE"]
NEEDED = ["dm.yaml", "ex.yaml", "sv.yaml", "se.yaml"]


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("part1")
    raw = tmp / "raw"
    generate_study(raw, 60, 20231)
    specs_dir = tmp / "mappings"
    shutil.copytree(MAPPINGS, specs_dir)
    study = specs_dir / "study.yaml"
    files = NEEDED + [f"{d.lower()}.yaml" for d in PART1]
    text = re.sub(r"^datasets:\n(?:  - .*\n)+", "datasets:\n" + "".join(f"  - {f}\n" for f in files),
                  study.read_text(encoding="utf-8"), flags=re.M)
    study.write_text(text, encoding="utf-8")
    specs, spec_findings = load_specs(specs_dir)
    term = load_terminology(specs.terminology)
    forms = {f.name: read_form(raw, f) for f in specs.study.forms}
    result = map_study(specs, term, forms)
    return specs, spec_findings, term, forms, result


def frame(mapped, name: str) -> pd.DataFrame:
    return mapped[4].domains[name].frame


def test_specs_load_without_findings_and_map_without_errors(mapped):
    specs, spec_findings, _, _, result = mapped
    assert [f.render() for f in spec_findings if f.severity is not Severity.NOTICE] == []
    mine = set(PART1) | {f"SUPP{d}" for d in PART1}
    errors = [f.render() for f in result.findings if f.severity is Severity.ERROR and (f.dataset in mine)]
    assert errors == []
    for name in PART1:
        assert name in result.domains and len(frame(mapped, name)) > 0, name
    assert {"SUPPAE", "SUPPDS"} <= set(result.domains)


def test_every_usubjid_is_a_dm_subject(mapped):
    subjects = set(frame(mapped, "DM")["USUBJID"])
    for name in EVENTS_ETC + ["SUPPAE", "SUPPDS"]:
        found = set(frame(mapped, name)["USUBJID"])
        assert "" not in found, name
        assert found <= subjects, (name, sorted(found - subjects)[:5])


def test_seq_is_unique_per_subject_and_integer(mapped):
    for name in EVENTS_ETC:
        f = frame(mapped, name)
        seq = f[f"{name}SEQ"]
        assert seq.notna().all() and (seq == seq.round()).all(), name
        assert not f.duplicated(["USUBJID", f"{name}SEQ"]).any(), name


def test_dates_are_iso8601(mapped):
    for name in EVENTS_ETC:
        f = frame(mapped, name)
        for col in [c for c in f.columns if c.endswith("DTC")]:
            bad = [v for v in f[col] if v and not is_iso8601(v)]
            assert bad == [], (name, col, bad[:5])


def test_partial_ae_start_date_stays_partial_without_study_day(mapped):
    ae = frame(mapped, "AE")
    partial = ae[(ae["AESTDTC"] != "") & (ae["AESTDTC"].str.len() < 10)]
    assert len(partial) > 0, "the synthetic study should carry partial AE start dates"
    assert partial["AESTDY"].isna().all()
    assert (partial["EPOCH"] == "").all()
    dm = frame(mapped, "DM").set_index("USUBJID")["RFSTDTC"]
    complete = ae[(ae["AESTDTC"].str.len() >= 10) & (ae["USUBJID"].map(dm).str.len() >= 10)]
    assert complete["AESTDY"].notna().all()
    assert (complete["AESTDY"] != 0).all()


def test_ae_coding_seriousness_and_ongoing(mapped):
    ae = frame(mapped, "AE")
    raw = mapped[3]["ae"].frame
    # coded terms come from the EDC's coding module; uncoded ones stay empty (never guessed)
    assert (ae["AEDECOD"] != "").sum() == (raw["PT"].str.strip() != "").sum()
    assert (ae["AESOC"] == ae["AEBODSYS"]).all()
    coded = ae[ae["AEDECOD"] != ""]
    assert coded["AEPTCD"].notna().all() and coded["AESOCCD"].notna().all()
    assert set(ae["AESER"]) <= {"Y", "N"}
    serious = ae[ae["AESER"] == "Y"]
    criteria = ["AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE"]
    assert len(serious) and (serious[criteria] != "").all(axis=1).all()
    assert (ae.loc[ae["AESER"] == "N", criteria] == "").all().all()
    ongoing = ae[ae["AEENRTPT"] == "ONGOING"]
    assert (ongoing["AEENDTC"] == "").all() and (ongoing["AEENTPT"] == "END OF STUDY").all()
    assert (ae.loc[ae["AEENRTPT"] == "", "AEENTPT"] == "").all()
    located = ae[ae["AELOC"] != ""]
    assert len(located) and (located["AELAT"] != "").all()
    assert set(located["AELOC"]) <= {"CALF", "THIGH"}
    supp = frame(mapped, "SUPPAE")
    assert set(supp["QNAM"]) == {"AERELCON"} and len(supp) == len(ae)
    assert set(supp["IDVAR"]) == {"AESEQ"}
    keys = set(zip(ae["USUBJID"], ae["AESEQ"].astype(int).astype(str)))
    assert set(zip(supp["USUBJID"], supp["IDVARVAL"])) <= keys


def test_screen_failures_have_disposition_and_ie_records(mapped):
    dm, ds, ie = frame(mapped, "DM"), frame(mapped, "DS"), frame(mapped, "IE")
    failures = set(dm.loc[dm["ARMNRS"] == "SCREEN FAILURE", "USUBJID"])
    assert failures
    assert failures == set(ds.loc[ds["DSDECOD"] == "SCREEN FAILURE", "USUBJID"])
    assert set(ie["USUBJID"]) == failures
    events = ds[ds["DSCAT"] == "DISPOSITION EVENT"]
    assert not events.duplicated("USUBJID").any() and set(events["USUBJID"]) == set(dm["USUBJID"])
    sf = events[events["DSDECOD"] == "SCREEN FAILURE"]
    assert (sf["EPOCH"] == "SCREENING").all()
    consent = ds[ds["DSDECOD"] == "INFORMED CONSENT OBTAINED"]
    assert set(consent["USUBJID"]) == set(dm["USUBJID"])
    assert (consent["DSCAT"] == "PROTOCOL MILESTONE").all()
    randomized = set(ds.loc[ds["DSDECOD"] == "RANDOMIZED", "USUBJID"])
    assert randomized == set(dm.loc[dm["ARMCD"] != "", "USUBJID"])
    assert not randomized & failures


def test_ie_matches_ti_and_all_met_rows_are_ledgered(mapped):
    specs, _, _, forms, result = mapped
    ie, ti = frame(mapped, "IE"), frame(mapped, "TI")
    criteria = {c.ietestcd: (c.ietest, c.iecat) for c in specs.study.criteria}
    assert dict(zip(ti["IETESTCD"], zip(ti["IETEST"], ti["IECAT"]))) == criteria
    for _, row in ie.iterrows():
        assert (row["IETEST"], row["IECAT"]) == criteria[row["IETESTCD"]]
    assert set(ie["IEORRES"]) <= {"Y", "N"} and (ie["IEORRES"] == ie["IESTRESC"]).all()
    assert ((ie["IECAT"] == "INCLUSION") == (ie["IEORRES"] == "N")).all()
    assert (ie["VISITNUM"] == 1).all() and (ie["VISIT"] == "SCREENING").all() and (ie["EPOCH"] == "SCREENING").all()
    raw_rows = len(forms["ie"].frame)
    excluded = [e for e in result.exclusions if e.dataset == "IE"]
    assert excluded and all("all eligibility criteria met" in e.reason for e in excluded)
    assert len(ie) + sum(len(e.rows) for e in excluded) == raw_rows


def test_mh_includes_the_diabetes_history(mapped):
    mh, forms = frame(mapped, "MH"), mapped[3]
    dh_subjects = set("RELEASE-DPN-" + forms["dh"].frame["SUBJECT"].str.strip())
    for term in ("DIABETES MELLITUS TYPE 2", "DIABETIC PERIPHERAL NEUROPATHY"):
        rows = mh[mh["MHTERM"] == term]
        assert set(rows["USUBJID"]) == dh_subjects and not rows.duplicated("USUBJID").any(), term
        assert (rows["MHPRESP"] == "Y").all() and (rows["MHOCCUR"] == "Y").all()
    general = mh[mh["MHCAT"] == "GENERAL MEDICAL HISTORY"]
    assert len(general) == len(forms["mh"].frame)
    assert (general.loc[general["MHENRTPT"] == "ONGOING", "MHENDTC"] == "").all()


def test_cm_ongoing_and_numeric_dose(mapped):
    cm = frame(mapped, "CM")
    assert len(cm) == len(mapped[3]["cm"].frame)
    assert cm["CMDOSE"].dropna().gt(0).all()
    ongoing = cm[cm["CMENRTPT"] == "ONGOING"]
    assert len(ongoing) and (ongoing["CMENDTC"] == "").all() and (ongoing["CMENTPT"] == "END OF STUDY").all()


def test_ts_has_the_fda_parameters(mapped):
    ts = frame(mapped, "TS")
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))["rules"]
    required = set()
    for rule in rules:
        if rule["check"] == "ts_parameters_present":
            required |= set(rule["params"]["required"])
    assert required and required <= set(ts["TSPARMCD"]), sorted(required - set(ts["TSPARMCD"]))
    assert not ts.duplicated(["TSPARMCD", "TSSEQ"]).any()
    empty = ts[ts["TSVAL"] == ""]
    assert (empty["TSVALNF"] != "").all() and (ts.loc[ts["TSVAL"] != "", "TSVALNF"] == "").all()
    actsub = ts.loc[ts["TSPARMCD"] == "ACTSUB", "TSVAL"].tolist()
    dm = frame(mapped, "DM")
    assert actsub == [str((dm["ARMCD"] != "").sum())]


def test_trial_design_follows_study_yaml(mapped):
    specs = mapped[0]
    ta, te, tv = frame(mapped, "TA"), frame(mapped, "TE"), frame(mapped, "TV")
    assert len(ta) == sum(len(a.elements) for a in specs.study.arms)
    assert set(te["ETCD"]) == {e.etcd for e in specs.study.elements} == set(ta["ETCD"])
    assert list(tv["VISITNUM"]) == sorted(v.visitnum for v in specs.study.visits)


def test_values_are_in_their_codelists(mapped):
    specs, _, term, _, result = mapped
    checked = 0
    for spec in specs.datasets:
        if spec.name not in PART1:
            continue
        f = result.domains[spec.name].frame
        for v in spec.variables:
            if v.codelist and v.type == "Char":
                allowed = set(term.get(v.codelist).values()) | {""}
                assert set(f[v.name]) <= allowed, (spec.name, v.name, set(f[v.name]) - allowed)
                checked += 1
        for vl in spec.value_level:
            if vl.codelist:
                mask = pd.Series(True, index=f.index)
                for cond in vl.where_clause:
                    mask &= f[cond.variable].isin(cond.values)
                allowed = set(term.get(vl.codelist).values())
                assert mask.any() and set(f.loc[mask, vl.variable]) <= allowed, (spec.name, vl.variable)
                checked += 1
    supp = result.domains["SUPPAE"].frame
    assert set(supp["QVAL"]) <= set(term.get("AEREL").values())
    assert checked >= 20
