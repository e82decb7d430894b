"""Benchmark: synthetic study -> full pipeline, per stage seconds / rows per second / peak RSS,
plus XPT write throughput of cdisc_dpn's writer beside pyreadstat on the same frames.

    python benchmarks/run_benchmark.py                                 # 1400 and 14000 subjects
    python benchmarks/run_benchmark.py --subjects 140 --out /tmp/b.json --keep

Results go to benchmarks/results/benchmark-<subjects>.json (see benchmarks/README.md) and a
markdown table is printed. With several sizes each size runs in its own child process, so one
size's memory does not inflate the next one's peak RSS.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:                       # runnable as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

import numpy as np                                   # noqa: E402
import pandas as pd                                  # noqa: E402
import pyreadstat                                    # noqa: E402

DEFAULT_SIZES = (1400, 14000)
DEFAULT_SEED = 20231
DEFAULT_OUT = "benchmarks/results/benchmark-{subjects}.json"
SAMPLE_SECONDS = 0.05
SCHEMA_VERSION = 1
# rows that a stage's rows_per_second is computed from
RAW_STAGES = ("synth", "read", "map")
SDTM_STAGES = ("check", "write", "define", "validate", "report")
MB = 1024 * 1024


# --------------------------------------------------------------------------- memory
def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def current_rss() -> int:
    """Resident set size in bytes (/proc/self/status VmRSS, else psutil, else ru_maxrss)."""
    kb = _status_kb("VmRSS")
    if kb is not None:
        return kb * 1024
    try:
        import psutil  # optional; not a dependency

        return psutil.Process().memory_info().rss
    except ImportError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def children_usage() -> tuple[float, float]:
    """(CPU seconds, peak RSS in bytes) of the child processes this process has waited for: the
    pipeline's GX worker (it is waited for when the run ends). ru_maxrss is the largest child's."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    scale = 1 if sys.platform == "darwin" else 1024                 # bytes on macOS, KiB on Linux
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss * scale


def _reset_hwm() -> bool:
    """Reset the kernel's RSS high-water mark (VmHWM) for this process; False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class StageMeter:
    """Per-stage wall seconds, CPU seconds and peak RSS.

    Peak RSS is the larger of (a) a background thread sampling VmRSS every 50 ms and (b) the
    kernel's VmHWM, which is reset at every stage start via /proc/self/clear_refs when allowed
    (exact, catches spikes shorter than the sampling interval).
    """

    def __init__(self, interval: float = SAMPLE_SECONDS):
        self.interval = interval
        self.stages: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._peak = 0
        self._current: tuple[str, float, float, bool] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    def __enter__(self) -> "StageMeter":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.finish()
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            rss = current_rss()
            with self._lock:
                if rss > self._peak:
                    self._peak = rss

    def start(self, name: str) -> None:
        self.finish()
        hwm = _reset_hwm()
        with self._lock:
            self._peak = current_rss()
        self._current = (name, time.perf_counter(), time.process_time(), hwm)

    def finish(self) -> None:
        if self._current is None:
            return
        name, t0, c0, hwm = self._current
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        rss = current_rss()
        with self._lock:
            peak = max(self._peak, rss)
        if hwm:
            peak = max(peak, (_status_kb("VmHWM") or 0) * 1024)
        self.stages[name] = {"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": peak / MB}
        self._current = None


# --------------------------------------------------------------------------- machine
def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=20,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info() -> dict:
    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    from cdisc_dpn import __version__

    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model,
        "memory_total_mb": round(mem_kb / 1024) if mem_kb else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": {"cdisc_dpn": __version__, "pandas": pd.__version__, "numpy": np.__version__,
                     "pyreadstat": pyreadstat.__version__},
        "git_commit": _git("rev-parse", "HEAD"),
        "git_tree_modified": bool(status) if status is not None else None,
    }


# --------------------------------------------------------------------------- XPT writers
def _meta_from_pyreadstat(meta):
    from cdisc_dpn.xpt.metadata import CHAR, NUM, XptDataset, XptVariable

    variables = []
    for name in meta.column_names:
        is_char = meta.readstat_variable_types[name] == "string"
        variables.append(XptVariable(name, meta.column_names_to_labels.get(name) or "", CHAR if is_char else NUM,
                                     meta.variable_storage_width[name] if is_char else None))
    return XptDataset(meta.table_name, meta.file_label or "", tuple(variables))


def load_sdtm_frames(sdtm_dir: Path, names) -> dict[str, tuple[pd.DataFrame, object]]:
    """The pipeline's own XPT files read back: the same frames for both writers."""
    frames = {}
    for name in names:
        frame, meta = pyreadstat.read_xport(str(sdtm_dir / f"{name.lower()}.xpt"), disable_datetime_conversion=True)
        frames[name] = (frame, meta)
    return frames


@contextmanager
def _no_fsync():
    """cdisc_dpn's writer fsyncs every file (durability); pyreadstat does not. Measured both ways."""
    real = os.fsync
    os.fsync = lambda fd: None
    try:
        yield
    finally:
        os.fsync = real


def _write_ours(frames, folder: Path) -> int:
    from cdisc_dpn.xpt.writer import write_xpt

    total = 0
    for name, (frame, meta) in frames.items():
        total += write_xpt(folder / f"{name.lower()}.xpt", frame, _meta_from_pyreadstat(meta), check=False).bytes
    return total


def _write_pyreadstat(frames, folder: Path) -> int:
    total = 0
    for name, (frame, meta) in frames.items():
        path = folder / f"{name.lower()}.xpt"
        pyreadstat.write_xport(frame, str(path), file_label=meta.file_label or "", table_name=meta.table_name,
                               column_labels=[meta.column_names_to_labels.get(c) or "" for c in frame.columns],
                               file_format_version=5)
        total += path.stat().st_size
    return total


def _best_of(repeats: int, func) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        size = func()
        best = min(best, time.perf_counter() - t0)
    return best, size


def compare_readback(ours: Path, theirs: Path, names) -> list[str]:
    """Datasets whose two files do not read back (with pyreadstat) to the same values and labels."""
    differ = []
    for name in names:
        a, ma = pyreadstat.read_xport(str(ours / f"{name.lower()}.xpt"), disable_datetime_conversion=True)
        b, mb = pyreadstat.read_xport(str(theirs / f"{name.lower()}.xpt"), disable_datetime_conversion=True)
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=True)
            assert ma.column_names_to_labels == mb.column_names_to_labels
            assert ma.table_name == mb.table_name
        except AssertionError:
            differ.append(name)
    return differ


def xpt_throughput(sdtm_dir: Path, names, workdir: Path, repeats: int) -> dict:
    frames = load_sdtm_frames(sdtm_dir, names)
    rows = sum(len(f) for f, _ in frames.values())
    ours_dir, theirs_dir = workdir / "xpt-ours", workdir / "xpt-pyreadstat"
    ours_dir.mkdir(parents=True, exist_ok=True)
    theirs_dir.mkdir(parents=True, exist_ok=True)
    ours_s, ours_bytes = _best_of(repeats, lambda: _write_ours(frames, ours_dir))
    with _no_fsync():
        ours_nofsync_s, _ = _best_of(repeats, lambda: _write_ours(frames, ours_dir))
    theirs_s, theirs_bytes = _best_of(repeats, lambda: _write_pyreadstat(frames, theirs_dir))
    differ = compare_readback(ours_dir, theirs_dir, names)

    def rate(seconds, size):
        return {"mb_per_second": size / MB / seconds if seconds else None,
                "rows_per_second": rows / seconds if seconds else None}

    return {
        "datasets": len(frames), "rows": rows, "repeats": repeats,
        "ours_s": ours_s, "ours_no_fsync_s": ours_nofsync_s, "pyreadstat_s": theirs_s,
        "ratio": ours_s / theirs_s if theirs_s else None,
        "ratio_no_fsync": ours_nofsync_s / theirs_s if theirs_s else None,
        "bytes": {"ours": ours_bytes, "pyreadstat": theirs_bytes},
        "ours": rate(ours_s, ours_bytes), "ours_no_fsync": rate(ours_nofsync_s, ours_bytes),
        "pyreadstat": rate(theirs_s, theirs_bytes),
        "identical_readback": not differ, "readback_differs": differ,
    }


# --------------------------------------------------------------------------- one size
def run_size(subjects: int, workdir: Path, *, study_dir: Path | None = None, seed: int = DEFAULT_SEED,
             xpt_repeats: int | None = None, continue_on_write_errors: bool = False, progress=None) -> dict:
    """Generate, convert and measure one study size inside `workdir` (raw/, out/, xpt-*/)."""
    from cdisc_dpn.pipeline import RunConfig, run_pipeline
    from cdisc_dpn.synth import generate_study

    say = progress or (lambda message: None)
    study_dir = Path(study_dir or ROOT / "mappings")
    workdir = Path(workdir)
    raw_dir, out_dir = workdir / "raw", workdir / "out"
    gc.collect()
    rss_before = current_rss()
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None

    labels: list[str] = []
    children_before = children_usage()
    with StageMeter() as meter:
        say(f"[{subjects}] synth")
        meter.start("synth")
        summary = generate_study(raw_dir, subjects=subjects, seed=seed)

        def on_stage(label: str) -> None:
            labels.append(label)
            say(f"[{subjects}] {label}")
            meter.start(f"#{len(labels) - 1}")

        config = RunConfig(study_dir, raw_dir, out_dir, continue_on_write_errors=continue_on_write_errors)
        result = run_pipeline(config, progress=on_stage)
        children_after = children_usage()
    wall_total = sum(m["seconds"] for m in meter.stages.values())
    # the pipeline announces its stages in the order it fills RunResult.timings
    keys = list(result.timings)
    stages = {"synth": meter.stages["synth"]}
    for i, label in enumerate(labels):
        name = keys[i] if len(keys) == len(labels) else label
        stages[name] = {**meter.stages[f"#{i}"], "label": label, "pipeline_seconds": result.timings.get(name)}

    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    raw_rows = {v["form"]: v["rows"] for v in manifest["inputs"].values()}
    raw_total = sum(raw_rows.values())
    sdtm_rows = dict(result.datasets)
    sdtm_total = sum(sdtm_rows.values())
    synth_rows = sum(n for p, n in summary.files.items() if p.name != "data_dictionary.csv")
    for name, st in stages.items():
        rows = synth_rows if name == "synth" else raw_total if name in RAW_STAGES else (
            sdtm_total if name in SDTM_STAGES else None)
        st["rows"] = rows
        st["rows_per_second"] = rows / st["seconds"] if rows is not None and st["seconds"] > 0 else None
    pipeline_seconds = sum(st["seconds"] for n, st in stages.items() if n != "synth")
    total = {
        "seconds": wall_total, "pipeline_seconds": pipeline_seconds,
        "cpu_seconds": sum(st["cpu_seconds"] for st in stages.values()),
        "rows_per_second": raw_total / pipeline_seconds if pipeline_seconds else None,
        "sdtm_rows_per_second": sdtm_total / pipeline_seconds if pipeline_seconds else None,
        "peak_rss_mb": max(st["peak_rss_mb"] for st in stages.values()),
    }
    # The GX worker runs beside the stages: its CPU and memory are not in the stage figures above.
    # Worker peak + main peak is an upper bound of what the run held at once (the honest total).
    # The worker's own figures come from /proc/<pid> read just before it is stopped (RunResult.worker):
    # RUSAGE_CHILDREN charges a child forked from this large process with its RSS before exec, so that
    # figure (kept as worker_rusage_peak_rss_mb, for reference only) says the parent's size, not the worker's.
    own = getattr(result, "worker", None) or {}
    rusage_peak = children_after[1] / MB if children_after[1] > children_before[1] else None
    total["worker_cpu_seconds"] = own.get("cpu_seconds", children_after[0] - children_before[0])
    total["worker_peak_rss_mb"] = own.get("peak_rss_mb")
    total["worker_rusage_peak_rss_mb"] = rusage_peak
    total["cpu_seconds_with_worker"] = total["cpu_seconds"] + total["worker_cpu_seconds"]
    total["peak_rss_with_worker_mb"] = total["peak_rss_mb"] + (total["worker_peak_rss_mb"] or 0)
    say(f"[{subjects}] XPT writers")
    if xpt_repeats is None:
        xpt_repeats = 3 if sdtm_total < 2_000_000 else 1
    xpt = xpt_throughput(out_dir / "sdtm", list(sdtm_rows), workdir, xpt_repeats)
    sdtm_bytes = {n: (out_dir / "sdtm" / f"{n.lower()}.xpt").stat().st_size for n in sdtm_rows}
    return {
        "subjects": subjects, "seed": seed, "study_dir": os.path.relpath(study_dir, ROOT),
        "subjects_screened": summary.subjects_screened,
        "raw_rows": raw_total, "raw_rows_per_form": raw_rows,
        "sdtm_rows": sdtm_total, "sdtm_rows_per_dataset": sdtm_rows, "sdtm_xpt_bytes": sdtm_bytes,
        "findings": result.counts, "exit_code": result.exit_code,
        "continue_on_write_errors": continue_on_write_errors,
        "rss_before_mb": rss_before / MB,
        "load_average_before": list(load_before) if load_before else None,
        "load_average_after": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "stages": stages, "total": total, "xpt": xpt,
    }


# --------------------------------------------------------------------------- report
def _f(value, digits=2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown(result: dict) -> str:
    m = result.get("machine", {})
    lines = [f"### {result['subjects']:,} subjects ({result['subjects_screened']:,} screened): "
             f"{result['raw_rows']:,} raw rows -> {result['sdtm_rows']:,} SDTM rows in "
             f"{len(result['sdtm_rows_per_dataset'])} datasets",
             "",
             f"{m.get('cpu_count')} CPUs ({m.get('cpu_model')}), Python {m.get('python')}, "
             f"pandas {m.get('packages', {}).get('pandas')}, numpy {m.get('packages', {}).get('numpy')}, "
             f"pyreadstat {m.get('packages', {}).get('pyreadstat')}; load average before/after "
             f"{_f((result.get('load_average_before') or [None])[0])}/{_f((result.get('load_average_after') or [None])[0])}",
             "",
             "| stage | seconds | CPU s | rows | rows/s | peak RSS MB |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, st in result["stages"].items():
        lines.append(f"| {name} | {_f(st['seconds'])} | {_f(st['cpu_seconds'])} | {_f(st['rows'])} | "
                     f"{_f(st['rows_per_second'], 0)} | {_f(st['peak_rss_mb'], 0)} |")
    t = result["total"]
    lines.append(f"| **total** (pipeline {_f(t['pipeline_seconds'])} s) | {_f(t['seconds'])} | {_f(t['cpu_seconds'])} "
                 f"| {_f(result['raw_rows'])} raw | {_f(t['rows_per_second'], 0)} | {_f(t['peak_rss_mb'], 0)} |")
    if t.get("worker_cpu_seconds") is not None:
        lines.append(f"| GX worker process (beside the stages) | | {_f(t['worker_cpu_seconds'])} | | | "
                     f"{_f(t.get('worker_peak_rss_mb'), 0)} |")
        lines.append(f"| **total with the worker** (RSS: main peak + worker peak) | | "
                     f"{_f(t['cpu_seconds_with_worker'])} | | | {_f(t['peak_rss_with_worker_mb'], 0)} |")
    x = result["xpt"]
    lines += ["",
              f"XPT writers, all {x['datasets']} datasets ({x['rows']:,} rows), best of {x['repeats']}, "
              f"read back identical: {'yes' if x['identical_readback'] else 'NO ' + ', '.join(x['readback_differs'])}",
              "",
              "| writer | seconds | MB/s | rows/s | bytes | vs pyreadstat |",
              "|---|---:|---:|---:|---:|---:|",
              f"| cdisc_dpn write_xpt (check=False) | {_f(x['ours_s'], 3)} | {_f(x['ours']['mb_per_second'], 1)} | "
              f"{_f(x['ours']['rows_per_second'], 0)} | {x['bytes']['ours']:,} | {_f(x['ratio'])}x time |",
              f"| cdisc_dpn, fsync disabled | {_f(x['ours_no_fsync_s'], 3)} | "
              f"{_f(x['ours_no_fsync']['mb_per_second'], 1)} | {_f(x['ours_no_fsync']['rows_per_second'], 0)} | "
              f"{x['bytes']['ours']:,} | {_f(x['ratio_no_fsync'])}x time |",
              f"| pyreadstat.write_xport (v5) | {_f(x['pyreadstat_s'], 3)} | {_f(x['pyreadstat']['mb_per_second'], 1)} | "
              f"{_f(x['pyreadstat']['rows_per_second'], 0)} | {x['bytes']['pyreadstat']:,} | 1.00x |"]
    return "\n".join(lines)


def scaling(results: list[dict]) -> str:
    """How each stage's time grows between the smallest and the largest size (1.0 = linear)."""
    if len(results) < 2:
        return ""
    a, b = min(results, key=lambda r: r["subjects"]), max(results, key=lambda r: r["subjects"])
    factor = b["raw_rows"] / a["raw_rows"]
    lines = [f"### Scaling {a['subjects']:,} -> {b['subjects']:,} subjects (raw rows x{factor:.1f})", "",
             "| stage | seconds | seconds | time factor | time factor / row factor |", "|---|---:|---:|---:|---:|"]
    for name in b["stages"]:
        if name in a["stages"] and a["stages"][name]["seconds"] > 0:
            sa, sb = a["stages"][name]["seconds"], b["stages"][name]["seconds"]
            lines.append(f"| {name} | {_f(sa)} | {_f(sb)} | {sb / sa:.1f} | {sb / sa / factor:.2f} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- CLI
def _out_path(template: str, subjects: int, several: bool) -> Path:
    if several and "{subjects}" not in template:
        raise SystemExit("--out needs a {subjects} placeholder when several --subjects are given")
    path = Path(template.format(subjects=subjects))
    return path if path.is_absolute() else ROOT / path


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, nargs="+", default=list(DEFAULT_SIZES),
                        help="randomized subjects per synthetic study (default: 1400 14000)")
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help="result JSON; {subjects} is replaced (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the raw/, out/ and xpt-*/ working folders")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="working folder (default: a new temporary folder, removed unless --keep)")
    parser.add_argument("--study", type=Path, default=ROOT / "mappings", help="spec folder (default: mappings/)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--xpt-repeats", type=int, default=None,
                        help="best of N for the XPT writer comparison (default 3; 1 above 2 million SDTM rows)")
    parser.add_argument("--continue-on-write-errors", action="store_true",
                        help="as the run command: write XPT despite XPT constraint violations in the data")
    parser.add_argument("--note", default=None, help="free text stored in the JSON (e.g. machine was shared)")
    parser.add_argument("--in-process", action="store_true",
                        help="run several sizes in this process instead of one child process each")
    return parser.parse_args(argv)


def run_one(args: argparse.Namespace, subjects: int, several: bool) -> dict:
    workdir = args.workdir / f"bench-{subjects}" if args.workdir and several else args.workdir
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix=f"cdisc-dpn-bench-{subjects}-"))
    else:
        workdir.mkdir(parents=True, exist_ok=True)
    try:
        result = run_size(subjects, workdir, study_dir=args.study, seed=args.seed, xpt_repeats=args.xpt_repeats,
                          continue_on_write_errors=args.continue_on_write_errors,
                          progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    finally:
        if args.keep:
            print(f"[{subjects}] working folder kept: {workdir}", file=sys.stderr)
        elif args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    document = {"benchmark": "cdisc-dpn pipeline", "schema_version": SCHEMA_VERSION,
                "measured_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
                "note": args.note, "machine": machine_info(), **result}
    out = _out_path(args.out, subjects, several)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"[{subjects}] results: {out}", file=sys.stderr)
    return document


def main(argv=None) -> int:
    args = parse_args(argv)
    several = len(args.subjects) > 1
    results = []
    for subjects in args.subjects:
        if several and not args.in_process:
            # a fresh process per size: peak RSS of one size is not inherited by the next
            child = [sys.executable, str(Path(__file__).resolve()), "--subjects", str(subjects),
                     "--out", str(_out_path(args.out, subjects, several)), "--study", str(args.study),
                     "--seed", str(args.seed)]
            for flag, value in (("--xpt-repeats", args.xpt_repeats), ("--note", args.note),
                                ("--workdir", args.workdir and args.workdir / f"bench-{subjects}")):
                if value is not None:
                    child += [flag, str(value)]
            if args.keep:
                child.append("--keep")
            if args.continue_on_write_errors:
                child.append("--continue-on-write-errors")
            done = subprocess.run(child, stdout=subprocess.DEVNULL)
            if done.returncode:
                return done.returncode
            results.append(json.loads(_out_path(args.out, subjects, several).read_text(encoding="utf-8")))
        else:
            results.append(run_one(args, subjects, several))
    print("\n\n".join([markdown(r) for r in results] + ([scaling(results)] if several else [])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
