"""Findings domains (LB, QS, NV, VS) mapped from the synthetic study by the study's own specs."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from cdisc_dpn.mapping.engine import map_study
from cdisc_dpn.raw.readers import read_form
from cdisc_dpn.spec.loader import load_specs
from cdisc_dpn.synth import generate_study
from cdisc_dpn.terminology import load_terminology

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
DATASETS = ["dm.yaml", "ex.yaml", "sv.yaml", "se.yaml", "lb.yaml", "qs.yaml", "nv.yaml", "vs.yaml"]
TCSS_ITEMS = [f"TCSS{i:02d}" for i in range(1, 16)]


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    root = tmp_path_factory.mktemp("part2")
    specs_dir = root / "mappings"
    shutil.copytree(MAPPINGS, specs_dir)
    study = specs_dir / "study.yaml"
    text = study.read_text(encoding="utf-8")
    listing = "datasets:\n" + "".join(f"  - {d}\n" for d in DATASETS)
    study.write_text(re.sub(r"datasets:\n(?:  - .*\n)+", listing, text), encoding="utf-8")
    raw = root / "raw"
    generate_study(raw, subjects=60, seed=20231)
    specs, _ = load_specs(specs_dir)
    tables = {f.name: read_form(raw, f) for f in specs.study.forms}
    return map_study(specs, load_terminology(specs.terminology), tables)


def test_no_mapping_errors(mapped):
    errors = [f.render() for f in mapped.findings if f.code.startswith("MAP") and f.severity.value == "error"]
    assert errors == []
    assert {"LB", "QS", "NV", "VS", "SUPPQS", "SUPPNV"} <= set(mapped.domains)


def test_each_lab_test_has_one_standard_unit(mapped):
    lb = mapped.domains["LB"].frame
    units = lb[lb["LBSTRESU"] != ""].groupby("LBTESTCD")["LBSTRESU"].nunique()
    assert (units == 1).all()
    numeric = lb[lb["LBSTRESN"].notna()]
    assert (numeric["LBSTRESU"] != "").all()
    assert set(lb["LBTESTCD"]) >= {"HBA1C", "GLUC", "NEUT", "PLAT", "HGB", "ALT", "AST", "BILI", "CREAT", "GFREI", "CK"}


def test_qualified_lab_results_keep_qualifier_without_number(mapped):
    lb = mapped.domains["LB"].frame
    qualified = lb[lb["LBORRES"].str.startswith("<")]
    assert qualified["LBSTRESC"].str.startswith("<").all() and qualified["LBSTRESN"].isna().all()


def test_derived_egfr_only_where_not_reported(mapped):
    lb = mapped.domains["LB"].frame
    egfr = lb[lb["LBTESTCD"] == "GFREI"]
    assert not egfr.duplicated(["USUBJID", "VISITNUM", "LBDTC"]).any()
    derived = egfr[egfr["LBDRVFL"] == "Y"]
    assert len(derived) and (derived["LBANMETH"] == "MDRD ENZYMATIC FORMULA").all()


def test_tcss_assessments_have_fifteen_items_and_a_total_equal_to_their_sum(mapped):
    qs = mapped.domains["QS"].frame
    items = qs[qs["QSTESTCD"].isin(TCSS_ITEMS)]
    totals = qs[qs["QSTESTCD"] == "TCSSTOT"]
    keys = ["USUBJID", "VISITNUM", "QSDTC"]
    counts = items.groupby(keys)["QSTESTCD"].nunique()
    sums = items.groupby(keys)["QSSTRESN"].sum()
    assert (counts == 15).all()
    scheduled = totals[totals["VISITNUM"] == totals["VISITNUM"].round()]
    assert not totals.duplicated(keys).any()
    assert len(totals) == len(counts) and len(scheduled)
    joined = totals.set_index(keys)["QSSTRESN"]
    pd.testing.assert_series_equal(joined.sort_index(), sums.loc[joined.index].sort_index(), check_names=False)
    assert (totals["QSDRVFL"] == "Y").all() and (items["QSDRVFL"] == "").all()
    assert totals["QSSTRESN"].between(0, 19).all()


def test_mismatching_recorded_totals_are_reported_and_kept_in_suppqs(mapped):
    supp = mapped.domains["SUPPQS"].frame
    assert set(supp["QNAM"]) == {"RECTOT"} and set(supp["IDVAR"]) == {"QSGRPID"}
    qs = mapped.domains["QS"].frame
    assert set(supp["IDVARVAL"]) <= set(qs["QSGRPID"])
    mismatch = [f for f in mapped.findings if f.code == "DRV-TOTAL-MISMATCH"]
    tot = qs[qs["QSTESTCD"] == "TCSSTOT"].merge(supp, left_on=["USUBJID", "QSGRPID"], right_on=["USUBJID", "IDVARVAL"])
    differing = (pd.to_numeric(tot["QVAL"]) != tot["QSSTRESN"]).sum()
    assert len(mismatch) == differing


@pytest.mark.parametrize("domain, by", [("LB", ["LBTESTCD", "LBSPEC"]), ("QS", ["QSTESTCD"]),
                                        ("NV", ["NVTESTCD", "NVLOC", "NVLAT"]), ("VS", ["VSTESTCD"])])
def test_lobxfl_once_per_subject_and_test_and_not_after_first_dose(mapped, domain, by):
    frame = mapped.domains[domain].frame
    flagged = frame[frame[f"{domain}LOBXFL"] == "Y"]
    assert len(flagged)
    assert not flagged.duplicated(["USUBJID", *by]).any()
    first_dose = flagged["USUBJID"].map(mapped.domains["DM"].frame.set_index("USUBJID")["RFXSTDTC"])
    assert (first_dose.str.len() >= 10).all()
    assert (flagged[f"{domain}DTC"].str.slice(0, 10) <= first_dose.str.slice(0, 10)).all()


def test_keys_are_unique_and_seq_is_per_subject(mapped):
    for name in ("LB", "QS", "NV", "VS"):
        dom = mapped.domains[name]
        assert not dom.frame.duplicated(list(dom.spec.keys)).any(), name
        seq = dom.frame.groupby("USUBJID")[f"{name}SEQ"].apply(lambda s: list(s) == list(range(1, len(s) + 1)))
        assert seq.all(), name


def test_nerve_conduction_units_and_no_response(mapped):
    nv = mapped.domains["NV"].frame
    assert nv.groupby("NVTESTCD")["NVSTRESU"].agg(lambda s: set(s) - {""}).map(len).eq(1).all()
    assert "µV" not in set(nv["NVORRESU"])
    nr = nv[nv["NVORRES"] == "NR"]
    assert (nr["NVSTRESC"] == "NR").all() and nr["NVSTRESN"].isna().all()
    not_done = nv[nv["NVSTAT"] == "NOT DONE"]
    assert (not_done["NVORRES"] == "").all() and (not_done["NVREASND"] != "").all()


def test_bmi_is_derived_from_weight_and_height(mapped):
    vs = mapped.domains["VS"].frame
    bmi = vs[vs["VSTESTCD"] == "BMI"]
    assert len(bmi) and (bmi["VSDRVFL"] == "Y").all() and (bmi["VSSTRESU"] == "kg/m2").all()
    assert bmi["VSSTRESN"].between(12, 60).all()
