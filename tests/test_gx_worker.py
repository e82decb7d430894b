"""The GX suites in a worker process: the same findings as in the main process, failures become
findings (never a hang or a traceback), and the worker never outlives its run."""
from __future__ import annotations

import dataclasses
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "validation"))
import sdtm_study as st  # noqa: E402

from cdisc_dpn.pipeline import RunConfig, run_pipeline  # noqa: E402
from cdisc_dpn.validation import runner as validation_runner  # noqa: E402
from cdisc_dpn.validation import submit_suite, validate_domains  # noqa: E402
from cdisc_dpn.validation.gx_runner import UNIQUE, GxRunner, Outcome, shared_runner  # noqa: E402
from cdisc_dpn.validation.gx_worker import SWITCH, GxWorker  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = ROOT / "mappings"
CLI = Path(sys.executable).parent / "cdisc-dpn"


@pytest.fixture(scope="module")
def ct():
    return st.terminology()


def _broken_frames() -> dict[str, pd.DataFrame]:
    """The fixture study with defects every kind of batch sees: repeated bad values (distinct
    values), value-level failures (conditional), duplicate keys (uniqueness), a wrong column type."""
    frames = st.frames()
    lb = pd.concat([frames["LB"]] * 5, ignore_index=True)
    lb["LBSEQ"] = lb.groupby("USUBJID").cumcount().astype(float) + 1
    lb["LBLOBXFL"] = ""
    lb.loc[lb["LBTESTCD"] == "GLUC", "LBSTRESU"] = "mg/dL"
    lb.loc[[0, 7], "LBORRES"] = "high"
    lb.loc[[3, 4], "LBSEQ"] = 1.0                                   # USUBJID + LBSEQ repeat
    lb.loc[5, "LBSEQ"] = np.nan
    frames["LB"] = lb
    frames["DM"].loc[0, "SEX"] = "X"
    ae = frames["AE"]
    frames["AE"] = pd.concat([ae, ae.iloc[[0]].assign(AESEQ=2.0)], ignore_index=True)
    frames["AE"]["AETERM"] = frames["AE"]["AETERM"].astype(object)
    frames["AE"].loc[1, "AETERM"] = 5.0
    return frames


def _fingerprint(result) -> tuple:
    return ([dataclasses.asdict(f) for f in result.findings], {k: v.as_dict() for k, v in result.rule_counts.items()},
            result.expectations, result.datasets)


def _through_worker(domains, ct, worker: GxWorker, **options):
    for name in sorted(domains):
        submit_suite(worker, name, domains[name], ct)
    return validate_domains(domains, ct, gx=worker, **options)


@pytest.fixture()
def worker():
    started = GxWorker.start()
    assert started is not None, "no worker process could be started"
    yield started
    started.close(force=True)


# --------------------------------------------------------------------------- same findings
def test_worker_gives_the_findings_the_main_process_gives(ct, worker):
    domains = st.domains(_broken_frames())
    here = validate_domains(domains, ct)
    there = _through_worker(domains, ct, worker)
    assert worker.answered == len(domains) and worker.problem is None
    assert _fingerprint(there) == _fingerprint(here)
    codes = {f.code for f in here.findings}
    assert {"DPN-GX-SEQ-UNIQUE", "DPN-GX-KEY-UNIQUE", "DPN-GX-VL-UNIT", "DPN-GX-VL-NUMERIC", "DPN-GX-CT",
            "DPN-GX-TYPE-CHAR"} <= codes
    seq = sorted(f.row for f in here.findings if f.code == "DPN-GX-SEQ-UNIQUE")
    lb = domains["LB"].frame
    dup = lb[["USUBJID", "LBSEQ"]].dropna()
    assert seq == sorted(int(i) + 1 for i in dup.index[dup.duplicated(keep=False)])


def test_dataset_changed_after_it_was_handed_over_is_validated_as_it_is_now(ct, worker):
    domains = st.domains(st.frames())
    for name in sorted(domains):
        submit_suite(worker, name, domains[name], ct)
    domains["DM"].frame = domains["DM"].frame.assign(SEX=["X"] * len(domains["DM"].frame))
    result = validate_domains(domains, ct, gx=worker)
    assert worker.answered == len(domains) - 1                     # DM ran in the main process
    assert sum(1 for f in result.findings if f.code == "DPN-GX-CT" and f.dataset == "DM") == len(domains["DM"].frame)
    assert _fingerprint(result) == _fingerprint(validate_domains(domains, ct))


def test_uniqueness_on_repeated_rows_flags_what_the_whole_frame_flags():
    """The uniqueness batch holds only rows whose keys repeat; GX on the whole frame must agree,
    with missing values kept or ignored (ignore_row_if) and -0.0 / 0.0 / NaN as GX tells them."""
    frame = pd.DataFrame({
        "USUBJID": ["A", "A", "B", "B", None, None, "C", "C", "D", "D"],
        "SEQ": [1.0, 1.0, 1.0, 2.0, 3.0, 3.0, np.nan, np.nan, 0.0, -0.0],
        "X": ["a"] * 10,
    })
    runner = shared_runner()
    for ignore in ("any_value_is_missing", "all_values_are_missing", "never"):
        suite = {"name": "T", "expectations": [{"type": UNIQUE, "kwargs": {"column_list": ["USUBJID", "SEQ"],
                                                                          "ignore_row_if": ignore},
                                                "meta": {"key": "T-0001"}}]}
        batched, ran = runner.run(suite, frame)
        whole = runner.evaluate("T", frame.astype(object), [{"type": UNIQUE, "key": "T-0001",
                                                             "kwargs": suite["expectations"][0]["kwargs"]}])
        assert ran == 1 and batched[0].success == whole[0].success
        assert batched[0].result["unexpected_index_list"] == whole[0].result["unexpected_index_list"], ignore
        assert batched[0].result["unexpected_index_list"]            # each variant finds something


def test_plan_with_the_writers_codes_makes_the_same_batches():
    """The writer hands its value codes of the text columns to the batch planning: the batches
    (frames, codes, rows) must be those planned from the data alone, whatever the column types
    (string dtype, object strings with missing values, objects that are not text, floats)."""
    from cdisc_dpn.distinct import value_codes
    from cdisc_dpn.validation.gx_runner import plan

    frame = pd.DataFrame({
        "USUBJID": pd.array(["A", "A", "B", "B", None, None, "C", "C", "D", "D"], dtype="string"),
        "TESTCD": ["X", "Y", "X", "X", None, np.nan, "Y", "Y", "X", "X"],
        "MIXED": ["1", 1, 1.0, True, "1", None, "a", "a", 2, 2],
        "SEQ": [1.0, 1.0, 1.0, 2.0, 3.0, 3.0, np.nan, np.nan, 0.0, -0.0],
    })
    expectations = [
        {"type": UNIQUE, "kwargs": {"column_list": ["USUBJID", "TESTCD"], "ignore_row_if": "never"}},
        {"type": UNIQUE, "kwargs": {"column_list": ["MIXED", "SEQ"], "ignore_row_if": "never"}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "TESTCD", "value_set": ["X"]}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "MIXED",
                                                                  "row_condition": 'TESTCD=="X"'},
         "meta": {"condition_columns": ["TESTCD"]}},
    ]
    suite = {"name": "T", "expectations": [{**e, "meta": {**e.get("meta", {}), "key": f"T-{i:04d}"}}
                                           for i, e in enumerate(expectations)]}
    codes = {c: value_codes(frame[c]) for c in ("USUBJID", "TESTCD", "MIXED")}
    alone, ran = plan(suite, frame)
    shared, ran_shared = plan(suite, frame, codes)
    assert ran == ran_shared == 4 and len(alone) == len(shared) == 3
    for a, b in zip(alone, shared):
        pd.testing.assert_frame_equal(a.frame, b.frame)
        assert [e["meta"]["key"] for e in a.expectations] == [e["meta"]["key"] for e in b.expectations]
        assert a.widths == b.widths
        if isinstance(a.codes, dict):
            assert a.codes.keys() == b.codes.keys() and all(np.array_equal(a.codes[c], b.codes[c]) for c in a.codes)
        else:
            assert (a.codes is None) == (b.codes is None) and (a.codes is None or np.array_equal(a.codes, b.codes))
        assert (a.positions is None) == (b.positions is None)
        assert a.positions is None or np.array_equal(a.positions, b.positions)
    repeated = (frame[["USUBJID", "TESTCD"]].duplicated(keep=False) | frame[["MIXED", "SEQ"]].duplicated(keep=False))
    repeated[0] = True                                  # as DataFrame.duplicated (GX's test) tells values apart
    assert next(b.positions for b in shared if b.positions is not None).tolist() == np.flatnonzero(repeated).tolist()


# --------------------------------------------------------------------------- failures become findings
def _with_broken_expectation(monkeypatch):
    """Every suite of DM gets an expectation GX cannot build (an unknown type): its batch cannot run."""
    real = validation_runner.build_suite

    def build_suite(spec, *args, **kwargs):
        suite = real(spec, *args, **kwargs)
        if spec.name == "DM":
            suite["expectations"].append({"type": "expect_column_values_to_be_cdisc_dpn_unknown",
                                          "kwargs": {"column": "SEX", "mostly": 1.0},
                                          "meta": {"key": "DM-9999", "rule_id": "DPN-GX-CT", "variable": "SEX",
                                                   "severity": "error"}})
        return suite

    monkeypatch.setattr(validation_runner, "build_suite", build_suite)


def test_batch_gx_cannot_run_is_a_finding_in_both_paths(ct, worker, monkeypatch):
    _with_broken_expectation(monkeypatch)
    domains = st.domains(st.frames())
    here = validate_domains(domains, ct)
    there = _through_worker(domains, ct, worker)
    assert worker.answered == len(domains)
    assert _fingerprint(there) == _fingerprint(here)
    broken = [f for f in here.findings if f.code == "VAL-GX-EXCEPTION"]
    assert len(broken) == 1 and broken[0].dataset == "DM" and broken[0].variable == "SEX"
    assert "could not run" in broken[0].message and broken[0].extra["internal_error"]


def test_worker_killed_mid_run_the_rest_runs_here_and_the_run_says_so(ct, worker):
    domains = st.domains(_broken_frames())
    for name in sorted(domains):
        submit_suite(worker, name, domains[name], ct)
    os.kill(worker.pid, signal.SIGKILL)
    result = validate_domains(domains, ct, gx=worker)
    here = validate_domains(domains, ct)
    lost = [f for f in result.findings if f.code == "VAL-GX-WORKER"]
    assert len(lost) == 1 and "exit status -9" in lost[0].message and lost[0].severity.value == "notice"
    without = [f for f in result.findings if f.code != "VAL-GX-WORKER"]
    assert [dataclasses.asdict(f) for f in without] == [dataclasses.asdict(f) for f in here.findings]
    assert worker.process.poll() is not None


def test_worker_that_does_not_answer_is_given_up_after_the_timeout(ct, worker):
    domains = st.domains(st.frames())
    for name in sorted(domains):
        submit_suite(worker, name, domains[name], ct)
    os.kill(worker.pid, signal.SIGSTOP)                            # alive, but silent
    worker.timeout = 0.5
    started = time.monotonic()
    result = validate_domains(domains, ct, gx=worker)
    assert time.monotonic() - started < 120
    assert worker.problem and "did not answer in time" in worker.problem
    assert worker.process.poll() is not None                       # killed, not left stopped
    assert [f.code for f in result.findings] == ["VAL-GX-WORKER"]  # the clean study: nothing else


def test_switch_runs_the_suites_in_the_main_process(monkeypatch):
    monkeypatch.setenv(SWITCH, "0")
    assert GxWorker.start() is None


def test_exception_outcome_shape_is_the_in_process_one():
    runner = GxRunner.__new__(GxRunner)                            # evaluate catches before touching GX

    def fail(*_args):
        raise RuntimeError("boom")

    runner._validate = fail
    out = runner.evaluate("T", pd.DataFrame({"A": ["x"]}), [{"type": "t", "kwargs": {}, "key": "T-1"}])
    assert [(e.key, e.success, e.exception) for e in out] == [("T-1", False, "RuntimeError: boom")]
    assert Outcome  # the type assembled from these in both paths


# --------------------------------------------------------------------------- the pipeline
def _hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _workers_of(pid: int) -> list[int]:
    """Live worker processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z" and b"cdisc_dpn.validation.gx_worker" in cmdline:
            found.append(int(entry.name))
    return found


def _gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return True
        if state[state.rindex(")") + 2] == "Z":
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_run_with_the_worker_writes_the_bytes_of_a_run_without_it(pipeline_run, synth_raw, tmp_path, monkeypatch):
    result, out = pipeline_run                                     # the shared run used the worker
    assert _workers_of(os.getpid()) == []                          # and it is gone
    monkeypatch.setenv(SWITCH, "0")
    alone = tmp_path / "release-dpn"
    run_pipeline(RunConfig(MAPPINGS, synth_raw, alone))
    assert _hashes(alone) == _hashes(out)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to find the worker")
@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT to the group", "SIGKILL"])
def test_worker_dies_with_its_run(synth_raw, tmp_path, how):
    out = tmp_path / "out"
    process = subprocess.Popen([str(CLI), "run", "--study", str(MAPPINGS), "--raw", str(synth_raw), "--out",
                                str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        workers: list[int] = []
        while not workers and time.monotonic() < deadline and process.poll() is None:
            workers = _workers_of(process.pid)
            time.sleep(0.02)
        assert workers, "the run started no worker"
        if how == "SIGTERM":
            process.send_signal(signal.SIGTERM)
        elif how == "SIGKILL":
            process.kill()
        else:
            os.killpg(process.pid, signal.SIGINT)                  # Ctrl-C: the whole foreground group
        process.communicate(timeout=120)
        assert _gone(workers[0]), f"worker {workers[0]} outlived its run ({how})"
        if how != "SIGKILL":
            assert process.returncode in (130, 143)
            assert not [p.name for p in tmp_path.iterdir() if p.name != "out" and p.name.startswith(".out")]
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_first_rows_in_one_pass_agree_with_sorting():
    from cdisc_dpn.distinct import first_rows as by_sorting
    from cdisc_dpn.validation.gx_runner import first_rows

    rng = np.random.default_rng(20231)
    for rows in (1, 2, 17, 500):
        for kinds in (1, 4, 60):
            codes = pd.factorize(rng.integers(0, kinds, rows))[0]          # numbered by first appearance
            assert first_rows(codes).tolist() == by_sorting(codes).tolist()
            shuffled = rng.permutation(codes.max() + 1)[codes]             # any other numbering
            assert first_rows(shuffled).tolist() == by_sorting(shuffled).tolist()
    assert first_rows(np.zeros(0, dtype=np.int64)).tolist() == []


# --------------------------------------------------------------------------- the worker's own usage
def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_worker_reports_its_own_peak_memory_not_the_size_of_the_process_it_was_forked_from(ct):
    ballast = np.ones(300 * 2**20 // 8)               # 300 MB touched here before the worker is forked
    parent_mb = _rss_mb()
    started = GxWorker.start()
    assert started is not None
    try:
        _through_worker(st.domains(st.frames()), ct, started)
    finally:
        started.close()
    del ballast
    assert started.problem is None and started.answered > 0
    # it imported GX and ran suites (tens of MB at least), yet it is far smaller than this process
    assert 30 < started.stats["peak_rss_mb"] < parent_mb - 200, (started.stats, parent_mb)
    assert started.stats["cpu_seconds"] > 0


@pytest.mark.slow
def test_run_result_carries_the_workers_own_usage(pipeline_run):
    result, _ = pipeline_run
    assert set(result.worker) == {"peak_rss_mb", "cpu_seconds"}
    assert result.worker["peak_rss_mb"] > 30 and result.worker["cpu_seconds"] > 0
