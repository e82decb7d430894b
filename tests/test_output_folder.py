"""The output folder of `run`: refused options and unwritable folders before any work, a lock against a
second run, nothing left behind by SIGTERM/SIGINT (a real process and a real signal), leftovers of a
killed run removed, and a run with errors kept beside a clean previous output."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from cdisc_dpn.cli import main
from cdisc_dpn.output_folder import (
    ERRORS_SUFFIX, FolderBusy, claim_output, errors_folder, lock_path,
)
from tests.conftest import MAPPINGS

CLI = Path(sys.executable).with_name("cdisc-dpn")


def run_cli(raw: Path, out: Path, *extra: str):
    return CliRunner().invoke(main, ["run", "--study", str(MAPPINGS), "--raw", str(raw), "--out", str(out),
                                     "-q", *extra])


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def previous_output(folder: Path, errors: int = 0) -> dict[str, bytes]:
    """A stand-in for the output of an earlier run (what the run checks: a manifest with counts)."""
    (folder / "sdtm").mkdir(parents=True)
    (folder / "sdtm" / "dm.xpt").write_bytes(b"previous bytes")
    (folder / "manifest.json").write_text(json.dumps({"findings": {"error": errors, "warning": 0, "notice": 0}}))
    return tree(folder)


@contextmanager
def read_only(folder: Path):
    """A folder nobody may write into; for root (who ignores permission bits) also immutable."""
    folder.chmod(0o555)
    immutable = os.geteuid() == 0
    if immutable:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    try:
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


# --------------------------------------------------------------------------- options refused before any work
@pytest.mark.parametrize("option, value, expected", [
    ("--created", "yesterday", "is not an ISO 8601 date-time"),
    ("--created", "2026-13-01T00:00:00", "is not a valid date-time"),
    ("--data-cutoff", "31/12/2026", "is not an ISO 8601 date; write it as YYYY-MM-DD"),
    ("--data-cutoff", "2026-02-30", "is not a calendar date"),
])
def test_bad_dates_exit_2_with_a_clear_message(synth_raw, tmp_path, option, value, expected):
    out = tmp_path / "out"
    result = run_cli(synth_raw, out, option, value)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output and expected in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("previous", [False, True])
def test_read_only_output_folder_is_refused_before_any_work(synth_raw, tmp_path, previous):
    parent = tmp_path / "shared"
    parent.mkdir()
    out = parent / "out"
    if previous:                       # the earlier output itself is read-only
        before = previous_output(out)
        guard = read_only(out)
    else:                              # the folder the output would go into is read-only
        guard = read_only(parent)
    with guard:
        started = time.perf_counter()
        result = run_cli(synth_raw, out)
        elapsed = time.perf_counter() - started
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--out'" in result.output and "cannot write in" in result.output
    assert "Traceback" not in result.output and "Loading mapping specs" not in result.output
    assert elapsed < 5, "refused at option parsing, not after the run"
    if previous:
        assert tree(out) == before
    else:
        assert not out.exists()


# --------------------------------------------------------------------------- signals, with a real process
def _start_run(raw: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([str(CLI), "run", "--study", str(MAPPINGS), "--raw", str(raw), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_temp_folder(process: subprocess.Popen, parent: Path, name: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.name.startswith(f".{name}.tmp-") and any(p.rglob("*.xpt")) for p in parent.iterdir()):
            return
        if process.poll() is not None:
            pytest.fail(f"the run ended before writing: {process.communicate()}")
        time.sleep(0.05)
    process.kill()
    pytest.fail("no temporary output folder appeared")


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_leaves_no_temp_folder_and_the_previous_output(synth_raw, tmp_path, signum, code):
    out = tmp_path / "out"
    before = previous_output(out)
    process = _start_run(synth_raw, out)
    _wait_for_temp_folder(process, tmp_path, "out")            # killed while XPT files are being written
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    assert f"stopped by {signal.Signals(signum).name}: nothing was written" in stderr
    assert "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temp folder, no lock file
    assert tree(out) == before


# --------------------------------------------------------------------------- leftovers of a killed run
def test_leftovers_of_a_killed_run_are_removed_by_the_next_claim(tmp_path):
    out = tmp_path / "out"
    before = previous_output(out)
    stale = tmp_path / ".out.tmp-k1ll3d"
    (stale / "sdtm").mkdir(parents=True)
    (stale / "sdtm" / "ae.xpt").write_bytes(b"x" * 1000)
    old_errors = tmp_path / f".out{ERRORS_SUFFIX}.tmp-abc"
    old_errors.mkdir()
    other = tmp_path / ".other.tmp-keep"                        # another output's temp folder is not ours
    other.mkdir()
    with claim_output(out) as claim:
        assert sorted(Path(p).name for p in claim.removed) == sorted([stale.name, old_errors.name])
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.tmp-keep", "out"]
    assert tree(out) == before


def test_an_output_moved_aside_by_a_killed_swap_is_put_back(tmp_path):
    out = tmp_path / "out"
    before = previous_output(tmp_path / "staging")
    os.replace(tmp_path / "staging", tmp_path / ".out.old-4242")  # killed between the two renames
    with claim_output(out) as claim:
        assert claim.restored == str(out)
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.slow
def test_next_run_removes_a_stale_temp_folder_and_says_so(synth_raw, tmp_path):
    out = tmp_path / "out"
    stale = tmp_path / ".out.tmp-st4le"
    stale.mkdir()
    (stale / "big.xpt").write_bytes(b"\0" * 100_000)
    result = run_cli(synth_raw, out)
    assert result.exit_code == 0, result.output
    assert f"note: removed {stale}, left by an interrupted run" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# --------------------------------------------------------------------------- lock
def test_second_run_into_the_same_folder_is_refused_naming_the_holder(synth_raw, tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time\nfrom cdisc_dpn.output_folder import claim_output\n"
                               f"with claim_output({str(out)!r}):\n    print('held', flush=True)\n"
                               "    time.sleep(120)\n"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = run_cli(synth_raw, out)
        assert result.exit_code == 2, result.output
        assert "RUN-OUTPUT-LOCKED" in result.output
        assert f"pid {holder.pid}" in result.output and f"host {os.uname().nodename}" in result.output
        assert "started 20" in result.output and str(lock_path(out.absolute())) in result.output
        with pytest.raises(FolderBusy):
            with claim_output(out):
                pass
    finally:
        holder.terminate()
        holder.wait(timeout=30)
    assert not out.exists()
    with claim_output(out):                   # released when the holder ends, even by a signal
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- what exit 1 does to the output
def test_errors_run_goes_beside_a_clean_output_and_a_clean_run_supersedes_it(tmp_path):
    out = tmp_path / "out"
    clean = previous_output(out)
    with claim_output(out) as claim:
        assert claim.destination(has_errors=True) == errors_folder(out)
        tmp = claim.new_temp()
        previous_output(tmp / "x")
        (tmp / "manifest.json").write_text(json.dumps({"findings": {"error": 3}}))
        assert claim.publish(tmp, has_errors=True) == errors_folder(out)
    assert tree(out) == clean and (errors_folder(out) / "manifest.json").is_file()
    with claim_output(out) as claim:
        tmp = claim.new_temp()
        (tmp / "manifest.json").write_text(json.dumps({"findings": {"error": 0}}))
        assert claim.publish(tmp, has_errors=False) == out
    assert tree(out) == {"manifest.json": b'{"findings": {"error": 0}}'}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]   # the older errors folder is gone


def test_errors_run_replaces_an_output_that_had_errors(tmp_path):
    out = tmp_path / "out"
    previous_output(out, errors=2)
    with claim_output(out) as claim:
        assert claim.destination(has_errors=True) == out


def _damage(raw: Path) -> None:
    with open(raw / "dm.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[1][rows[0].index("SEX")] = "Unknownish"
    with open(raw / "dm.csv", "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)


@pytest.mark.slow
def test_run_with_errors_keeps_the_clean_output_and_says_where_it_went(pipeline_run, raw_copy, tmp_path):
    import shutil

    result, clean_run = pipeline_run
    assert result.counts["error"] == 0
    out = tmp_path / "out"
    shutil.copytree(clean_run, out)
    before = tree(out)
    _damage(raw_copy)
    cli = run_cli(raw_copy, out, "--created", "2026-01-02", "--data-cutoff", "2020-01-01")
    assert cli.exit_code == 1, cli.output
    beside = errors_folder(out.resolve())
    assert (f"Output:   {beside} (" in cli.output and "exit 1); the clean output of the previous run in "
            f"{out.resolve()} was kept" in cli.output)
    assert tree(out) == before
    report = json.loads((beside / "report" / "report.json").read_text())
    codes = {f["code"] for f in report["findings"]}
    assert "MAP-TERM" in codes
    assert "MAP-DATE-FUTURE" in codes                         # the cut-off given as YYYY-MM-DD is applied
    define = etree.parse(str(beside / "sdtm" / "define.xml"))
    assert define.getroot().get("CreationDateTime") == "2026-01-02T00:00:00"   # a bare date is its midnight


def test_a_foreign_folder_where_a_run_with_errors_would_go_is_refused(synth_raw, tmp_path):
    out = tmp_path / "out"
    previous_output(out)
    foreign = tmp_path / f"out{ERRORS_SUFFIX}"
    foreign.mkdir()
    (foreign / "notes.docx").write_text("mine")
    result = run_cli(synth_raw, out)
    assert result.exit_code == 2 and "RUN-OUTPUT-FOLDER" in result.output
    assert "a run with errors would be written there" in result.output
    assert (foreign / "notes.docx").read_text() == "mine"


def test_validate_refuses_an_unwritable_report_folder_before_validating(pipeline_run, tmp_path):
    _, out = pipeline_run
    reports = tmp_path / "reports"
    reports.mkdir()
    with read_only(reports):
        result = CliRunner().invoke(main, ["validate", str(out / "sdtm"), "--report", str(reports / "r")])
    assert result.exit_code == 2 and "Invalid value for '--report'" in result.output
    assert "Traceback" not in result.output


def test_a_signal_during_the_swap_lets_the_swap_complete(tmp_path):
    out = tmp_path / "out"
    previous_output(out)
    with claim_output(out) as claim:
        tmp = claim.new_temp()
        (tmp / "manifest.json").write_text(json.dumps({"findings": {"error": 0}}))
        real_replace = os.replace

        def replace_then_signal(src, dst):
            real_replace(src, dst)
            if Path(dst).name.startswith(".out.old-"):     # the old output moved aside, the new not yet in
                os.kill(os.getpid(), signal.SIGTERM)

        os.replace = replace_then_signal
        try:
            assert claim.publish(tmp, has_errors=False) == out
        finally:
            os.replace = real_replace
        assert claim.late_signal == "SIGTERM"
    assert json.loads((out / "manifest.json").read_text()) == {"findings": {"error": 0}}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL       # the run's handler is gone again


@pytest.mark.parametrize("command", [["define", "--spec", str(MAPPINGS), "--data", "."],
                                     ["compare", "--produced", ".", "--reference", "."]])
def test_define_and_compare_refuse_an_unwritable_out_file_before_any_work(tmp_path, command):
    locked = tmp_path / "locked"
    locked.mkdir()
    with read_only(locked):
        result = CliRunner().invoke(main, [*command, "--out", str(locked / "x" / "define.xml")])
    assert result.exit_code == 2 and "Invalid value for '--out'" in result.output
    assert "cannot write in" in result.output and "Traceback" not in result.output
