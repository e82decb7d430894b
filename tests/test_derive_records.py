"""Derived records: TCSS-style item totals, severity bands, eGFR (MDRD), ratios (BMI)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from cdisc_dpn.derive.ratios import match_denominators, ratio_records, ratio_value
from cdisc_dpn.derive.records import classify, egfr_mdrd, mdrd_egfr, sum_items

ITEMS = [f"IT{i:02d}" for i in range(1, 6)]


def _ctx(out: pd.DataFrame, src: pd.DataFrame | None = None, dm: pd.DataFrame | None = None):
    src = src if src is not None else pd.DataFrame(index=out.index)
    return SimpleNamespace(
        out=out, src=src, findings=[], call=None,
        dataset=SimpleNamespace(name="QS", domain="QS", where=SimpleNamespace(file="qs.yaml", line=3)),
        variable=lambda name: out[name], dataset_frame=lambda name: dm)


def _items(subject: str, visit: float, scores: list, total: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    out = pd.DataFrame({"USUBJID": subject, "VISITNUM": visit, "QSTESTCD": ITEMS[:len(scores)],
                        "QSSTRESN": [np.nan if s is None else float(s) for s in scores], "QSCAT": "CAT"})
    return out, pd.DataFrame({"RECTOT": [total] * len(scores)})


SUM = {"items": {"QSTESTCD": ITEMS}, "value": "QSSTRESN", "group_by": ["USUBJID", "VISITNUM"],
       "copy": ["USUBJID", "VISITNUM", "QSCAT"], "results": {"QSORRES": "char", "QSSTRESC": "char", "QSSTRESN": "num"},
       "set": {"QSTESTCD": "TOTAL", "QSDRVFL": "Y"}, "compare_column": "RECTOT"}


def _frames(*parts):
    out = pd.concat([p[0] for p in parts], ignore_index=True)
    src = pd.concat([p[1] for p in parts], ignore_index=True)
    return out, src


def test_total_is_the_item_sum_with_derived_flag():
    out, src = _frames(_items("S1", 1.0, [1, 0, 2, 1, 1], "5"), _items("S2", 1.0, [0, 0, 0, 0, 0], "0"))
    ctx = _ctx(out, src)
    rows = sum_items(ctx, SUM)
    assert rows["QSSTRESN"].tolist() == [5.0, 0.0]
    assert rows["QSORRES"].tolist() == ["5", "0"] and rows["QSSTRESC"].tolist() == ["5", "0"]
    assert set(rows["QSDRVFL"]) == {"Y"} and set(rows["QSTESTCD"]) == {"TOTAL"}
    assert rows["QSCAT"].tolist() == ["CAT", "CAT"]
    assert ctx.findings == []


def test_collected_total_that_disagrees_is_reported_and_not_used():
    out, src = _frames(_items("S1", 2.0, [1, 1, 1, 1, 1], "7"))
    ctx = _ctx(out, src)
    rows = sum_items(ctx, SUM)
    assert rows["QSSTRESN"].tolist() == [5.0]
    [finding] = ctx.findings
    assert finding.code == "DRV-TOTAL-MISMATCH" and "7" in finding.message and "5" in finding.message
    assert finding.usubjid == "S1"


def test_blank_collected_total_is_not_a_mismatch():
    out, src = _frames(_items("S1", 2.0, [1, 1, 1, 1, 1], ""))
    ctx = _ctx(out, src)
    assert sum_items(ctx, SUM)["QSSTRESN"].tolist() == [5.0] and ctx.findings == []


@pytest.mark.parametrize("scores", [[1, 1, None, 1, 1], [1, 1, 1, 1]])
def test_incomplete_items_give_no_total_and_a_warning(scores):
    out, src = _frames(_items("S1", 1.0, scores, "4"), _items("S2", 1.0, [1, 1, 1, 1, 1], "5"))
    ctx = _ctx(out, src)
    rows = sum_items(ctx, SUM)
    assert rows["USUBJID"].tolist() == ["S2"]
    assert [f.code for f in ctx.findings] == ["DRV-TOTAL-INCOMPLETE"]
    f = ctx.findings[0]
    assert f.usubjid == "S1" and f.value        # which subject and which item codes lack a score
    assert "S1" in f.message and "{" not in f.message


BANDS = [{"max": 5, "value": "NO NEUROPATHY"}, {"max": 8, "value": "MILD NEUROPATHY"},
         {"max": 11, "value": "MODERATE NEUROPATHY"}, {"max": 19, "value": "SEVERE NEUROPATHY"}]


@pytest.mark.parametrize("total, band", [(0, "NO NEUROPATHY"), (5, "NO NEUROPATHY"), (6, "MILD NEUROPATHY"),
                                         (8, "MILD NEUROPATHY"), (9, "MODERATE NEUROPATHY"),
                                         (11, "MODERATE NEUROPATHY"), (12, "SEVERE NEUROPATHY"),
                                         (19, "SEVERE NEUROPATHY")])
def test_severity_bands(total, band):
    out = pd.DataFrame({"USUBJID": ["S1", "S1"], "QSTESTCD": ["TOTAL", "IT01"], "QSSTRESN": [float(total), 1.0]})
    rows = classify(_ctx(out), {"source": {"QSTESTCD": "TOTAL"}, "value": "QSSTRESN", "bands": BANDS,
                                "result": ["QSORRES", "QSSTRESC"], "copy": ["USUBJID"],
                                "set": {"QSTESTCD": "SEV", "QSDRVFL": "Y"}})
    assert rows.to_dict("records") == [{"USUBJID": "S1", "QSTESTCD": "SEV", "QSDRVFL": "Y",
                                        "QSORRES": band, "QSSTRESC": band}]


def test_no_band_for_a_missing_or_out_of_range_total():
    out = pd.DataFrame({"USUBJID": ["S1", "S2"], "QSTESTCD": ["TOTAL", "TOTAL"], "QSSTRESN": [np.nan, 25.0]})
    rows = classify(_ctx(out), {"source": {"QSTESTCD": "TOTAL"}, "value": "QSSTRESN", "bands": BANDS,
                                "result": "QSSTRESC", "set": {"QSTESTCD": "SEV"}})
    assert rows.empty


# IDMS-traceable MDRD values worked out by hand (Levey 2006: 175 x Scr^-1.154 x age^-0.203,
# x 0.742 if female, x 1.212 if black), to two decimals:
#   60-year-old man, Scr 1.0: 175 x 0.43555 = 76.22; the same woman: 76.22 x 0.742 = 56.56;
#   45-year-old black woman, Scr 2.0: 175 x 0.44938 x 0.46176 x 0.742 x 1.212 = 32.66.
@pytest.mark.parametrize("scr, age, female, black, expected", [
    (1.0, 60, False, False, 76.22),
    (1.0, 60, True, False, 56.56),
    (2.0, 45, True, True, 32.66),
])
def test_mdrd_formula(scr, age, female, black, expected):
    assert mdrd_egfr(scr, age, female, black) == pytest.approx(expected, abs=0.01)


def test_mdrd_known_value():
    # IDMS MDRD by hand: 175 x 1.2^-1.154 (0.8102) x 65^-0.203 (0.4285) = 60.76 mL/min/1.73 m2
    assert mdrd_egfr(1.2, 65, False, False) == pytest.approx(60.76, abs=0.01)


@pytest.mark.parametrize("scr, age", [(0, 50), (None, 50), (1.0, 0)])
def test_mdrd_needs_positive_inputs(scr, age):
    assert np.isnan(mdrd_egfr(scr, age, False, False))


def test_egfr_records_only_where_the_lab_reported_none():
    out = pd.DataFrame({"USUBJID": ["S1", "S1", "S2"], "VISITNUM": [1.0, 1.0, 1.0],
                        "LBTESTCD": ["CREAT", "GFREI", "CREAT"], "LBSTRESN": [88.42, 95.0, 176.84]})
    dm = pd.DataFrame({"USUBJID": ["S1", "S2"], "AGE": [60, 50], "SEX": ["M", "F"], "RACE": ["ASIAN", "ASIAN"]})
    rows = egfr_mdrd(_ctx(out, dm=dm), {"creatinine": "CREAT", "reported": "GFREI", "testcd": "LBTESTCD",
                                        "value": "LBSTRESN", "group_by": ["USUBJID", "VISITNUM"],
                                        "copy": ["USUBJID", "VISITNUM"], "results": {"LBSTRESN": "num"},
                                        "set": {"LBTESTCD": "GFREI", "LBDRVFL": "Y"}})
    assert rows["USUBJID"].tolist() == ["S2"]
    # 176.84 umol/L / 88.42 = 2.0 mg/dL; 50-year-old woman: 175 x 0.44938 x 0.45198 x 0.742 = 26.37 -> 26.4
    assert rows["LBSTRESN"].iloc[0] == 26.4


def test_ratio_value():
    assert ratio_value(70, 175, 0.01, 2) == pytest.approx(22.857, abs=1e-3)
    assert np.isnan(ratio_value(70, 0, 0.01, 2)) and np.isnan(ratio_value(np.nan, 170))


def test_bmi_uses_same_visit_height_else_the_latest_earlier_one():
    out = pd.DataFrame({
        "USUBJID": ["S1"] * 4 + ["S2"],
        "VISITNUM": [1.0, 1.0, 2.0, 3.0, 2.0],
        "VSDTC": ["2025-01-01", "2025-01-01", "2025-02-01", "2025-03-01", "2025-02-01"],
        "VSTESTCD": ["HEIGHT", "WEIGHT", "WEIGHT", "WEIGHT", "WEIGHT"],
        "VSSTRESN": [160.0, 64.0, 66.56, np.nan, 80.0]})
    ctx = _ctx(out)
    rows = ratio_records(ctx, {"testcd": "VSTESTCD", "value": "VSSTRESN", "numerator": "WEIGHT",
                               "denominator": "HEIGHT", "scale": 0.01, "power": 2, "digits": 1,
                               "group_by": ["USUBJID", "VISITNUM"], "carry_forward": True, "date": "VSDTC",
                               "copy": ["USUBJID", "VISITNUM"], "results": {"VSSTRESN": "num", "VSORRES": "char"},
                               "set": {"VSTESTCD": "BMI", "VSDRVFL": "Y"}})
    assert rows[["USUBJID", "VISITNUM", "VSSTRESN", "VSORRES"]].values.tolist() == [
        ["S1", 1.0, 25.0, "25"], ["S1", 2.0, 26.0, "26"]]
    assert [f.code for f in ctx.findings] == ["DRV-RATIO-INPUT"]        # S2 has no height
    assert ctx.findings[0].usubjid == "S2" and ctx.findings[0].value == "80"


def test_denominator_after_the_numerator_is_not_carried_back():
    num = pd.DataFrame({"USUBJID": ["S1"], "V": ["1"], "D": ["2025-01-01"], "_v": [70.0]})
    den = pd.DataFrame({"USUBJID": ["S1"], "V": ["2"], "D": ["2025-02-01"], "_v": [170.0]})
    assert match_denominators(num, den, ["USUBJID", "V"], "USUBJID", "D", True).isna().all()
