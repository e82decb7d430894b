"""Byte identity of the engine's outputs, held as SHA-256 per file of the shared small run (30
subjects, seed 7): a refactoring that changes one byte of any output fails here. A change that alters
outputs on purpose records the new hashes, and says why in its commit:

    .venv/bin/python tests/test_output_hashes.py --update
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "output-sha256.json"


def _content(path: Path, out: Path) -> bytes:
    """The file's bytes; the manifest records the --study folder as given, so where this checkout
    lies is left out of its hash (that folder's name stays)."""
    if path != out / "manifest.json":
        return path.read_bytes()
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["configuration"]["study_dir"] = Path(manifest["configuration"]["study_dir"]).name
    return json.dumps(manifest, sort_keys=True).encode("utf-8")


def output_hashes(out: Path) -> dict[str, str]:
    """Every output file of a run (the manifest and reports too), by relative path."""
    return {p.relative_to(out).as_posix(): hashlib.sha256(_content(p, out)).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}


def test_every_output_file_is_byte_identical_to_the_recorded_run(pipeline_run):
    _, out = pipeline_run
    recorded = json.loads(FIXTURE.read_text())
    produced = output_hashes(out)
    changed = sorted(name for name in recorded.keys() & produced.keys() if recorded[name] != produced[name])
    assert (changed, sorted(recorded.keys() - produced.keys()), sorted(produced.keys() - recorded.keys())) \
        == ([], [], []), "outputs changed (changed, missing, new); if on purpose: python tests/test_output_hashes.py --update"


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from conftest import MAPPINGS, SEED, SUBJECTS
    from cdisc_dpn.pipeline import RunConfig, run_pipeline
    from cdisc_dpn.synth import generate_study

    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "raw", Path(tmp) / "out"
        generate_study(raw, subjects=SUBJECTS, seed=SEED)
        run_pipeline(RunConfig(MAPPINGS, raw, out))
        FIXTURE.write_text(json.dumps(output_hashes(out), indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE}")
