"""Tests for the synthetic RELEASE-DPN raw export generator (cdisc_dpn.synth)."""
from __future__ import annotations

import re
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest

from cdisc_dpn.synth import SynthSummary, generate_study
from cdisc_dpn.synth.forms import FORMS

CSV_FILES = [f.file for f in FORMS if f.file.endswith(".csv")] + ["data_dictionary.csv"]


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[Path, SynthSummary]:
    out = tmp_path_factory.mktemp("synth_default")
    return out, generate_study(out)


@pytest.fixture(scope="module")
def forms(study) -> dict[str, pd.DataFrame]:
    out, _ = study
    frames = {f.name: pd.read_csv(out / f.file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
              for f in FORMS if f.file.endswith(".csv")}
    frames["LAB"] = pd.read_excel(out / "lab.xlsx", dtype=str, keep_default_na=False)
    frames["RAND"], _ = pyreadstat.read_xport(str(out / "rand.xpt"))
    return frames


def _dmy(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")


def _is_screening(labels: pd.Series) -> pd.Series:
    return labels.str.strip().str.lower() == "screening"


def _screen_failures(forms) -> set[str]:
    ds = forms["DS"]
    return set(ds.loc[ds["DSREAS"] == "Screen failure", "SUBJECT"])


# ---- determinism and formats -------------------------------------------------------------------
def test_same_seed_gives_identical_bytes_for_every_file(study, tmp_path):
    out, summary = study
    again = generate_study(tmp_path, seed=20231)
    assert sorted(p.name for p in again.files) == sorted(p.name for p in summary.files)
    for path in summary.files:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_different_seed_gives_different_files(study, tmp_path):
    out, summary = study
    generate_study(tmp_path, seed=7)
    for name in ("dm.csv", "lab.xlsx", "rand.xpt", "ae.csv"):
        assert (tmp_path / name).read_bytes() != (out / name).read_bytes(), name


def test_default_study_has_140_randomized_and_screen_failures_on_top(study, forms):
    _, summary = study
    assert summary.subjects_randomized == 140
    assert len(forms["RAND"]) == 140
    assert len(forms["DM"]) == summary.subjects_screened == 140 + summary.screen_failures
    share = summary.screen_failures / summary.subjects_screened
    assert 0.13 <= share <= 0.22
    counts = forms["RAND"]["ARMCD"].value_counts()
    assert set(counts.index) == {"MSC", "CON"} and abs(counts["MSC"] - counts["CON"]) <= 2
    for path, rows in summary.files.items():
        assert path.exists() and rows > 0, path


def test_scales_to_500_subjects(tmp_path):
    summary = generate_study(tmp_path, subjects=500, seed=3)
    rand, _ = pyreadstat.read_xport(str(tmp_path / "rand.xpt"))
    dm = pd.read_csv(tmp_path / "dm.csv", dtype=str, encoding="utf-8-sig")
    assert len(rand) == summary.subjects_randomized == 500
    assert len(dm) == summary.subjects_screened and dm["SUBJECT"].is_unique
    assert summary.files[tmp_path / "rand.xpt"] == 500
    assert summary.subjects_untreated >= 1 and summary.deaths >= 1


def test_odd_subject_count(tmp_path):
    summary = generate_study(tmp_path, subjects=15, seed=1)
    assert summary.subjects_randomized == 15 and summary.subjects_untreated == 0


def test_csv_files_start_with_utf8_bom(study):
    out, _ = study
    for name in CSV_FILES:
        assert (out / name).read_bytes().startswith(b"\xef\xbb\xbf"), name


def test_xpt_is_v5_with_short_upper_case_names(study):
    out, _ = study
    data, meta = pyreadstat.read_xport(str(out / "rand.xpt"))
    assert meta.table_name == "RAND"
    assert all(len(c) <= 8 and c == c.upper() for c in data.columns)
    assert isinstance(data["RANDDT"].iloc[0], date)
    assert (out / "rand.xpt").read_bytes().startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD")


def test_xlsx_has_fixed_properties_and_reads_with_openpyxl(study):
    out, _ = study
    workbook = openpyxl.load_workbook(out / "lab.xlsx", read_only=True)
    assert workbook.properties.created.year == 2026 and workbook.properties.modified.month == 1
    assert workbook.sheetnames == ["Local lab"]
    with zipfile.ZipFile(out / "lab.xlsx") as archive:
        assert {i.date_time for i in archive.infolist()} == {(2026, 1, 1, 0, 0, 0)}


def test_data_dictionary_describes_every_column_written(study, forms):
    out, _ = study
    dictionary = pd.read_csv(out / "data_dictionary.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    for form in FORMS:
        listed = dictionary.loc[dictionary["form"] == form.name, "column"].tolist()
        assert listed == list(forms[form.name].columns), form.name


# ---- consistency --------------------------------------------------------------------------------
def test_every_subject_in_any_form_exists_in_dm(forms):
    known = set(forms["DM"]["SUBJECT"])
    for name, frame in forms.items():
        assert set(frame["SUBJECT"]) <= known, name
        assert (frame["STUDY"] == "RELEASE-DPN").all(), name


def test_no_hucmsc_exposure_in_control_arm(forms):
    rand = forms["RAND"]
    control = set(rand.loc[rand["ARMCD"] == "CON", "SUBJECT"])
    exposed = set(forms["EXMSC"]["SUBJECT"])
    assert exposed and not exposed & control
    assert forms["EXMSC"].groupby("SUBJECT").size().max() == 3


def test_randomized_untreated_subjects_have_no_exposure(study, forms):
    _, summary = study
    rand = set(forms["RAND"]["SUBJECT"])
    treated = set(forms["EXCON"]["SUBJECT"]) | set(forms["EXMSC"]["SUBJECT"])
    untreated = rand - treated
    assert len(untreated) == summary.subjects_untreated == 2
    ds = forms["DS"].set_index("SUBJECT")
    assert (ds.loc[sorted(untreated), "COMPLYN"].str.lower().str[0] == "n").all()


def test_screen_failures_only_have_screening_period_data(forms):
    failures = _screen_failures(forms)
    assert failures
    for name in ("SV", "VS", "TCSS", "NCS", "LAB"):
        frame = forms[name]
        rows = frame[frame["SUBJECT"].isin(failures)]
        assert _is_screening(rows["VISIT"]).all(), name
    for name in ("RAND", "EXMSC", "EXCON", "AE", "CM", "MH", "DH"):
        assert not set(forms[name]["SUBJECT"]) & failures, name
    ie = forms["IE"][forms["IE"]["SUBJECT"].isin(failures)]
    assert (ie["IETESTCD"] != "").all()


def test_consent_precedes_screening_which_is_within_28_days_of_day0(forms):
    ic = forms["IC"].set_index("SUBJECT")
    dm = forms["DM"].set_index("SUBJECT")
    assert (_dmy(ic["ICDAT"]) <= _dmy(dm.loc[ic.index, "SCRNDAT"])).all()
    rand = forms["RAND"].set_index("SUBJECT")
    gap = pd.to_datetime(rand["RANDDT"]) - _dmy(dm.loc[rand.index, "SCRNDAT"])
    assert gap.dt.days.between(1, 28).all()


def test_fully_dated_adverse_events_fall_inside_participation(forms):
    ae = forms["AE"]
    full = ae[~ae["AESTDAT"].str.contains("UN")]
    start = _dmy(full["AESTDAT"])
    assert start.notna().all()
    consent = _dmy(forms["IC"].set_index("SUBJECT")["ICDAT"])
    last = _dmy(forms["DS"].set_index("SUBJECT")["LASTCDAT"])
    assert (start.to_numpy() >= consent.loc[full["SUBJECT"]].to_numpy()).all()
    assert (start.to_numpy() <= last.loc[full["SUBJECT"]].to_numpy()).all()
    ended = full["AEENDAT"] != ""
    assert (_dmy(full.loc[ended, "AEENDAT"]) >= start[ended]).all()


def test_deaths_have_fatal_adverse_event(study, forms):
    ds = forms["DS"]
    dead = set(ds.loc[ds["DSREAS"] == "Death", "SUBJECT"])
    assert len(dead) == study[1].deaths >= 1
    fatal = set(forms["AE"].loc[forms["AE"]["AEOUT"] == "Fatal", "SUBJECT"])
    assert fatal == dead


def test_randomized_subjects_meet_lab_and_tcss_criteria_at_screening(forms):
    rand = set(forms["RAND"]["SUBJECT"])
    tcss = forms["TCSS"]
    items = [c for c in tcss.columns if c[:2] in ("SY", "RF", "SN")]
    assert len(items) == 15
    tcss = tcss.assign(SUM=tcss[items].astype(int).sum(axis=1))
    screen = tcss[_is_screening(tcss["VISIT"]) & tcss["SUBJECT"].isin(rand)]
    assert (screen["SUM"] >= 9).all() and len(screen) == len(rand)
    lab = forms["LAB"]
    lab = lab[_is_screening(lab["VISIT"]) & lab["SUBJECT"].isin(rand)]
    hba1c = lab[lab["LBTEST"].isin(["HbA1c", "Glycated haemoglobin"])]
    value = hba1c["LBORRES"].astype(float)
    percent = np.where(hba1c["LBORRESU"] == "%", value, value / 10.929 + 2.15)
    assert percent.max() <= 12.0
    egfr = lab[lab["LBTEST"].str.startswith("eGFR")]
    assert len(egfr) and (egfr["LBORRES"].astype(float) >= 30).all()


def test_tcss_improves_more_in_experimental_arm(forms):
    tcss = forms["TCSS"]
    items = [c for c in tcss.columns if c[:2] in ("SY", "RF", "SN")]
    tcss = tcss.assign(SUM=tcss[items].astype(int).sum(axis=1), V=tcss["VISIT"].str.strip().str.lower())
    base = tcss[tcss["V"] == "day 0"].set_index("SUBJECT")["SUM"]
    wk24 = tcss[tcss["V"].isin(["week 24", "wk 24"])].set_index("SUBJECT")["SUM"]
    change = (wk24 - base.reindex(wk24.index)).dropna()
    arm = forms["RAND"].set_index("SUBJECT")["ARMCD"]
    by_arm = change.groupby(arm.reindex(change.index)).mean()
    assert by_arm["MSC"] < by_arm["CON"] - 1.5


# ---- dirt ---------------------------------------------------------------------------------------
def test_each_kind_of_dirt_appears_at_default_size(study, forms):
    out, _ = study
    partial = pd.concat([forms["MH"]["MHSTDAT"], forms["AE"]["AESTDAT"]])
    assert partial.str.match(r"UN/(\d\d|UN)/\d{4}$").any()
    assert forms["CM"]["CMSTDAT"].str.match(r"UN-([A-Z]{3}|UN)-\d{4}$").any()
    assert forms["AE"]["AESTDAT"].str.startswith("UN/").any()
    assert len(set(forms["DM"]["SEX"])) > 2
    assert forms["DM"]["SEX"].str.endswith(" ").any()
    labels = pd.concat([forms[n]["VISIT"] for n in ("SV", "VS", "TCSS", "NCS", "LAB")])
    assert labels.str.endswith(" ").any()
    assert (labels.str.strip().str.lower() == "unscheduled").any()
    assert (forms["SV"]["VISIT"] == "Unscheduled").any()
    hba1c_units = set(forms["LAB"].loc[forms["LAB"]["LBTEST"].isin(["HbA1c", "Glycated haemoglobin"]), "LBORRESU"])
    assert {"%", "mmol/mol"} <= hba1c_units
    assert forms["LAB"]["LBORRES"].str.startswith("<").any()
    assert (forms["LAB"]["LBSTAT"] == "Not done").any()
    assert (forms["TCSS"]["TCSSTOT"] == "").any()
    text = "".join((out / name).read_text(encoding="utf-8-sig") for name in CSV_FILES)
    assert re.search(r"[^\x00-\x7f]", text)
    assert "µV" in text and "≥" in text
    assert re.search(r"[\u4e00-\u9fff]", "".join(forms["AE"]["AETERM"]) + "".join(forms["MH"]["MHTERM"]))
    assert set(forms["IC"]["ICYN"]) - {"Yes"}
