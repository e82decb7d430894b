"""End to end on a second study: the CDISCPILOT01 example specs convert the pharmaverse raw CRF
exports without errors, account for every raw row and reproduce the reference SDTM's key content."""
from __future__ import annotations

from pathlib import Path

import pytest

from cdisc_dpn.compare import compare_folders
from cdisc_dpn.pipeline import RunConfig, run_pipeline

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "examples" / "cdiscpilot01"
REFERENCE = ROOT.parent / "shared" / "reference" / "cdiscpilot01"
RAW, SDTM = REFERENCE / "raw", REFERENCE / "sdtm"

pytestmark = pytest.mark.slow


def setup_module():
    # The reference study lies beside every clone (../shared), in CI too: missing data is a failure, not a skip.
    assert RAW.is_dir(), f"reference data not found at {RAW}: the CDISCPILOT01 example cannot be checked"


@pytest.fixture(scope="module")
def pilot(tmp_path_factory):
    out = tmp_path_factory.mktemp("cdiscpilot01") / "out"
    result = run_pipeline(RunConfig(STUDY, RAW, out))
    return result, out, compare_folders(out / "sdtm", SDTM)


def test_run_has_no_errors(pilot):
    result, _, _ = pilot
    errors = [f.render() for f in result.findings if f.severity.value == "error"]
    assert errors == [] and result.exit_code == 0


def test_every_raw_row_is_accounted_for(pilot):
    result, out, _ = pilot
    assert sum(r["unaccounted"] for r in result.ledger_summary) == 0
    assert (out / "report" / "ledger.csv").is_file() and (out / "sdtm" / "define.xml").is_file()
    rows = {r["form"]: r for r in result.ledger_summary}
    assert rows["vs"]["excluded"] == 3 and rows["vs"]["mapped"] == rows["vs"]["rows"] - 3


def test_row_counts_equal_the_reference(pilot):
    result, _, comparison = pilot
    for name in ("DM", "AE", "EX"):
        d = comparison.datasets[name]
        assert result.datasets[name] == d.rows_reference == d.rows_produced
        assert d.paired == d.rows_reference


@pytest.mark.parametrize("dataset, variable", [("DM", "USUBJID"), ("AE", "AETERM"), ("EX", "EXTRT")])
def test_key_variables_agree_fully(pilot, dataset, variable):
    _, _, comparison = pilot
    assert comparison.datasets[dataset].variables[variable].percent == 100.0


# --------------------------------------------------------------------------- issue 14: derivations on outside data
def _xpt(out, name):
    import pyreadstat
    frame, _ = pyreadstat.read_xport(str(out / "sdtm" / f"{name}.xpt"))
    return frame


def test_lobxfl_is_set_for_tests_without_time_point(pilot):
    """HEIGHT, WEIGHT and TEMP have no VSTPTNUM: each treated subject still gets one flag per test."""
    _, out, _ = pilot
    vs = _xpt(out, "vs")
    flagged = vs[vs["VSLOBXFL"] == "Y"]
    per_test = flagged.groupby("VSTESTCD")["USUBJID"].nunique()
    for test in ("HEIGHT", "WEIGHT", "TEMP"):
        assert per_test[test] == 254, test
    assert not flagged.duplicated(["USUBJID", "VSTESTCD", "VSTPTNUM"]).any()


def test_unscheduled_visits_keep_the_number_of_their_label(pilot):
    _, out, _ = pilot
    ds = _xpt(out, "ds")
    unscheduled = ds[ds["VISIT"].str.startswith("UNSCHEDULED")]
    pairs = set(zip(unscheduled["VISITNUM"], unscheduled["VISIT"]))
    assert {(6.1, "UNSCHEDULED 6.1"), (8.2, "UNSCHEDULED 8.2"), (1.1, "UNSCHEDULED 1.1")} <= pairs
    assert all(f"{n:g}" == v.split()[-1] for n, v in pairs)     # VISITNUM is the label's number


def test_protocol_violation_keeps_its_ct_term(pilot):
    _, out, _ = pilot
    ds = _xpt(out, "ds")
    assert (ds["DSDECOD"] == "PROTOCOL VIOLATION").sum() == 6
    assert not (ds["DSDECOD"] == "PROTOCOL DEVIATION").any()


def test_unit_slips_in_heights_and_temperatures_are_findings(pilot):
    result, _, _ = pilot
    found = [f for f in result.findings if f.code == "DPN-PLAUS-001"]
    tests = sorted({f.message.split()[0] for f in found})
    assert tests == ["HEIGHT", "TEMP"]
    height = next(f for f in found if f.usubjid == "01-704-1008")
    assert (height.value, height.file, height.source_row) == ("375.92", "vs_raw.csv", 3089)
    line = next(i for i, text in enumerate((STUDY / "units.yaml").read_text().splitlines(), start=1)
                if "testcd: HEIGHT, unit: cm" in text)
    assert height.extra["spec"].endswith(f"units.yaml:{line}")
    assert any(f.value == "2.33" and f.message.startswith("TEMP") for f in found)
    assert all(f.severity.value == "warning" for f in found)
