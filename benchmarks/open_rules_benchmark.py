"""Benchmark: the CDISC Open Rules alone on a synthetic study's SDTM output (target: < 10 s at 140
subjects), and the published test cases (`rules test`) when the cdisc-open-rules folder is present.

    python benchmarks/open_rules_benchmark.py                  # 140 subjects, 3 repetitions
    python benchmarks/open_rules_benchmark.py --subjects 1400 --sdtm build/release-dpn/sdtm

Prints one JSON object: seconds (best of the repetitions, wall and CPU), records, rules run / not
run, findings. CPU seconds are the figure to compare on a shared machine.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _sdtm(subjects: int, work: Path) -> Path:
    from cdisc_dpn.pipeline import RunConfig, run_pipeline
    from cdisc_dpn.synth import generate_study

    generate_study(work / "raw", subjects=subjects, seed=20231)
    run_pipeline(RunConfig(ROOT / "mappings", work / "raw", work / "out", dataset_json=False, open_rules=False))
    return work / "out" / "sdtm"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subjects", type=int, default=140)
    parser.add_argument("--sdtm", type=Path, default=None, help="an existing SDTM folder (skips synth + run)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from cdisc_dpn.validation.folder import read_folder
    from cdisc_dpn.validation.open_rules.runs import OpenRulesConfig, run_open_rules
    from cdisc_dpn.validation.open_rules.study import from_frames

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.sdtm or _sdtm(args.subjects, Path(tmp))
        loaded = read_folder(folder)
        frames = {n: d.frame for n, d in loaded.domains.items()}
        times, cpu, outcome = [], [], None
        for _ in range(args.repeat):
            study = from_frames(frames, lengths=loaded.lengths)      # fresh: no cached joins between runs
            started, started_cpu = time.perf_counter(), time.process_time()
            outcome = run_open_rules(OpenRulesConfig(), study)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
    result = {"subjects": args.subjects if args.sdtm is None else None, "sdtm": str(folder),
              "records": sum(len(f) for f in frames.values()), "seconds_best": round(min(times), 2),
              "seconds_all": [round(t, 2) for t in times], "cpu_seconds_best": round(min(cpu), 2),
              "cpu_seconds_all": [round(t, 2) for t in cpu], "rules_run": sum(1 for r in outcome.runs),
              "rules_not_run": len(outcome.not_run), "findings": sum(len(r.hits) for r in outcome.runs)}
    cases = ROOT.parent / "shared" / "reference" / "cdisc-open-rules"
    if cases.is_dir():
        from cdisc_dpn.validation.open_rules.casetests import run_all, summary

        started = time.perf_counter()
        _, results = run_all(cases)
        result["rules_test_seconds"] = round(time.perf_counter() - started, 2)
        result["rules_test"] = summary(results)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
