"""Builds every RELEASE-DPN raw form from one Population and writes the EDC export folder.

Draw order is fixed (population, visits, then forms in FORMS order), so one seed gives one study.
Forms are built column-wise with numpy; only sparse forms (AE, CM, MH) loop per record.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import reference as ref
from .dates import MISSING_DAY, format_dates, format_times, to_python_dates
from .dirt import partial_dates, with_variants, yes_no
from .forms import DICTIONARY_COLUMNS, FORMS_BY_NAME, TCSS_ITEM_POINTS, data_dictionary_rows
from .population import (COMPLETED, DEATH, SCREEN_FAILURE, WITHDRAWAL, Population, build_population,
                         build_visits)
from .writers import write_csv, write_xlsx, write_xpt

VISIT_LABEL_DIRT_RATE = 0.015
SEX_VARIANTS = {"Male": ("M", "male ", "MALE"), "Female": ("F", "female", "FEMALE ")}


@dataclass
class SynthSummary:
    out_dir: Path
    files: dict[Path, int] = field(default_factory=dict)   # path -> data rows written
    subjects_screened: int = 0
    subjects_randomized: int = 0
    screen_failures: int = 0
    subjects_untreated: int = 0
    subjects_discontinued: int = 0
    deaths: int = 0



# The demo export is taken after medical coding closed, so every AE is coded; tests blank the
# coding columns to show that uncoded terms are reported, not invented.
UNCODED_AE_RATE = 0.0

def _num(values, decimals: int) -> np.ndarray:
    """Numbers as text with fixed decimals; NaN -> ''."""
    values = np.asarray(values, dtype=float)
    out = np.array([f"{v:.{decimals}f}" for v in values], dtype=object)
    out[np.isnan(values)] = ""
    return out


def _keys(pop: Population, subj: np.ndarray) -> dict[str, np.ndarray]:
    return {"STUDY": np.full(len(subj), ref.STUDY_ID, dtype=object), "SITE": pop.site[subj],
            "SUBJECT": pop.subject[subj]}


def _frame(form: str, columns: dict[str, np.ndarray], sort_by: list[str] | None = None) -> pd.DataFrame:
    names = FORMS_BY_NAME[form].column_names
    missing = set(names) ^ set(columns)
    if missing:
        raise AssertionError(f"{form}: columns differ from the form catalogue: {sorted(missing)}")
    frame = pd.DataFrame({name: columns[name] for name in names})
    if sort_by:
        frame = frame.sort_values(sort_by, kind="stable")
    return frame.reset_index(drop=True)


def _visit_labels(rng: np.random.Generator, labels) -> np.ndarray:
    return with_variants(rng, np.asarray(labels, dtype=object), ref.VISIT_LABEL_VARIANTS, VISIT_LABEL_DIRT_RATE)


class StudyBuilder:
    """Holds the shared state (population, visits, exposure, AEs) while forms are built in order."""

    def __init__(self, rng: np.random.Generator, randomized_count: int):
        self.rng = rng
        self.pop = build_population(rng, randomized_count)
        self.visits = build_visits(rng, self.pop)
        pop = self.pop
        self.ie_day = np.where(pop.randomized, pop.day0, pop.screen_day + rng.integers(1, 11, pop.n))
        fail = ~pop.randomized
        pop.last_contact_day[fail] = self.ie_day[fail]
        self.on_insulin = pop.randomized & (rng.random(pop.n) < 0.40)
        self.sort_key = {s: i for i, s in enumerate(sorted(pop.subject))}

    def visit_rows(self, form: str) -> pd.DataFrame:
        codes = ref.FORM_VISITS[form]
        rows = self.visits[self.visits["code"].isin(codes)]
        if form == "lab":   # only some unscheduled visits draw blood
            keep = (rows["code"].to_numpy() != "UNS") | (self.rng.random(len(rows)) < 0.5)
            rows = rows[keep]
        return rows.reset_index(drop=True)

    # ---- subject-level forms -------------------------------------------------------------
    def dm(self) -> pd.DataFrame:
        rng, pop = self.rng, self.pop
        ids = np.arange(pop.n)
        sex = with_variants(rng, np.where(pop.female, "Female", "Male").astype(object), SEX_VARIANTS, 0.12)
        childpot = np.where(pop.female, yes_no(rng, pop.child_potential), "").astype(object)
        race = np.where(rng.random(pop.n) < 0.985, "Asian", "Other").astype(object)
        race = with_variants(rng, race, {"Asian": ("ASIAN", "asian")}, 0.05)
        ethnic = with_variants(rng, np.full(pop.n, "Not Hispanic or Latino", dtype=object),
                               {"Not Hispanic or Latino": ("Not Hispanic/Latino", "NOT HISPANIC OR LATINO")}, 0.05)
        groups = np.array(["Han", "Hui", "Manchu", "Zhuang", "Uyghur", "Tujia"], dtype=object)
        ethgrp = groups[rng.choice(len(groups), pop.n, p=(0.91, 0.03, 0.02, 0.02, 0.01, 0.01))]
        return _frame("DM", {**_keys(pop, ids), "SCRNDAT": format_dates(pop.screen_day, "dmy"),
                             "BRTHDAT": format_dates(pop.birth_day, "dmy"), "AGE": pop.age.astype(str),
                             "AGEU": np.full(pop.n, "Years", dtype=object), "SEX": sex, "CHILDPOT": childpot,
                             "RACE": race, "ETHNIC": ethnic, "ETHNGRP": ethgrp,
                             "COUNTRY": np.full(pop.n, ref.COUNTRY, dtype=object)}, ["SUBJECT"])

    def ic(self) -> pd.DataFrame:
        rng, pop = self.rng, self.pop
        ids = np.arange(pop.n)
        version = np.where(pop.consent_day < 20468, "V2.0 01-SEP-2025", "V2.1 15-JAN-2026").astype(object)
        withdrawn = np.where(pop.fate == WITHDRAWAL, pop.last_contact_day, MISSING_DAY)
        return _frame("IC", {**_keys(pop, ids), "ICVER": version, "ICYN": yes_no(rng, np.ones(pop.n, bool)),
                             "ICDAT": format_dates(pop.consent_day, "dmy"), "ICTIM": format_times(pop.consent_minute),
                             "ICWDDAT": format_dates(withdrawn, "dmy")}, ["SUBJECT"])

    def rand(self) -> pd.DataFrame:
        pop = self.pop
        ids = np.flatnonzero(pop.randomized)
        ids = ids[np.argsort(pop.randomization_order[ids], kind="stable")]
        d0 = self.visits[self.visits["code"] == "D0"].set_index("subj")["minute"]
        minute = d0.reindex(ids).to_numpy() - self.rng.integers(10, 45, len(ids))
        width = max(4, len(str(len(ids))))
        armcd, armtext = zip(*ref.ARMS)
        return _frame("RAND", {
            **_keys(pop, ids),
            "RANDNO": np.array([f"R{k:0{width}d}" for k in pop.randomization_order[ids]], dtype=object),
            "RANDDT": to_python_dates(pop.day0[ids]), "RANDTM": format_times(minute),
            "ARMCD": np.array(armcd, dtype=object)[pop.arm[ids]], "ARM": np.array(armtext, dtype=object)[pop.arm[ids]],
            "STRATUM": np.where(pop.tcss_screening[ids] >= 12, "TCSS 12-19", "TCSS 9-11").astype(object)})

    def ie(self) -> pd.DataFrame:
        rng, pop = self.rng, self.pop
        criteria = {c.code: c for c in ref.IE_CRITERIA}
        subj, codes = [], []
        for i in range(pop.n):
            for code in pop.fail_criteria[i] or ("",):
                subj.append(i)
                codes.append(code)
        subj = np.array(subj)
        crit = [criteria.get(c) for c in codes]
        met = np.array([c == "" for c in codes])
        return _frame("IE", {
            **_keys(pop, subj), "IEDAT": format_dates(self.ie_day[subj], "dmy"), "IEYN": yes_no(rng, met),
            "IECAT": np.array([c.category if c else "" for c in crit], dtype=object),
            "IETESTCD": np.array(codes, dtype=object),
            "IETEST": np.array([c.text if c else "" for c in crit], dtype=object),
            "IEORRES": np.array(["" if c is None else ("N" if c.category == "Inclusion" else "Y") for c in crit],
                                dtype=object)}, ["SUBJECT"])

    def mh(self) -> pd.DataFrame:
        rng, pop = self.rng, self.pop
        ids = np.flatnonzero(pop.randomized)
        counts = rng.integers(0, 5, len(ids))
        order = np.argsort(rng.random((len(ids), len(ref.MH_TERMS))), axis=1)
        subj = np.repeat(ids, counts)
        term_idx = np.concatenate([order[k, :c] for k, c in enumerate(counts)]) if len(ids) else np.array([], int)
        terms = np.array(ref.MH_TERMS, dtype=object)[term_idx.astype(int)]
        chinese = (terms == "Hypertension") & (rng.random(len(terms)) < 0.08)
        terms[chinese] = "高血压 (hypertension)"
        start = pop.consent_day[subj] - rng.integers(180, 7000, len(subj))
        ongoing = rng.random(len(subj)) < 0.75
        end = np.where(ongoing, MISSING_DAY, start + ((pop.consent_day[subj] - 1 - start) * rng.random(len(subj)))
                       .astype(int))
        spid = pd.Series(subj).groupby(subj).cumcount().to_numpy() + 1
        return _frame("MH", {
            **_keys(pop, subj), "MHSPID": spid.astype(str), "MHTERM": terms,
            "MHSTDAT": partial_dates(rng, start, "dmy", 0.15, 0.15), "MHONGO": yes_no(rng, ongoing),
            "MHENDAT": partial_dates(rng, end, "dmy", 0.10, 0.05)}, ["SUBJECT"])

    def dh(self) -> pd.DataFrame:
        rng, pop = self.rng, self.pop
        ids = np.flatnonzero(pop.randomized)
        n = len(ids)
        years = rng.uniform(3, 25, n)
        diag = pop.consent_day[ids] - (years * 365.25).astype(int)
        dpn = pop.consent_day[ids] - (rng.uniform(0.5, 1, n) * np.minimum(years, 8) * 365.25).astype(int)
        diabtyp = with_variants(rng, np.full(n, "Type 2", dtype=object), {"Type 2": ("T2DM", "type 2")}, 0.1)
        return _frame("DH", {
            **_keys(pop, ids), "DIABTYP": diabtyp, "DIAGDAT": partial_dates(rng, diag, "dmy", 0.2, 0.4),
            "DPNDAT": partial_dates(rng, dpn, "dmy", 0.3, 0.1), "CONVMON": rng.integers(3, 37, n).astype(str),
            "TCSSFALL": rng.integers(0, 2, n).astype(str), "INSULIN": yes_no(rng, self.on_insulin[ids]),
            "FOOTULC": yes_no(rng, rng.random(n) < 0.05)}, ["SUBJECT"])

    # ---- visit-based forms ---------------------------------------------------------------
    def vs(self) -> pd.DataFrame:
        rng, pop = self.rng, self.pop
        rows = self.visit_rows("vs")
        subj = rows["subj"].to_numpy()
        n = len(rows)
        screening = rows["code"].to_numpy() == ref.SCREENING.code
        drift = (rows["day"].to_numpy() - pop.screen_day[subj]) / 365.0 * rng.normal(0, 1.0, n)
        weight = pop.weight[subj] + drift + rng.normal(0, 0.6, n)
        position = np.array(["Sitting", "SITTING", "Supine"], dtype=object)[rng.choice(3, n, p=(0.9, 0.04, 0.06))]
        return _frame("VS", {
            **_keys(pop, subj), "VISIT": _visit_labels(rng, rows["label"]),
            "VSDAT": format_dates(rows["day"], "dmy"), "VSTIM": format_times(rows["minute"] + 10),
            "VSPOS": position, "HEIGHT": np.where(screening, _num(pop.height[subj], 1), ""),
            "HEIGHTU": np.where(screening, "cm", "").astype(object), "WEIGHT": _num(weight, 1),
            "WEIGHTU": np.full(n, "kg", dtype=object),
            "SYSBP": _num(np.clip(rng.normal(132, 14, n), 95, 190), 0),
            "DIABP": _num(np.clip(rng.normal(80, 9, n), 55, 115), 0), "BPU": np.full(n, "mmHg", dtype=object),
            "PULSE": _num(np.clip(rng.normal(76, 10, n), 48, 120), 0),
            "PULSEU": np.full(n, "beats/min", dtype=object),
            "TEMP": _num(np.clip(rng.normal(36.5, 0.25, n), 35.6, 38.4), 1),
            "TEMPU": np.where(rng.random(n) < 0.85, "°C", "C").astype(object)})

    def tcss(self) -> pd.DataFrame:
        rng, pop = self.rng, self.pop
        rows = self.visit_rows("tcss")
        subj = rows["subj"].to_numpy()
        code = rows["code"].to_numpy()
        n = len(rows)
        fraction = {"SCR": 0.0, "D0": 0.0, "D28": 0.3, "W8": 0.5, "W12": 0.7, "W24": 1.0, "W52": 0.9, "W104": 0.8}
        frac = np.array([fraction[c] for c in code])
        effect_mean = np.where(pop.arm == 1, 3.8, 1.2)
        subject_effect = effect_mean + rng.normal(0, 1.5, pop.n)
        day0_total = np.clip(pop.tcss_screening + rng.integers(-1, 2, pop.n), 0, 19)
        total = np.where(code == "SCR", pop.tcss_screening[subj],
                         np.rint(day0_total[subj] - subject_effect[subj] * frac + rng.normal(0, 0.8, n) * (frac > 0)))
        total = np.clip(total, 0, 19).astype(int)
        # each subject ranks the 19 score points; a total of T keeps the T most likely points
        bias = np.array([0.0, -0.5, -0.4, 0.1, 0.3, 0.4, -0.1, 0.3, -0.1, 0.3, -0.3, 0.3, -0.3, 0.3, -0.4,
                         -0.2, -0.1, 0.0, 0.2])
        keys = rng.random((pop.n, 19)) + bias
        noisy = keys[subj] + rng.normal(0, 0.12, (n, 19))
        ranks = np.argsort(np.argsort(noisy, axis=1), axis=1)
        chosen = (ranks < total[:, None]).astype(int)
        starts = np.concatenate([[0], np.cumsum(TCSS_ITEM_POINTS)[:-1]])
        items = np.add.reduceat(chosen, starts, axis=1)
        recorded = items.sum(axis=1).astype(object)
        draw = rng.random(n)
        recorded[draw < 0.03] = ""
        wrong = (draw >= 0.03) & (draw < 0.036)
        item_sum = items.sum(axis=1)
        delta = rng.choice([-2, -1, 1, 2], n)
        off_by = np.where((item_sum + delta < 0) | (item_sum + delta > 19), item_sum - delta, item_sum + delta)
        recorded[wrong] = off_by[wrong]
        item_cols = {name: items[:, k].astype(str) for k, name in
                     enumerate(c for c in FORMS_BY_NAME["TCSS"].column_names if c[:2] in ("SY", "RF", "SN"))}
        return _frame("TCSS", {**_keys(pop, subj), "VISIT": _visit_labels(rng, rows["label"]),
                               "TCSSDAT": format_dates(rows["day"], "dmy"), **item_cols,
                               "TCSSTOT": recorded.astype(str)})

    def ncs(self) -> pd.DataFrame:
        rng, pop = self.rng, self.pop
        rows = self.visit_rows("ncs")
        nerves = (("Common peroneal", "Motor", 47.0, 4.0, 5.0, 4.3), ("Posterior tibial", "Motor", 45.0, 4.0, 8.0, 4.6),
                  ("Deep peroneal", "Motor", 46.0, 4.0, 4.5, 4.4), ("Sural", "Sensory", 48.0, 4.5, 12.0, 3.4))
        n_nerve = len(nerves) * 2
        normal_ncv = ~np.array(["INCL04" in c for c in pop.fail_criteria])
        deficit_sd = np.where(normal_ncv, rng.uniform(1.5, 4.0, pop.n), rng.uniform(-1.0, 1.4, pop.n))
        subj_nerve = rng.normal(0, 0.5, (pop.n, n_nerve))
        sural_absent = normal_ncv & (rng.random(pop.n) < 0.08)
        gain = np.where(pop.arm == 1, 1.8, 0.4)
        fraction = {"SCR": 0.0, "W12": 0.6, "W24": 1.0, "W52": 0.9, "W104": 0.8}

        subj = np.repeat(rows["subj"].to_numpy(), n_nerve)
        vrow = np.repeat(np.arange(len(rows)), n_nerve)
        k = np.tile(np.arange(n_nerve), len(rows))
        nerve_i = k // 2
        frac = np.array([fraction[c] for c in rows["code"].to_numpy()])[vrow]
        mean_ncv, sd_ncv, amp_n, dl_n = (np.array([x[i] for x in nerves]) for i in (2, 3, 4, 5))
        m = len(subj)
        ncv = (mean_ncv[nerve_i] - sd_ncv[nerve_i] * (deficit_sd[subj] + subj_nerve[subj, k])
               + gain[subj] * frac + rng.normal(0, 1.2, m))
        severity = np.clip(deficit_sd[subj] / 4.0, 0, 1)
        amp = np.clip(amp_n[nerve_i] * (1 - 0.55 * severity) * np.exp(rng.normal(0, 0.2, m)), 0.2, None)
        dlat = dl_n[nerve_i] * (1 + 0.2 * severity) + rng.normal(0, 0.25, m)
        sensory = nerve_i == 3
        no_response = sensory & sural_absent[subj]
        amp_text = _num(amp, 1)
        amp_text[no_response] = "NR"
        side = with_variants(rng, np.where(k % 2 == 0, "Left", "Right").astype(object),
                             {"Left": ("L",), "Right": ("R",)}, 0.03)
        ncv_text = _num(ncv, 1)
        dlat_text = _num(dlat, 2)
        ncv_text[no_response] = ""
        dlat_text[no_response] = ""
        unit = np.where(sensory, pop.sites.sensory_unit[pop.site_index[subj]], "mV").astype(object)
        labels = _visit_labels(rng, rows["label"])[vrow]
        return _frame("NCS", {**_keys(pop, subj), "VISIT": labels,
                              "NCSDAT": format_dates(rows["day"].to_numpy()[vrow], "dmy"),
                              "NERVE": np.array([x[0] for x in nerves], dtype=object)[nerve_i],
                              "NERVTYP": np.array([x[1] for x in nerves], dtype=object)[nerve_i], "SIDE": side,
                              "NCV": ncv_text, "AMP": amp_text, "AMPU": unit, "DLAT": dlat_text,
                              "LIMBTEMP": _num(rng.uniform(31.0, 33.5, m), 1)})

    def lab(self) -> tuple[list[str], list[tuple]]:
        rng, pop = self.rng, self.pop
        rows = self.visit_rows("lab")
        subj_v = rows["subj"].to_numpy()
        code_v = rows["code"].to_numpy()
        site_v = pop.site_index[subj_v]
        screening_v = code_v == ref.SCREENING.code
        labels_v = _visit_labels(rng, rows["label"])
        n_tests = len(ref.LAB_TESTS)
        z_subject = rng.normal(0, 1, (pop.n, n_tests))
        fails = [set(c) for c in pop.fail_criteria]

        def fails_with(code: str) -> np.ndarray:
            return np.array([code in fails[s] for s in subj_v]) & screening_v

        exc03_kind = rng.integers(0, 3, pop.n)
        values: dict[str, np.ndarray] = {}
        for t, test in enumerate(ref.LAB_TESTS):
            if test.code in ("EGFR", "HCG"):
                continue
            z = 0.8 * z_subject[subj_v, t] + 0.5 * rng.normal(0, 1, len(subj_v))
            v = np.exp(np.log(test.base_mean) + test.base_sd * z) if test.lognormal else test.base_mean + test.base_sd * z
            values[test.code] = v
        female_v = pop.female[subj_v]
        values["HGB"] = values["HGB"] - 12 * female_v
        values["CREAT"] = values["CREAT"] * np.where(female_v, 0.8, 1.0)
        limits = {"HBA1C": (6.2, 11.8), "GLUC": (4.5, 18.0), "NEUT": (1.6, 9.0), "PLAT": (95, 450),
                  "HGB": (92, 175), "ALT": (5, 2.8 * 50), "AST": (8, 2.8 * 40), "BILI": (1.0, 1.4 * 20.5),
                  "CREAT": (35, 180), "CK": (20, 1.9 * 200)}
        for code, (low, high) in limits.items():
            values[code] = np.clip(values[code], low, high)
        age_v, sex_factor = pop.age[subj_v], np.where(female_v, 0.742, 1.0)

        def egfr_of(creat_umol):
            return 175 * (creat_umol / 88.4) ** -1.154 * age_v ** -0.203 * sex_factor

        def creat_for(egfr):
            return 88.4 * (egfr / (175 * age_v ** -0.203 * sex_factor)) ** (-1 / 1.154)

        low_egfr = egfr_of(values["CREAT"]) < 32
        values["CREAT"] = np.where(low_egfr, creat_for(rng.uniform(32, 60, len(subj_v))), values["CREAT"])
        # screen failures on a laboratory criterion fail it at screening
        fail = fails_with("EXCL02")
        values["HBA1C"][fail] = rng.uniform(12.2, 14.5, fail.sum())
        fail = fails_with("EXCL03")
        kind = exc03_kind[subj_v]
        values["PLAT"] = np.where(fail & (kind == 0), rng.uniform(55, 88, len(subj_v)), values["PLAT"])
        values["NEUT"] = np.where(fail & (kind == 1), rng.uniform(0.9, 1.4, len(subj_v)), values["NEUT"])
        values["HGB"] = np.where(fail & (kind == 2), rng.uniform(68, 79, len(subj_v)), values["HGB"])
        fail = fails_with("EXCL04")
        values["ALT"] = np.where(fail, rng.uniform(3.2, 6, len(subj_v)) * 50, values["ALT"])
        fail = fails_with("EXCL05")
        values["CREAT"] = np.where(fail, creat_for(rng.uniform(15, 29, len(subj_v))), values["CREAT"])
        fail = fails_with("EXCL06")
        values["CK"] = np.where(fail, rng.uniform(2.2, 4, len(subj_v)) * 200, values["CK"])
        values["EGFR"] = egfr_of(values["CREAT"])
        pregnant = fails_with("EXCL10")

        not_done = (~screening_v[:, None]) & (rng.random((len(subj_v), n_tests)) < 0.01)
        reasons = np.array(ref.LAB_NOT_DONE_REASONS, dtype=object)[rng.integers(0, len(ref.LAB_NOT_DONE_REASONS),
                                                                                 (len(subj_v), n_tests))]
        lab_minute = rows["minute"].to_numpy() + rng.integers(5, 40, len(subj_v))
        fasting = yes_no(rng, rng.random(len(subj_v)) < 0.95)
        neg_text = np.where(rng.random(len(subj_v)) < 0.85, "NEGATIVE", "Negative").astype(object)

        chunks = []
        for t, test in enumerate(ref.LAB_TESTS):
            if test.code == "HCG":
                keep = pop.child_potential[subj_v]
            elif test.code == "EGFR":
                keep = pop.sites.reports_egfr[site_v]
            else:
                keep = np.ones(len(subj_v), dtype=bool)
            idx = np.flatnonzero(keep)
            unit_i = pop.sites.conventional_units[site_v[idx], t].astype(int) if len(test.units) > 1 \
                else np.zeros(len(idx), dtype=int)
            names = np.array(test.names, dtype=object)[pop.sites.test_name_variant[site_v[idx], t]]
            result = np.empty(len(idx), dtype=object)
            unit_txt = np.empty(len(idx), dtype=object)
            low = np.empty(len(idx), dtype=object)
            high = np.empty(len(idx), dtype=object)
            spec = np.full(len(idx), "Serum" if test.category == "Biochemistry" else "Blood", dtype=object)
            for u, unit in enumerate(test.units):
                sel = unit_i == u
                unit_txt[sel] = unit.unit
                low[sel] = unit.low
                high[sel] = unit.high
                if test.code == "HCG":
                    result[sel] = np.where(pregnant[idx[sel]], "POSITIVE", neg_text[idx[sel]])
                    spec[sel] = np.where(screening_v[idx[sel]], "Serum", "Urine")
                    continue
                converted = np.round(values[test.code][idx[sel]] * unit.factor + unit.offset, unit.decimals)
                as_list = converted.astype(int).tolist() if unit.decimals == 0 else converted.tolist()
                res = np.empty(sel.sum(), dtype=object)
                res[:] = as_list
                if test.lloq:
                    below = converted < test.lloq[u]
                    res[below] = f"<{test.lloq[u]}"
                result[sel] = res
            nd = not_done[idx, t]
            result[nd] = None
            chunks.append(pd.DataFrame({
                "subj": subj_v[idx], "day": rows["day"].to_numpy()[idx], "vorder": idx, "torder": t,
                "VISIT": labels_v[idx], "LBDAT": format_dates(rows["day"].to_numpy()[idx], "dmon"),
                "LBTIM": format_times(lab_minute[idx]), "LABNAME": pop.sites.lab_names[site_v[idx]],
                "LBCAT": test.category, "LBTEST": names, "LBORRES": result, "LBORRESU": unit_txt,
                "LBORNRLO": low, "LBORNRHI": high,
                "LBFAST": fasting[idx] if test.code == "GLUC" else "",
                "LBSPEC": spec, "LBSTAT": np.where(nd, "Not done", "").astype(object),
                "LBREASND": np.where(nd, reasons[idx, t], "").astype(object)}))
        frame = pd.concat(chunks, ignore_index=True)
        frame["skey"] = frame["subj"].map(lambda s: self.sort_key[pop.subject[s]])
        frame = frame.sort_values(["skey", "day", "vorder", "torder"], kind="stable")
        keys = _keys(pop, frame["subj"].to_numpy())
        for name, col in keys.items():
            frame[name] = col
        header = FORMS_BY_NAME["LAB"].column_names
        body = frame[header].astype(object)
        body = body.where(pd.notna(body), None)
        return header, list(body.itertuples(index=False, name=None))

    # ---- exposure, medications, adverse events -------------------------------------------
    def exmsc(self) -> pd.DataFrame:
        rng, pop = self.rng, self.pop
        v = self.visits
        rows = v[v["code"].isin(ref.INJECTION_VISITS) & (pop.arm[v["subj"].to_numpy()] == 1)
                 & pop.treated[v["subj"].to_numpy()]].reset_index(drop=True)
        subj = rows["subj"].to_numpy()
        n = len(rows)
        start = rows["minute"].to_numpy() + rng.integers(45, 120, n)
        weight = pop.weight[subj]
        total = weight * 1e6

        def sci(x: float) -> str:
            exponent = int(np.floor(np.log10(x)))
            return f"{x / 10 ** exponent:.1f}E{exponent}"

        locations = np.array(ref.INJECTION_LOCATIONS, dtype=object)[rng.integers(0, len(ref.INJECTION_LOCATIONS), n)]
        lot_month = format_dates(rows["day"].to_numpy(), "dmy")
        self.injections = pd.DataFrame({"subj": subj, "day": rows["day"].to_numpy(), "loc": locations})
        return _frame("EXMSC", {
            **_keys(pop, subj), "VISIT": _visit_labels(rng, rows["label"]),
            "EXNO": rows["code"].map({c: str(i + 1) for i, c in enumerate(ref.INJECTION_VISITS)}).to_numpy(),
            "EXDAT": format_dates(rows["day"], "dmy"), "EXSTTIM": format_times(start),
            "EXENTIM": format_times(start + rng.integers(20, 45, n)), "EXDOSE": np.full(n, "1.0E6", dtype=object),
            "EXDOSU": np.full(n, "cells/kg", dtype=object), "EXWT": _num(weight, 1),
            "EXTOTCEL": np.array([sci(x) for x in total], dtype=object),
            "EXROUTE": np.where(rng.random(n) < 0.92, "Intramuscular", "IM").astype(object), "EXLOC": locations,
            "EXLOT": np.array([f"UC{m[8:10]}{m[3:5]}-{k:03d}" for m, k in zip(lot_month, rng.integers(1, 60, n))],
                              dtype=object)}, ["SUBJECT", "EXNO"])

    def excon(self) -> pd.DataFrame:
        rng, pop = self.rng, self.pop
        ids = np.flatnonzero(pop.treated)
        last_visit = self.visits.groupby("subj")["day"].max().reindex(ids).to_numpy()
        parts = []
        for names, dose, unit, freqs, routes, prob in ref.CONVENTIONAL_THERAPY:
            sel = ids[rng.random(len(ids)) < prob]
            m = len(sel)
            ongoing = rng.random(m) < 0.03
            end = np.where(ongoing, MISSING_DAY, pd.Series(last_visit, index=ids).reindex(sel).to_numpy())
            pick = lambda options, p_first: np.array(options, dtype=object)[  # noqa: E731
                np.where(rng.random(m) < p_first, 0, rng.integers(0, len(options), m))]
            parts.append(pd.DataFrame({**_keys(pop, sel), "EXTRT": pick(names, 0.8), "EXDOSE": dose, "EXDOSU": unit,
                                       "EXFREQ": pick(freqs, 0.85), "EXROUTE": pick(routes, 0.85),
                                       "EXSTDAT": format_dates(pop.day0[sel], "dmy"),
                                       "EXENDAT": format_dates(end, "dmy"), "EXONGO": yes_no(rng, ongoing)}))
        frame = pd.concat(parts, ignore_index=True)
        return _frame("EXCON", {c: frame[c].to_numpy() for c in frame.columns}, ["SUBJECT"])

    def ae(self) -> pd.DataFrame:
        rng, pop = self.rng, self.pop
        records = []   # (subj, term, start, end, serious, fatal, kind, location)
        ids = np.flatnonzero(pop.treated)
        years = (pop.last_contact_day[ids] - pop.day0[ids]) / 365.25
        counts = rng.poisson(0.4 + 0.9 * years)
        subj = np.repeat(ids, counts)
        start = pop.day0[subj] + (rng.random(len(subj)) * (pop.last_contact_day[subj] - pop.day0[subj] + 1)).astype(int)
        serious = rng.random(len(subj)) < 0.04
        general = rng.integers(0, len(ref.GENERAL_AE_TERMS), len(subj))
        serious_i = rng.integers(0, len(ref.SERIOUS_AE_TERMS), len(subj))
        duration = rng.geometric(1 / 8, len(subj))
        for k in range(len(subj)):
            term = ref.SERIOUS_AE_TERMS[serious_i[k]] if serious[k] else ref.GENERAL_AE_TERMS[general[k]]
            records.append((subj[k], term, start[k], start[k] + duration[k], serious[k], False, "general", ""))
        inj = self.injections[rng.random(len(self.injections)) < 0.25]
        inj_term = rng.integers(0, len(ref.INJECTION_SITE_TERMS), len(inj))
        inj_delay = rng.integers(0, 2, len(inj))
        inj_dur = rng.integers(1, 6, len(inj))
        for k, (s, day, loc) in enumerate(inj[["subj", "day", "loc"]].itertuples(index=False, name=None)):
            records.append((s, ref.INJECTION_SITE_TERMS[inj_term[k]], day + inj_delay[k], day + inj_delay[k] +
                            inj_dur[k], False, False, "injection", loc))
        visit_days = self.visits.groupby("subj")["day"]
        for s in np.flatnonzero(pop.treated & (pop.fate == "Adverse event")):
            days = np.sort(visit_days.get_group(s).to_numpy())
            first = days[-2] if len(days) > 1 else days[-1]
            st = first + int(rng.integers(0, max(days[-1] - first, 1)))
            term = ref.GENERAL_AE_TERMS[int(rng.integers(0, len(ref.GENERAL_AE_TERMS)))]
            records.append((s, term, st, st + int(rng.integers(5, 120)), False, False, "discontinuation", ""))
        for s in np.flatnonzero(pop.fate == DEATH):
            term = ref.FATAL_AE_TERMS[int(rng.integers(0, len(ref.FATAL_AE_TERMS)))]
            st = pop.death_day[s] - int(rng.integers(0, 4))
            records.append((s, term, st, pop.death_day[s], True, True, "fatal", ""))
        self.ae_records = records

        n = len(records)
        subj = np.array([r[0] for r in records], dtype=int)
        start = np.minimum(np.array([r[2] for r in records], dtype=int), pop.last_contact_day[subj])
        end = np.array([r[3] for r in records], dtype=int)
        serious = np.array([r[4] for r in records], dtype=bool)
        fatal = np.array([r[5] for r in records], dtype=bool)
        kind = np.array([r[6] for r in records], dtype=object)
        ongoing = end > pop.last_contact_day[subj]
        end = np.where(ongoing, MISSING_DAY, end)
        arm = pop.arm[subj]
        pick_verbatim = rng.random(n)
        verbatim = np.array([r[1].verbatims[0] if pick_verbatim[k] < 0.7 or len(r[1].verbatims) == 1 else
                             r[1].verbatims[1 + int(pick_verbatim[k] * 1000) % (len(r[1].verbatims) - 1)]
                             for k, r in enumerate(records)], dtype=object)
        coded = rng.random(n) >= UNCODED_AE_RATE
        coding = {}
        for col, attr in (("LLT", "llt"), ("LLT_CODE", "llt_code"), ("PT", "pt"), ("PT_CODE", "pt_code"),
                          ("HLT", "hlt"), ("HLT_CODE", "hlt_code"), ("HLGT", "hlgt"), ("HLGT_CODE", "hlgt_code"),
                          ("SOC", "soc"), ("SOC_CODE", "soc_code")):
            coding[col] = np.array([str(getattr(r[1], attr)) if coded[k] else "" for k, r in enumerate(records)],
                                   dtype=object)
        sev_draw = rng.random(n)
        severity = np.where(sev_draw < 0.65, "MILD", np.where(sev_draw < 0.95, "MODERATE", "SEVERE")).astype(object)
        severity[serious & (severity == "MILD")] = "MODERATE"
        severity[fatal | (kind == "discontinuation")] = "SEVERE"
        severity = with_variants(rng, severity, {"MILD": ("Mild", "mild"), "MODERATE": ("Moderate",),
                                                 "SEVERE": ("Severe",)}, 0.08)
        hosp = serious & ~fatal | (fatal & (rng.random(n) < 0.5))
        criteria = {"AESDTH": fatal, "AESLIFE": fatal & (rng.random(n) < 0.5), "AESHOSP": hosp,
                    "AESDISAB": np.zeros(n, bool), "AESCONG": np.zeros(n, bool),
                    "AESMIE": serious & ~hosp & ~fatal}
        criteria_text = {k: np.where(serious, yes_no(rng, v), "").astype(object) for k, v in criteria.items()}
        rel_draw = rng.random(n)
        rel_msc = np.where(kind == "injection", np.where(rel_draw < 0.7, "Related", "Possibly related"),
                           np.where(rel_draw < 0.6, "Not related", np.where(rel_draw < 0.9, "Unlikely related",
                                                                             "Possibly related"))).astype(object)
        rel_msc[arm == 0] = "Not applicable"
        rel_con = np.where(rng.random(n) < 0.92, "Not related", "Possibly related").astype(object)
        rel_con[kind == "injection"] = "Not related"
        last_inj = self.injections.groupby("subj")["day"].max()
        before_last = start < last_inj.reindex(subj).fillna(-1).to_numpy()
        action = np.where(arm == 0, "Not applicable",
                          np.where(before_last, "Dose not changed", "Not applicable")).astype(object)
        action[(kind == "discontinuation") & (arm == 1) & before_last] = "Drug withdrawn"
        outcome = np.where(ongoing, np.where(rng.random(n) < 0.5, "Not recovered/Not resolved",
                                             "Recovering/Resolving"), "Recovered/Resolved").astype(object)
        outcome[fatal] = "Fatal"
        time_known = rng.random(n) < 0.3
        st_time = np.where(time_known, rng.integers(6 * 60, 22 * 60, n), -1)
        frame = pd.DataFrame({
            **_keys(pop, subj), "AETERM": verbatim, **coding,
            "AESTDAT": partial_dates(rng, start, "dmy", 0.015, 0.005), "AESTTIM": format_times(st_time),
            "AEENDAT": format_dates(end, "dmy"), "AEONGO": yes_no(rng, ongoing), "AESEV": severity,
            "AESER": yes_no(rng, serious), **criteria_text, "AERELMSC": rel_msc, "AERELCON": rel_con,
            "AEACN": action, "AEOUT": outcome, "AELOC": np.array([r[7] for r in records], dtype=object),
            "_start": start, "_skey": [self.sort_key[s] for s in pop.subject[subj]]})
        frame = frame.sort_values(["_skey", "_start"], kind="stable").reset_index(drop=True)
        frame["AESPID"] = (frame.groupby("_skey").cumcount() + 1).astype(str)
        self.ae_frame = frame
        return _frame("AE", {c: frame[c].to_numpy() for c in FORMS_BY_NAME["AE"].column_names})

    def cm(self) -> pd.DataFrame:
        rng, pop = self.rng, self.pop
        ids = np.flatnonzero(pop.randomized)
        parts = []
        for name, indication, dose, unit, freq, route, prob in ref.CM_DRUGS:
            if name == "Insulin glargine":
                sel = ids[self.on_insulin[ids]]
            else:
                sel = ids[rng.random(len(ids)) < prob]
            m = len(sel)
            start = pop.consent_day[sel] - rng.integers(30, 3650, m)
            stops = rng.random(m) < 0.15
            end = np.where(stops, pop.day0[sel] + (rng.random(m) * (pop.last_contact_day[sel] - pop.day0[sel])).astype(int),
                           MISSING_DAY)
            doses = rng.integers(8, 31, m).astype(str) if name == "Insulin glargine" else np.full(m, dose, dtype=object)
            parts.append(pd.DataFrame({"subj": sel, "CMTRT": name, "CMINDC": indication, "CMDOSE": doses, "CMDOSU": unit,
                                       "CMFREQ": freq, "CMROUTE": route, "start": start, "end": end}))
        prior = ids[rng.random(len(ids)) < 0.15]
        prior_end = pop.consent_day[prior] - rng.integers(20, 200, len(prior))
        parts.append(pd.DataFrame({"subj": prior, "CMTRT": "Pregabalin", "CMINDC": "Painful DPN", "CMDOSE": "75",
                                   "CMDOSU": "mg", "CMFREQ": "BID", "CMROUTE": "Oral",
                                   "start": prior_end - rng.integers(60, 700, len(prior)), "end": prior_end}))
        ae = self.ae_frame
        treat = ae[rng.random(len(ae)) < 0.3]
        start_days = treat["_start"].to_numpy()
        end_text = treat["AEENDAT"].to_numpy()
        subject_index = {s: i for i, s in enumerate(pop.subject)}
        subj = np.array([subject_index[s] for s in treat["SUBJECT"]], dtype=int)
        ae_end = np.array([MISSING_DAY if t == "" else
                           int((pd.Timestamp(f"{t[6:10]}-{t[3:5]}-{t[0:2]}") - pd.Timestamp(0)).days)
                           for t in end_text], dtype=int)
        drug = np.array(ref.CM_FOR_AE, dtype=object)[rng.integers(0, len(ref.CM_FOR_AE), len(treat))]
        parts.append(pd.DataFrame({"subj": subj, "CMTRT": drug, "CMINDC": treat["AETERM"].to_numpy(), "CMDOSE": "",
                                   "CMDOSU": "", "CMFREQ": "", "CMROUTE": "Oral", "start": start_days,
                                   "end": ae_end}))
        frame = pd.concat(parts, ignore_index=True)
        frame["skey"] = [self.sort_key[s] for s in pop.subject[frame["subj"].to_numpy()]]
        frame = frame.sort_values(["skey", "start"], kind="stable").reset_index(drop=True)
        subj = frame["subj"].to_numpy()
        ongoing = frame["end"].to_numpy() == MISSING_DAY
        return _frame("CM", {**_keys(pop, subj), "CMSPID": (frame.groupby("skey").cumcount() + 1).astype(str).to_numpy(),
                             "CMTRT": frame["CMTRT"].to_numpy(), "CMINDC": frame["CMINDC"].to_numpy(),
                             "CMDOSE": frame["CMDOSE"].to_numpy(), "CMDOSU": frame["CMDOSU"].to_numpy(),
                             "CMFREQ": frame["CMFREQ"].to_numpy(), "CMROUTE": frame["CMROUTE"].to_numpy(),
                             "CMSTDAT": partial_dates(rng, frame["start"].to_numpy(), "dmon", 0.10, 0.08),
                             "CMENDAT": format_dates(frame["end"].to_numpy(), "dmon"), "CMONGO": yes_no(rng, ongoing)})

    # ---- disposition and visits ----------------------------------------------------------
    def ds(self) -> pd.DataFrame:
        rng, pop = self.rng, self.pop
        ids = np.arange(pop.n)
        criteria = {c.code: c for c in ref.IE_CRITERIA}
        ae = self.ae_frame
        fatal_term = dict(zip(ae.loc[ae["AEOUT"] == "Fatal", "SUBJECT"], ae.loc[ae["AEOUT"] == "Fatal", "AETERM"]))
        specify = {"Lost to follow-up": "No response to 3 phone calls", "Physician decision": "Poor compliance",
                   "Protocol deviation": "Prohibited medication started", "Adverse event": "See AE log",
                   WITHDRAWAL: "Subject withdrew consent"}
        spec = []
        for i in ids:
            if pop.fate[i] == SCREEN_FAILURE:
                spec.append("; ".join(f"{c}: {criteria[c].text}" for c in pop.fail_criteria[i]))
            elif pop.fate[i] == DEATH:
                spec.append(fatal_term.get(pop.subject[i], ""))
            elif not pop.treated[i]:
                spec.append("Withdrew before first dose")
            else:
                spec.append(specify.get(pop.fate[i], ""))
        failed = pop.fate == SCREEN_FAILURE
        return _frame("DS", {
            **_keys(pop, ids), "DSCAT": np.where(failed, "Screening", "End of study").astype(object),
            "DSDAT": format_dates(pop.last_contact_day, "dmy"), "COMPLYN": yes_no(rng, pop.fate == COMPLETED),
            "DSREAS": pop.fate.astype(object), "DSSPEC": np.array(spec, dtype=object),
            "DTHDAT": format_dates(pop.death_day, "dmy"), "LASTCDAT": format_dates(pop.last_contact_day, "dmy")},
            ["SUBJECT"])

    def sv(self) -> pd.DataFrame:
        rows = self.visits
        subj = rows["subj"].to_numpy()
        frame = _frame("SV", {**_keys(self.pop, subj), "VISIT": _visit_labels(self.rng, rows["label"]),
                              "VISITDAT": format_dates(rows["day"], "dmy"), "VISITTIM": format_times(rows["minute"])})
        return frame


def _sorted_by_subject(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("SUBJECT", kind="stable").reset_index(drop=True)


def _replace_into(path: Path, write) -> int:
    """Write to a temporary name in the same folder, then move into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    rows = write(tmp)
    os.replace(tmp, path)
    return rows


def generate_study(out_dir: Path, subjects: int = 140, seed: int = 20231) -> SynthSummary:
    """Write one RELEASE-DPN EDC extract (one file per CRF form + data_dictionary.csv) into out_dir."""
    if subjects < 2:
        raise ValueError(f"subjects must be at least 2 (one per arm), got {subjects}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    study = StudyBuilder(rng, subjects)
    pop = study.pop
    summary = SynthSummary(out_dir=out_dir, subjects_screened=pop.n, subjects_randomized=int(pop.randomized.sum()),
                           screen_failures=int((~pop.randomized).sum()),
                           subjects_untreated=int((pop.randomized & ~pop.treated).sum()),
                           subjects_discontinued=int((pop.randomized & (pop.fate != COMPLETED)).sum()),
                           deaths=int((pop.fate == DEATH).sum()))
    # build in a fixed order: AE needs the injection log, CM needs the AEs, DS needs the fatal AEs
    built = {"dm": study.dm(), "ic": study.ic(), "ie": study.ie(), "mh": study.mh(), "dh": study.dh(),
             "vs": study.vs(), "tcss": study.tcss(), "ncs": study.ncs(), "exmsc": study.exmsc(),
             "excon": study.excon(), "ae": study.ae()}
    built["cm"] = study.cm()
    built["ds"] = study.ds()
    built["sv"] = study.sv()
    rand = study.rand()
    lab_header, lab_rows = study.lab()

    for name, frame in built.items():
        form = FORMS_BY_NAME[name.upper()]
        path = out_dir / form.file
        frame = _sorted_by_subject(frame)
        summary.files[path] = _replace_into(path, lambda p, f=frame: write_csv(f, p))
    form = FORMS_BY_NAME["RAND"]
    path = out_dir / form.file
    summary.files[path] = _replace_into(path, lambda p: write_xpt(
        rand, p, "RAND", [c.label for c in form.columns], "RELEASE-DPN randomization", {"RANDDT": "DATE9"}))
    form = FORMS_BY_NAME["LAB"]
    path = out_dir / form.file
    summary.files[path] = _replace_into(path, lambda p: write_xlsx(p, "Local lab", lab_header, lab_rows,
                                                                   "RELEASE-DPN local laboratory results"))
    dictionary = pd.DataFrame(data_dictionary_rows(), columns=list(DICTIONARY_COLUMNS))
    path = out_dir / "data_dictionary.csv"
    summary.files[path] = _replace_into(path, lambda p: write_csv(dictionary, p))
    return summary
