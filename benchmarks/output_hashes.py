"""Byte-identity guard: run the pipeline on fixed inputs and record the SHA-256 of every output file.

    python benchmarks/output_hashes.py --write build/hashes-before.json      # before a change
    python benchmarks/output_hashes.py --check build/hashes-before.json      # after it: exit 1 on any difference

Cases: the synthetic RELEASE-DPN study at 30 subjects seed 7 (as tests/conftest.py) and at 140
subjects seed 20231 (as `make run`), and the CDISCPILOT01 example when ../shared/reference is beside
the checkout. A speed change must leave every hash as it was; a change that alters outputs on purpose
records new hashes and says why.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:                       # runnable as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

PILOT_RAW = ROOT.parent / "shared" / "reference" / "cdiscpilot01" / "raw"
SYNTH_CASES = {"release-dpn-30-seed7": (30, 7), "release-dpn-140-seed20231": (140, 20231)}


def file_content(path: Path, folder: Path) -> bytes:
    """The file's bytes; the manifest records the --study folder as given, so where the checkout lies
    is left out of its hash (the folder's name stays), as in tests/test_output_hashes.py."""
    if path != folder / "manifest.json":
        return path.read_bytes()
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["configuration"]["study_dir"] = Path(manifest["configuration"]["study_dir"]).name
    return json.dumps(manifest, sort_keys=True).encode("utf-8")


def folder_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under `folder`, keyed by its relative POSIX path."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(file_content(p, folder)).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run_case(name: str, workdir: Path) -> dict:
    from cdisc_dpn.pipeline import RunConfig, run_pipeline
    from cdisc_dpn.synth import generate_study

    if name in SYNTH_CASES:
        subjects, seed = SYNTH_CASES[name]
        raw = workdir / name / "raw"
        generate_study(raw, subjects=subjects, seed=seed)
        study = ROOT / "mappings"
    else:
        raw, study = PILOT_RAW, ROOT / "examples" / "cdiscpilot01"
    out = workdir / name / "out"
    result = run_pipeline(RunConfig(study, raw, out))
    return {"exit_code": result.exit_code, "files": folder_hashes(out)}


def cases(selected: list[str] | None) -> list[str]:
    known = list(SYNTH_CASES) + (["cdiscpilot01"] if PILOT_RAW.is_dir() else [])
    return [c for c in known if not selected or c in selected]


def compare(expected: dict, actual: dict) -> list[str]:
    """One line per case or file whose hash (or presence, or exit code) differs."""
    problems = []
    for case, want in expected.items():
        got = actual.get(case)
        if got is None:
            continue
        if want["exit_code"] != got["exit_code"]:
            problems.append(f"{case}: exit code {want['exit_code']} -> {got['exit_code']}")
        for path in sorted(set(want["files"]) | set(got["files"])):
            a, b = want["files"].get(path), got["files"].get(path)
            if a != b:
                problems.append(f"{case}: {path}: {'missing' if b is None else 'new' if a is None else 'differs'}")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", type=Path, help="record the hashes in this JSON file")
    mode.add_argument("--check", type=Path, help="compare with the hashes in this JSON file; exit 1 if any differ")
    parser.add_argument("--case", action="append", help="run only these cases (repeatable)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cdisc-dpn-hashes-") as tmp:
        actual = {}
        for case in cases(args.case):
            print(f"running {case}", file=sys.stderr, flush=True)
            actual[case] = run_case(case, Path(tmp))
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"{sum(len(c['files']) for c in actual.values())} files in {len(actual)} cases -> {args.write}")
        return 0
    expected = json.loads(args.check.read_text(encoding="utf-8"))
    problems = compare(expected, actual)
    for line in problems:
        print(line)
    files = sum(len(c["files"]) for c in actual.values())
    print(f"{'IDENTICAL' if not problems else f'{len(problems)} DIFFERENCE(S)'}: {files} files in {len(actual)} cases")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
