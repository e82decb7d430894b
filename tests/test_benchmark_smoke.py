"""Smoke test of benchmarks/run_benchmark.py: the whole code path at 20 subjects, JSON shape, and
both XPT writers' files reading back (pyreadstat) to the same values."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pyreadstat

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["synth", "specs", "read", "map", "check", "write", "define", "validate", "report"]


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("run_benchmark", ROOT / "benchmarks" / "run_benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_at_20_subjects(tmp_path, capsys):
    bench = _load_benchmark()
    out = tmp_path / "bench.json"
    work = tmp_path / "work"
    assert bench.main(["--subjects", "20", "--out", str(out), "--workdir", str(work), "--keep",
                       "--xpt-repeats", "1",
                       # data findings are the pipeline tests' business; this one measures
                       "--continue-on-write-errors"]) == 0

    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["subjects"] == 20 and doc["schema_version"] == 1 and doc["measured_at"]
    machine = doc["machine"]
    assert machine["cpu_count"] >= 1 and machine["python"]
    assert set(machine["packages"]) >= {"pandas", "numpy", "pyreadstat"}
    assert list(doc["stages"]) == STAGES
    for name, stage in doc["stages"].items():
        assert stage["seconds"] >= 0 and stage["peak_rss_mb"] > 0, name
        if name != "specs":
            assert stage["rows"] > 0 and stage["rows_per_second"] > 0, name
    assert doc["stages"]["read"]["rows"] == doc["raw_rows"] == sum(doc["raw_rows_per_form"].values())
    assert doc["stages"]["write"]["rows"] == doc["sdtm_rows"] == sum(doc["sdtm_rows_per_dataset"].values())
    assert "DM" in doc["sdtm_rows_per_dataset"]
    total = doc["total"]
    assert total["seconds"] >= total["pipeline_seconds"] > 0
    assert total["peak_rss_mb"] == max(s["peak_rss_mb"] for s in doc["stages"].values())
    # the GX worker's own peak (read from /proc before it stops), not RUSAGE_CHILDREN's fork-time figure
    if total["worker_peak_rss_mb"] is not None:
        assert total["worker_peak_rss_mb"] > 0
        assert total["peak_rss_with_worker_mb"] == total["peak_rss_mb"] + total["worker_peak_rss_mb"]

    xpt = doc["xpt"]
    assert xpt["datasets"] == len(doc["sdtm_rows_per_dataset"]) and xpt["rows"] == doc["sdtm_rows"]
    assert xpt["ours_s"] > 0 and xpt["pyreadstat_s"] > 0 and xpt["ratio"] > 0
    assert xpt["bytes"]["ours"] > 0 and xpt["bytes"]["pyreadstat"] > 0
    assert xpt["identical_readback"] is True and xpt["readback_differs"] == []

    # independently of the benchmark's own comparison: both writers' files read back the same
    for name, rows in doc["sdtm_rows_per_dataset"].items():
        ours, ours_meta = pyreadstat.read_xport(str(work / "xpt-ours" / f"{name.lower()}.xpt"))
        theirs, theirs_meta = pyreadstat.read_xport(str(work / "xpt-pyreadstat" / f"{name.lower()}.xpt"))
        piped, _ = pyreadstat.read_xport(str(work / "out" / "sdtm" / f"{name.lower()}.xpt"))
        assert len(ours) == rows, name
        pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
        pd.testing.assert_frame_equal(ours, piped, check_exact=True)
        assert ours_meta.column_names_to_labels == theirs_meta.column_names_to_labels, name

    table = capsys.readouterr().out
    assert "| stage | seconds |" in table and "pyreadstat.write_xport" in table
