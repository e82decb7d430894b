"""Shared fixtures: one small synthetic study and one pipeline run of it, reused across tests."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests explore the same examples on every run (no flaky CI) and never fail on timing alone.
settings.register_profile("cdisc-dpn", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("cdisc-dpn")

from cdisc_dpn.pipeline import RunConfig, run_pipeline
from cdisc_dpn.synth import generate_study

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = ROOT / "mappings"
SUBJECTS = 30
SEED = 7


@pytest.fixture(scope="session")
def synth_raw(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("synth") / "raw"
    generate_study(raw, subjects=SUBJECTS, seed=SEED)
    return raw


@pytest.fixture(scope="session")
def pipeline_run(synth_raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "release-dpn"
    result = run_pipeline(RunConfig(MAPPINGS, synth_raw, out))
    return result, out


@pytest.fixture()
def raw_copy(synth_raw, tmp_path) -> Path:
    """A private copy of the synthetic raw exports a test may damage."""
    target = tmp_path / "raw"
    shutil.copytree(synth_raw, target)
    return target
