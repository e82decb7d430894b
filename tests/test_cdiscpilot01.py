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
