"""Who was screened, who was randomized to what, and which visits each subject attended.

Everything the forms share is decided here once (dates, arm, fate), so forms cannot contradict
each other: a form only reads these arrays and adds its own measurements.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import reference as ref
from .dates import years_between

COMPLETED = "Completed"
SCREEN_FAILURE = "Screen failure"
DEATH = "Death"
WITHDRAWAL = "Withdrawal by subject"


@dataclass(frozen=True)
class Sites:
    codes: np.ndarray          # "03"
    lab_names: np.ndarray
    conventional_units: np.ndarray   # (n_sites, n_tests) bool: lab reports conventional unit
    test_name_variant: np.ndarray    # (n_sites, n_tests) int
    reports_egfr: np.ndarray         # bool
    sensory_unit: np.ndarray         # "µV" or "uV"


@dataclass(frozen=True)
class Population:
    """One entry per screened subject, in screening order (forms sort their rows by SUBJECT)."""
    sites: Sites
    site_index: np.ndarray
    site: np.ndarray
    subject: np.ndarray
    consent_day: np.ndarray
    consent_minute: np.ndarray
    screen_day: np.ndarray
    randomized: np.ndarray        # bool
    arm: np.ndarray               # -1 screen failure, 0 control, 1 hUC-MSC
    treated: np.ndarray           # bool
    day0: np.ndarray              # randomization day (screen day for screen failures)
    fail_criteria: list           # per subject: tuple of criterion codes not met
    female: np.ndarray
    age: np.ndarray
    birth_day: np.ndarray
    child_potential: np.ndarray
    height: np.ndarray
    weight: np.ndarray
    last_visit_index: np.ndarray  # index into TREATMENT_VISITS; -1 for screen failures
    fate: np.ndarray              # COMPLETED, SCREEN_FAILURE, DEATH or a discontinuation reason
    death_day: np.ndarray         # -1 unless dead
    last_contact_day: np.ndarray
    tcss_screening: np.ndarray
    randomization_order: np.ndarray  # 1.. for randomized, 0 otherwise

    @property
    def n(self) -> int:
        return len(self.subject)


def build_sites(rng: np.random.Generator, n_sites: int) -> Sites:
    codes = np.array([f"{c:02d}" for c in np.sort(rng.choice(np.arange(1, 100), n_sites, replace=False))])
    names = []
    for i in range(n_sites):
        city, hospital = ref.CITIES[i % len(ref.CITIES)]
        names.append(f"{hospital} Clinical Laboratory" if i < len(ref.CITIES)
                     else f"{city} Municipal Hospital No.{i // len(ref.CITIES) + 1} Laboratory")
    n_tests = len(ref.LAB_TESTS)
    conventional_site = rng.random(n_sites) < 0.4
    conventional_site[:2] = (False, True)   # at least one SI and one conventional lab
    conventional = conventional_site[:, None] & (rng.random((n_sites, n_tests)) < 0.8)
    conventional[1, :] = True
    reports_egfr = rng.random(n_sites) < 0.5
    reports_egfr[:2] = (True, False)
    return Sites(codes=codes, lab_names=np.array(names, dtype=object), conventional_units=conventional,
                 test_name_variant=rng.integers(0, 2, (n_sites, n_tests)), reports_egfr=reports_egfr,
                 sensory_unit=np.where(rng.random(n_sites) < 0.7, "µV", "uV").astype(object))


def _screen_fail_criteria(rng: np.random.Generator, n: int, female_wocbp: np.ndarray) -> list:
    codes = list(ref.SCREEN_FAIL_WEIGHTS)
    weights = np.array([ref.SCREEN_FAIL_WEIGHTS[c] for c in codes])
    first = rng.choice(len(codes), n, p=weights / weights.sum())
    second = rng.choice(len(codes), n, p=weights / weights.sum())
    two = rng.random(n) < 0.15
    out = []
    for i in range(n):
        chosen = [codes[first[i]]]
        if two[i] and second[i] != first[i]:
            chosen.append(codes[second[i]])
        chosen = ["EXCL11" if c == "EXCL10" and not female_wocbp[i] else c for c in chosen]
        out.append(tuple(sorted(set(chosen))))
    return out


def build_population(rng: np.random.Generator, randomized_count: int) -> Population:
    n_fail = int(round(randomized_count * rng.uniform(0.19, 0.25)))
    n = randomized_count + n_fail
    n_sites = int(min(99, max(6, np.ceil(n / 25))))
    sites = build_sites(rng, n_sites)

    # screening calendar and site assignment
    screen_day = ref.FIRST_SCREENING_DAY + np.sort(rng.integers(0, ref.ENROLMENT_SPAN_DAYS, n))
    site_weights = rng.gamma(2.0, size=n_sites)
    site_index = rng.choice(n_sites, n, p=site_weights / site_weights.sum())
    number_in_site = pd.Series(site_index).groupby(site_index).cumcount().to_numpy() + 1
    site = sites.codes[site_index]
    subject = np.array([f"{s}-{k:03d}" for s, k in zip(site, number_in_site)], dtype=object)

    consent_day = screen_day - rng.choice(4, n, p=(0.7, 0.15, 0.1, 0.05))
    consent_minute = rng.integers(8 * 60, 10 * 60 + 30, n)

    randomized = np.zeros(n, dtype=bool)
    randomized[rng.permutation(n)[:randomized_count]] = True

    female = rng.random(n) < 0.42
    age = np.where(randomized, np.clip(np.rint(rng.normal(58, 10, n)), 25, 80),
                   np.clip(np.rint(rng.normal(60, 11, n)), 20, 80)).astype(int)
    birth_day = consent_day - np.rint((age + rng.random(n) * 0.98 + 0.01) * 365.2425).astype(int)
    age = years_between(birth_day, consent_day)
    child_potential = female & (age < 50) & (rng.random(n) < 0.75)
    height = np.where(female, rng.normal(158, 6, n), rng.normal(170, 6.5, n)).round(1)
    weight = (np.clip(rng.normal(25.5, 3.5, n), 18.5, 38) * (height / 100) ** 2).round(1)

    fail_criteria = [()] * n
    failing = np.flatnonzero(~randomized)
    for i, crit in zip(failing, _screen_fail_criteria(rng, len(failing), child_potential[failing])):
        fail_criteria[i] = crit

    tcss_screening = np.clip(np.rint(rng.normal(12.3, 2.2, n)), 9, 19).astype(int)
    tcss_fail = np.array(["INCL05" in c for c in fail_criteria])
    tcss_screening[tcss_fail] = rng.integers(5, 9, tcss_fail.sum())

    # randomization: Day 0 within 28 days after screening, permuted blocks of 4 in order of Day 0
    day0 = screen_day + rng.integers(7, 29, n)
    day0[~randomized] = screen_day[~randomized]
    order = np.flatnonzero(randomized)[np.argsort(day0[randomized], kind="stable")]
    blocks = np.concatenate([rng.permutation([0, 0, 1, 1]) for _ in range((randomized_count + 3) // 4)])
    arm = np.full(n, -1)
    arm[order] = blocks[:randomized_count]
    randomization_order = np.zeros(n, dtype=int)
    randomization_order[order] = np.arange(1, randomized_count + 1)

    # fates: untreated, dropouts, deaths, completers
    last = len(ref.TREATMENT_VISITS) - 1
    last_visit_index = np.where(randomized, last, -1)
    fate = np.where(randomized, COMPLETED, SCREEN_FAILURE).astype(object)
    treated = randomized.copy()
    pool = rng.permutation(np.flatnonzero(randomized))
    n_untreated = 0 if randomized_count < 100 else max(1, int(round(randomized_count * 0.012)))
    n_death = int(round(randomized_count * 0.006))
    n_drop = int(round(randomized_count * 0.10))
    untreated_ids = pool[:n_untreated]
    death_ids = pool[n_untreated:n_untreated + n_death]
    drop_ids = pool[n_untreated + n_death:n_untreated + n_death + n_drop]
    treated[untreated_ids] = False
    last_visit_index[untreated_ids] = 0
    fate[untreated_ids] = np.where(rng.random(len(untreated_ids)) < 0.7, WITHDRAWAL, "Physician decision")
    last_visit_index[death_ids] = rng.integers(1, last, len(death_ids))
    fate[death_ids] = DEATH
    last_visit_index[drop_ids] = rng.integers(1, last, len(drop_ids))
    reasons, weights = zip(*ref.DISCONTINUATION_REASONS)
    fate[drop_ids] = np.array(reasons, dtype=object)[
        rng.choice(len(reasons), len(drop_ids), p=np.array(weights) / sum(weights))]

    death_day = np.full(n, -1)
    return Population(
        sites=sites, site_index=site_index, site=site, subject=subject, consent_day=consent_day,
        consent_minute=consent_minute, screen_day=screen_day, randomized=randomized, arm=arm,
        treated=treated, day0=day0, fail_criteria=fail_criteria, female=female, age=age,
        birth_day=birth_day, child_potential=child_potential, height=height, weight=weight,
        last_visit_index=last_visit_index, fate=fate, death_day=death_day,
        last_contact_day=screen_day.copy(), tcss_screening=tcss_screening,
        randomization_order=randomization_order)


def build_visits(rng: np.random.Generator, pop: Population) -> pd.DataFrame:
    """One row per attended visit: subject index, visit code, label, day, minute, order key.

    Also fills pop.last_contact_day and pop.death_day (the population's last visit is known only here).
    """
    n_sched = len(ref.TREATMENT_VISITS)
    rand_ids = np.flatnonzero(pop.randomized)
    subj = np.repeat(rand_ids, n_sched)
    vidx = np.tile(np.arange(n_sched), len(rand_ids))
    vis_day = np.array([v.day for v in ref.TREATMENT_VISITS])[vidx]
    window = np.array([v.window for v in ref.TREATMENT_VISITS])[vidx]
    jitter = np.clip(np.rint(rng.normal(0, 1, len(subj)) * window / 2.5), -window, window).astype(int)
    day = pop.day0[subj] + vis_day + jitter
    last = pop.last_visit_index[subj]
    code = np.array([v.code for v in ref.TREATMENT_VISITS], dtype=object)[vidx]
    missable = (vidx > 0) & (vidx < last) & ~np.isin(code, ref.INJECTION_VISITS)
    attended = (vidx <= last) & ~(missable & (rng.random(len(subj)) < 0.04))
    scheduled = pd.DataFrame({"subj": subj[attended], "code": code[attended], "day": day[attended],
                              "order": (vidx[attended] + 1) * 10})

    screening = pd.DataFrame({"subj": np.arange(pop.n), "code": ref.SCREENING.code,
                              "day": pop.screen_day, "order": 0})

    # unscheduled visits between Day 0 and the last scheduled visit of treated subjects
    last_day = scheduled.groupby("subj")["day"].max()
    treated_ids = np.flatnonzero(pop.treated)
    counts = rng.poisson(0.15, len(treated_ids))
    uns_subj = np.repeat(treated_ids, counts)
    span = last_day.reindex(uns_subj).to_numpy() - pop.day0[uns_subj]
    offset = 1 + np.floor(rng.random(len(uns_subj)) * np.maximum(span - 1, 1)).astype(int)
    uns_day = pop.day0[uns_subj] + np.minimum(offset, np.maximum(span - 1, 1))
    unscheduled = pd.DataFrame({"subj": uns_subj, "code": "UNS", "day": uns_day, "order": -1})

    visits = pd.concat([screening, scheduled, unscheduled], ignore_index=True)
    visits["minute"] = np.where(visits["code"].to_numpy() == ref.SCREENING.code,
                                pop.consent_minute[visits["subj"].to_numpy()] + rng.integers(20, 90, len(visits)),
                                rng.integers(8 * 60, 11 * 60 + 30, len(visits)))
    same_day_consent = (visits["code"].to_numpy() == ref.SCREENING.code)
    visits.loc[same_day_consent, "minute"] = np.maximum(
        visits.loc[same_day_consent, "minute"].to_numpy(),
        pop.consent_minute[visits.loc[same_day_consent, "subj"].to_numpy()] + 20)
    labels = {v.code: v.label for v in (ref.SCREENING,) + ref.TREATMENT_VISITS}
    labels["UNS"] = ref.UNSCHEDULED_LABEL
    visits["label"] = visits["code"].map(labels)
    # unscheduled visits sort by date between scheduled ones
    visits = visits.sort_values(["subj", "day", "order"], kind="stable").reset_index(drop=True)

    last_contact = visits.groupby("subj")["day"].max().reindex(np.arange(pop.n)).to_numpy()
    pop.last_contact_day[:] = last_contact
    dead = pop.fate == DEATH
    pop.death_day[dead] = last_contact[dead] + rng.integers(5, 40, dead.sum())
    pop.last_contact_day[dead] = pop.death_day[dead]
    return visits
