"""Validation stage: each conformance rule and each generated expectation type catches its defect
(and the clean fixture study passes all of them); suites are deterministic; define.xml checks."""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "validation"))
import sdtm_study as st  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "define"))
import define_study  # noqa: E402

from cdisc_dpn.errors import Severity  # noqa: E402
from cdisc_dpn.spec.model import PlausibleRange, StudyTerminology  # noqa: E402
from cdisc_dpn.validation import build_suite, load_catalogue, validate_domains, write_suites  # noqa: E402
from cdisc_dpn.validation.conformance import CHECKS  # noqa: E402

S1, S2 = "DPN-01-001", "DPN-01-002"


@pytest.fixture(scope="module")
def ct():
    return st.terminology()


@pytest.fixture(scope="module")
def clean_result(ct):
    return validate_domains(st.domains(), ct)


def run(ct, frame_change=None, domain_change=None, **kwargs):
    frames = st.frames()
    if frame_change:
        frame_change(frames)
    domains = st.domains(frames)
    if domain_change:
        domain_change(domains)
    return validate_domains(domains, ct, **kwargs)


def codes(result):
    return {f.code for f in result.findings}


# --------------------------------------------------------------------------- passing case
def test_clean_study_passes_every_rule_and_expectation(clean_result):
    assert clean_result.findings == []
    assert clean_result.passed
    catalogue = load_catalogue()
    ran = {r.id for r in catalogue.rules if not CHECKS[r.check].needs_define}
    assert ran <= set(clean_result.rule_counts)
    assert all(c.failures == 0 for c in clean_result.rule_counts.values())
    assert clean_result.rules_run == len(ran)
    # the expectation types are generated for the fixture study (no fixed lengths nor durations in it)
    assert set(catalogue.expectations) - {"DPN-GX-LENGTH", "DPN-GX-ISO8601-DUR"} <= set(clean_result.rule_counts)
    assert clean_result.expectations > 100


# --------------------------------------------------------------------------- conformance rules
def _set(name, column, row, value):
    def change(frames):
        frames[name].loc[row, column] = value
    return change


def _where(name, column, value, **match):
    def change(frames):
        f = frames[name]
        mask = np.ones(len(f), dtype=bool)
        for k, v in match.items():
            mask &= (f[k] == v).to_numpy()
        f.loc[mask, column] = value
    return change


def _drop(name, **match):
    def change(frames):
        f = frames[name]
        mask = np.ones(len(f), dtype=bool)
        for k, v in match.items():
            mask &= (f[k] == v).to_numpy()
        frames[name] = f[~mask].reset_index(drop=True)
    return change


def _dup(name, row=0):
    def change(frames):
        frames[name] = pd.concat([frames[name], frames[name].iloc[[row]]], ignore_index=True)
    return change


def _delete(name):
    def change(frames):
        del frames[name]
    return change


RULE_CASES = {
    "DPN-DS-001": _delete("DM"),
    "DPN-DS-002": _delete("TS"),
    "DPN-DM-001": _dup("DM"),
    "DPN-DM-002": _set("AE", "USUBJID", 0, "DPN-01-999"),
    "DPN-DM-003": _where("DM", "ARMNRS", "NOT ASSIGNED", USUBJID=S1),
    "DPN-DM-004": _drop("EX", USUBJID=S2),
    "DPN-DY-001": _set("AE", "AESTDY", 0, 7.0),
    "DPN-DTC-001": _set("AE", "AEENDTC", 0, "2024-01-14"),
    "DPN-RFIC-001": _set("AE", "AESTDTC", 0, "2023-12-31"),
    "DPN-RFIC-002": _set("CM", "CMSTDTC", 0, "2023-06-01"),
    "DPN-EX-001": _set("EX", "EXENDTC", 0, "2024-02-15"),
    "DPN-EX-002": _where("DM", "ACTARMCD", "NOTTRT", USUBJID=S1),
    "DPN-SE-001": _set("AE", "EPOCH", 0, "FOLLOW-UP"),
    "DPN-TV-001": _where("LB", "VISIT", "WEEK 3", VISITNUM=2.0),
    "DPN-FND-001": _set("LB", "LBSTRESN", 0, 9.9),
    "DPN-FND-002": _where("LB", "LBLOBXFL", "Y", VISITNUM=2.0),
    "DPN-SUPP-001": _set("SUPPAE", "IDVARVAL", 0, "7"),
    "DPN-SUPP-002": _dup("SUPPAE"),
    "DPN-TS-001": _drop("TS", TSPARMCD="TITLE"),
    "DPN-TS-002": _drop("TS", TSPARMCD="DOSE"),
    "DPN-PLAUS-001": _where("LB", "LBSTRESN", 99.0, LBTESTCD="GLUC", VISITNUM=2.0),
}
# Rules that need study data beyond the datasets (validate_domains keyword arguments).
RULE_KWARGS = {
    "DPN-PLAUS-001": {"specs": dataclasses.replace(
        define_study.specs(),
        terminology=StudyTerminology(plausible_ranges=(PlausibleRange("GLUC", "mmol/L", 0.5, 60),)))},
}


def test_every_non_define_rule_has_a_failing_case():
    catalogue = load_catalogue()
    assert {r.id for r in catalogue.rules if not CHECKS[r.check].needs_define} == set(RULE_CASES)


@pytest.mark.parametrize("rule_id", sorted(RULE_CASES))
def test_rule_catches_its_defect(ct, rule_id):
    result = run(ct, RULE_CASES[rule_id], rule_ids=[rule_id], **RULE_KWARGS.get(rule_id, {}))
    assert rule_id in codes(result), [f.render() for f in result.findings]
    assert set(result.rule_counts) == {rule_id} and result.expectations == 0
    rule = next(r for r in load_catalogue().rules if r.id == rule_id)
    finding = next(f for f in result.findings if f.code == rule_id)
    assert finding.severity == rule.severity
    assert "{" not in finding.message
    assert result.rule_counts[rule_id].failures >= 1


def test_rule_finding_points_at_raw_record_and_spec(ct):
    result = run(ct, RULE_CASES["DPN-DY-001"])
    f = next(f for f in result.findings if f.code == "DPN-DY-001")
    assert (f.dataset, f.variable, f.row, f.usubjid, f.value) == ("AE", "AESTDY", 1, S1, "7")
    assert (f.file, f.source_row) == ("ae_raw.csv", 2)
    assert f.extra["spec"].startswith("mappings/ae.yaml:")
    assert "give 6" in f.message


def test_study_day_has_no_day_zero(ct):
    result = run(ct, _set("AE", "AESTDY", 0, 0.0))
    assert "DPN-DY-001" in codes(result)
    # a date before RFSTDTC: day = date - RFSTDTC (2024-01-05 is day -5 for RFSTDTC 2024-01-10)
    lb = next(f for f in result.findings if f.dataset == "LB") if any(f.dataset == "LB" for f in result.findings) \
        else None
    assert lb is None


def test_unscheduled_visit_with_fractional_visitnum_is_allowed(ct):
    result = run(ct, _where("LB", "VISIT", "UNSCHEDULED X", VISITNUM=2.1))
    assert "DPN-TV-001" not in codes(result)


def test_unplanned_treatment_may_have_exposure(ct):
    def change(frames):
        dm = frames["DM"]
        dm.loc[dm.USUBJID == S1, ["ARMCD", "ARM", "ACTARMCD", "ACTARM"]] = ""
        dm.loc[dm.USUBJID == S1, "ARMNRS"] = "UNPLANNED TREATMENT"
    result = run(ct, change)
    assert not {"DPN-DM-003", "DPN-EX-002"} & codes(result)


def test_ts_required_parameters_are_codes_of_c66738(ct):
    terms = set(ct.get("C66738").values())
    for rule in load_catalogue().rules:
        if rule.check == "ts_parameters_present":
            assert set(rule.params["required"]) <= terms, set(rule.params["required"]) - terms


def test_every_failing_row_is_listed_and_counted(ct):
    """No 50-row cap: a data manager raises a query per row from the full list (report.json/xlsx)."""
    def change(frames):
        frames["LB"]["LBSTRESU"] = frames["LB"]["LBSTRESU"].where(frames["LB"]["LBTESTCD"] != "GLUC", "mg/dL")
    frames = st.frames()
    change(frames)
    big = pd.concat([frames["LB"]] * 30, ignore_index=True)
    big["LBSEQ"] = big.groupby("USUBJID").cumcount().astype(float) + 1
    big["LBLOBXFL"] = ""
    frames["LB"] = big
    result = validate_domains(st.domains(frames), ct)
    rc = result.rule_counts["DPN-GX-VL-UNIT"]
    assert rc.failures == 180 and rc.listed == 180
    listed = [f for f in result.findings if f.code == "DPN-GX-VL-UNIT"]
    assert len(listed) == 180 and len({f.row for f in listed}) == 180
    assert all(f.value == "mg/dL" for f in listed)


# --------------------------------------------------------------------------- generated expectations
def _frame(name, fn):
    def change(domains):
        d = domains[name]
        d.frame = fn(d.frame.copy())
    return change


def _spec_var(name, variable, **changes):
    def change(domains):
        d = domains[name]
        variables = tuple(dataclasses.replace(v, **changes) if v.name == variable else v for v in d.spec.variables)
        d.spec = dataclasses.replace(d.spec, variables=variables)
    return change


def _cell(name, column, row, value, as_object=False):
    def fn(frame):
        if as_object:
            frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        return frame
    return _frame(name, fn)


def _add_duration(frames):
    ae = frames["AE"]
    ae.insert(list(ae.columns).index("AEENDTC") + 1, "AEDUR", ["P5D", "5 days"])


EXPECTATION_CASES = {
    "DPN-GX-COL-ORDER": (None, _frame("AE", lambda f: f[[f.columns[1], f.columns[0], *f.columns[2:]]])),
    "DPN-GX-REQ-VAR": (None, _frame("AE", lambda f: f.drop(columns=["AETERM"]))),
    "DPN-GX-EXP-VAR": (None, _frame("AE", lambda f: f.drop(columns=["AESER"]))),
    "DPN-GX-TYPE-CHAR": (None, _cell("AE", "AETERM", 0, 5.0, as_object=True)),
    "DPN-GX-TYPE-NUM": (None, _frame("AE", lambda f: f.assign(AESEQ=["1", "1"]))),
    "DPN-GX-REQ-NULL": (None, _cell("AE", "AESEQ", 0, np.nan)),
    "DPN-GX-REQ-EMPTY": (None, _cell("AE", "AETERM", 0, "  ")),
    "DPN-GX-CT": (None, _cell("DM", "SEX", 0, "X")),
    "DPN-GX-CT-EXT": (None, _cell("EX", "EXDOSU", 0, "mgs")),
    "DPN-GX-LENGTH": (None, _spec_var("AE", "AETERM", length=6)),
    "DPN-GX-ISO8601-DTC": (None, _cell("AE", "AESTDTC", 0, "2024/01/15")),
    "DPN-GX-ISO8601-DUR": (_add_duration, None),
    "DPN-GX-SEQ-UNIQUE": (None, _cell("LB", "LBSEQ", 1, 1.0)),
    "DPN-GX-KEY-UNIQUE": (None, _frame("AE", lambda f: pd.concat([f, f.iloc[[0]].assign(AESEQ=2.0)],
                                                                 ignore_index=True))),
    "DPN-GX-VL-UNIT": (None, _cell("LB", "LBSTRESU", 0, "mg/dL")),
    "DPN-GX-VL-NUMERIC": (None, _cell("LB", "LBORRES", 0, "high")),
    "DPN-GX-VL-REQ": (None, _cell("LB", "LBSTRESC", 0, "")),
}


def test_every_expectation_type_has_a_failing_case():
    assert set(load_catalogue().expectations) == set(EXPECTATION_CASES)


@pytest.mark.parametrize("rule_id", sorted(EXPECTATION_CASES))
def test_expectation_catches_its_defect(ct, rule_id):
    frame_change, domain_change = EXPECTATION_CASES[rule_id]
    result = run(ct, frame_change, domain_change, rule_ids=[rule_id])
    assert rule_id in codes(result), [f.render() for f in result.findings]
    assert set(result.rule_counts) == {rule_id} and result.rules_run == 0
    f = next(f for f in result.findings if f.code == rule_id)
    assert f.severity == load_catalogue().expectation(rule_id).severity
    assert f.extra.get("spec", "").startswith("mappings/")
    assert "{" not in f.message


def test_rule_ids_select_what_runs(ct):
    change = _cell("DM", "SEX", 0, "X")
    both = run(ct, None, change, rule_ids=["DPN-GX-CT", "DPN-DY-001"])
    assert set(both.rule_counts) == {"DPN-GX-CT", "DPN-DY-001"} and both.rules_run == 1
    assert codes(both) == {"DPN-GX-CT"}
    assert codes(run(ct, None, change, rule_ids=["DPN-DY-001"])) == set()
    with pytest.raises(ValueError, match="DPN-NOPE"):
        run(ct, rule_ids=["DPN-NOPE"])


def _frame_cells(name, column, rows, value):
    def fn(frame):
        frame.loc[rows, column] = value
        return frame
    return _frame(name, fn)


def test_expectations_on_distinct_values_flag_every_row_that_holds_a_bad_value(ct):
    # a value repeated on many rows: checked once, reported on every row (unconditional and
    # value-level expectations), counts complete; other columns' padding adds no rows
    frames = st.frames()
    lb = pd.concat([frames["LB"]] * 7, ignore_index=True)
    lb["LBSEQ"] = lb.groupby("USUBJID").cumcount().astype(float) + 1
    lb["LBLOBXFL"] = ""
    bad_unit = lb.index[lb["LBTESTCD"] == "GLUC"]
    lb.loc[bad_unit, "LBSTRESU"] = "mg/dL"
    lb.loc[[0, 3], "LBTEST"] = "NOT A TEST NAME"
    frames["LB"] = lb
    result = validate_domains(st.domains(frames), ct, rule_ids=["DPN-GX-VL-UNIT", "DPN-GX-CT", "DPN-GX-CT-EXT"])
    unit = sorted(f.row for f in result.findings if f.code == "DPN-GX-VL-UNIT")
    assert result.rule_counts["DPN-GX-VL-UNIT"].failures == len(bad_unit)
    assert unit == [r + 1 for r in sorted(bad_unit)][:len(unit)]
    assert {f.value for f in result.findings if f.code == "DPN-GX-VL-UNIT"} == {"mg/dL"}
    ct_rows = sorted(f.row for f in result.findings if f.variable == "LBTEST")
    assert ct_rows == [1, 4]
    assert sum(result.rule_counts[c].datasets.get("LB", 0) for c in ("DPN-GX-CT", "DPN-GX-CT-EXT")) == 2


def test_expectation_finding_has_row_subject_value_and_provenance(ct):
    result = run(ct, None, _cell("DM", "SEX", 1, "X"))
    f = next(f for f in result.findings if f.code == "DPN-GX-CT")
    assert (f.dataset, f.variable, f.row, f.usubjid, f.value) == ("DM", "SEX", 2, S2, "X")
    assert (f.file, f.source_row) == ("dm_raw.csv", 3)
    assert f.extra["spec"] == "mappings/dm.yaml:22"
    assert "C66731" in f.message


def test_extensible_codelist_accepts_declared_sponsor_extension(ct):
    from cdisc_dpn.spec.model import CodelistTerm, SponsorCodelist, StudyTerminology
    from cdisc_dpn.terminology.ct import load_terminology
    study_ct = load_terminology(StudyTerminology(codelists=(
        SponsorCodelist("UNIT", "Unit", (CodelistTerm("mgs", extended=True),), extends="C71620"),)))
    result = run(study_ct, None, _cell("EX", "EXDOSU", 0, "mgs"))
    assert "DPN-GX-CT-EXT" not in codes(result)


# --------------------------------------------------------------------------- suites
def test_suite_is_deterministic_json_with_meta(ct):
    domains = st.domains()
    spec = domains["LB"].spec
    a, b = build_suite(spec, ct), build_suite(spec, ct)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    types = {e["type"] for e in a["expectations"]}
    assert {"expect_table_columns_to_match_ordered_list", "expect_column_values_to_be_in_set",
            "expect_compound_columns_to_be_unique", "expect_column_values_to_match_regex"} <= types
    for e in a["expectations"]:
        assert {"rule_id", "severity", "spec_file", "spec_line", "key"} <= set(e["meta"])
    conditional = [e for e in a["expectations"] if "row_condition" in e["kwargs"]]
    assert conditional and all(e["kwargs"]["condition_parser"] == "pandas" for e in conditional)


def test_write_suites(tmp_path, ct):
    specs = [d.spec for d in st.domains().values()]
    paths = write_suites(specs, ct, tmp_path / "suites")
    assert [p.name for p in paths] == sorted(f"{s.name.lower()}.json" for s in specs)
    first = {p: p.read_bytes() for p in paths}
    write_suites(specs, ct, tmp_path / "suites")
    assert first == {p: p.read_bytes() for p in paths}
    assert json.loads(paths[0].read_text())["name"] == sorted(s.name for s in specs)[0]


# --------------------------------------------------------------------------- define.xml
def _define_xml(domains, *, drop_var=None, length=None, data_type=None, extra_dataset=False):
    ns = 'xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:def="http://www.cdisc.org/ns/def/v2.1"'
    groups, items = [], []
    for name, d in sorted(domains.items()):
        refs = []
        for i, v in enumerate(d.spec.variables, 1):
            if (name, v.name) == drop_var:
                continue
            oid = f"IT.{name}.{v.name}"
            refs.append(f'<ItemRef ItemOID="{oid}" OrderNumber="{i}" Mandatory="No"/>')
            dt = "float" if v.type == "Num" else "text"
            if data_type and data_type[0] == (name, v.name):
                dt = data_type[1]
            attrs = f'OID="{oid}" Name="{v.name}" DataType="{dt}"'
            if v.type == "Char":
                n = length[1] if length and length[0] == (name, v.name) else \
                    max(1, int(d.frame[v.name].astype(str).str.len().max()))
                attrs += f' Length="{n}"'
            items.append(f"<ItemDef {attrs}/>")
        groups.append(f'<ItemGroupDef OID="IG.{name}" Name="{name}" Repeating="Yes">{"".join(refs)}</ItemGroupDef>')
    if extra_dataset:
        groups.append('<ItemGroupDef OID="IG.XX" Name="XX" Repeating="Yes"/>')
    return (f'<?xml version="1.0" encoding="UTF-8"?><ODM {ns}><Study OID="S"><MetaDataVersion OID="M" Name="M">'
            f'{"".join(groups)}{"".join(items)}</MetaDataVersion></Study></ODM>')


DEFINE_CASES = {
    "DPN-DEF-001": {"skip_dataset": "CM"},
    "DPN-DEF-002": {"extra_dataset": True},
    "DPN-DEF-003": {"drop_var": ("AE", "AESER")},
    "DPN-DEF-004": {"add_column": True},
    "DPN-DEF-005": {"data_type": (("AE", "AETERM"), "integer")},
    "DPN-DEF-006": {"length": (("AE", "AETERM"), 3)},
}


def test_every_define_rule_has_a_failing_case():
    assert {r.id for r in load_catalogue().rules if CHECKS[r.check].needs_define} == set(DEFINE_CASES)


def test_define_matches_clean_study(tmp_path, ct):
    domains = st.domains()
    path = tmp_path / "define.xml"
    path.write_text(_define_xml(domains), encoding="utf-8")
    result = validate_domains(domains, ct, define_path=path)
    assert result.findings == []
    assert result.rules_run == len(load_catalogue().rules)


@pytest.mark.parametrize("rule_id", sorted(DEFINE_CASES))
def test_define_rule_catches_its_defect(tmp_path, ct, rule_id):
    options = dict(DEFINE_CASES[rule_id])
    domains = st.domains()
    described = dict(domains)
    if options.pop("skip_dataset", None):
        del described["CM"]
    if options.pop("add_column", None):
        # define describes AE.AEDUR, the dataset has no such column
        ae = domains["AE"]
        from cdisc_dpn.spec.model import VariableSpec
        extra = dataclasses.replace(ae.spec.variables[-1], name="AEDUR", order=999)
        described["AE"] = dataclasses.replace(ae, spec=dataclasses.replace(ae.spec, variables=(*ae.spec.variables,
                                                                                                 extra)),
                                              frame=ae.frame.assign(AEDUR=""))
        assert isinstance(extra, VariableSpec)
    path = tmp_path / "define.xml"
    path.write_text(_define_xml(described, **options), encoding="utf-8")
    result = validate_domains(domains, ct, define_path=path, rule_ids=[rule_id])
    assert rule_id in codes(result), [f.render() for f in result.findings]
    assert result.rules_run == 1


def test_define_with_external_entity_is_not_resolved(tmp_path, ct):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    path = tmp_path / "define.xml"
    path.write_text(f'<?xml version="1.0"?><!DOCTYPE ODM [<!ENTITY x SYSTEM "file://{secret}">]>'
                    '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"><Study><MetaDataVersion>'
                    '<ItemGroupDef Name="&x;"/></MetaDataVersion></Study></ODM>')
    from cdisc_dpn.errors import InputError
    from cdisc_dpn.validation.define_meta import read_define
    try:
        meta = read_define(path)
    except InputError as exc:          # lxml refuses the unresolved entity: fine, nothing was read
        assert "TOPSECRET" not in str(exc)
    else:
        assert all("TOPSECRET" not in name for name in meta.datasets)


def test_severities_are_known():
    catalogue = load_catalogue()
    assert all(isinstance(r.severity, Severity) for r in catalogue.rules)
    assert len({r.id for r in catalogue.rules}) == len(catalogue.rules)
