"""Bad input never crashes, never half-writes: exit 2 for unusable input, findings for wrong data."""
from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import cdisc_dpn.pipeline as pipeline
from cdisc_dpn.cli import main
from tests.conftest import MAPPINGS

pytestmark = pytest.mark.slow


def run_cli(raw: Path, out: Path, *extra: str, study: Path = MAPPINGS):
    return CliRunner().invoke(main, ["run", "--study", str(study), "--raw", str(raw), "--out", str(out), "-q",
                                     "--no-dataset-json", *extra])


def rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def write_rows(path: Path, data: list[list[str]], encoding: str = "utf-8-sig") -> None:
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(data)


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_unusable(result, code: str, out: Path, where: str) -> None:
    assert result.exit_code == 2, result.output
    assert code in result.output, result.output
    assert where in result.output, result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.tmp")]


def damage_missing_file(raw):
    (raw / "ae.csv").unlink()


def damage_empty_file(raw):
    (raw / "cm.csv").write_bytes(b"")


def damage_html(raw):
    (raw / "vs.csv").write_text("<!DOCTYPE html><html><body>Session expired</body></html>")


def damage_binary(raw):
    (raw / "mh.csv").write_bytes(bytes(range(256)) * 4)


def damage_truncated_xlsx(raw):
    data = (raw / "lab.xlsx").read_bytes()
    (raw / "lab.xlsx").write_bytes(data[: len(data) // 3])


def damage_missing_column(raw):
    data = rows(raw / "ae.csv")
    drop = data[0].index("AESEV")
    write_rows(raw / "ae.csv", [[c for i, c in enumerate(r) if i != drop] for r in data])


def damage_encoding(raw):
    data = rows(raw / "ae.csv")
    data[1][data[0].index("AETERM")] = "感冒"
    write_rows(raw / "ae.csv", data, encoding="gbk")


@pytest.mark.parametrize("damage, code, where", [
    (damage_missing_file, "READ-MISSING", "ae.csv"),
    (damage_empty_file, "READ-EMPTY", "cm.csv"),
    (damage_html, "READ-NOT-CSV", "vs.csv"),
    (damage_binary, "READ-NOT-TEXT", "mh.csv"),
    (damage_truncated_xlsx, "READ-XLSX", "lab.xlsx"),
    (damage_missing_column, "READ-MISSING-COLUMN", "AESEV"),
    (damage_encoding, "READ-ENCODING", "ae.csv, row 2"),
])
def test_unusable_raw_file_exits_2_and_writes_nothing(raw_copy, tmp_path, damage, code, where):
    damage(raw_copy)
    out = tmp_path / "out"
    assert_unusable(run_cli(raw_copy, out), code, out, where)


def test_broken_spec_exits_2_with_file_and_line(synth_raw, tmp_path):
    study = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, study)
    text = (study / "ae.yaml").read_text()
    (study / "ae.yaml").write_text(text.replace("dataset:", "dataset:\n  colour: blue", 1))
    out = tmp_path / "out"
    result = run_cli(synth_raw, out, study=study)
    assert_unusable(result, "SPEC-UNKNOWN-KEY", out, "ae.yaml:")


def test_partial_spec_exits_2(synth_raw, tmp_path):
    study = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, study)
    (study / "cm.yaml").unlink()
    out = tmp_path / "out"
    assert_unusable(run_cli(synth_raw, out, study=study), "SPEC-FILE", out, "cm.yaml")


def test_unsafe_yaml_is_refused_not_executed(synth_raw, tmp_path):
    study = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, study)
    marker = tmp_path / "pwned"
    (study / "terminology.yaml").write_text(f'x: !!python/object/apply:os.system ["touch {marker}"]\n')
    out = tmp_path / "out"
    assert_unusable(run_cli(synth_raw, out, study=study), "SPEC-YAML", out, "terminology.yaml")
    assert not marker.exists()


def test_dataset_name_cannot_escape_the_output_folder(synth_raw, tmp_path):
    study = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, study)
    text = (study / "cm.yaml").read_text()
    (study / "cm.yaml").write_text(text.replace("name: CM", "name: ../../CM", 1))
    out = tmp_path / "out"
    assert_unusable(run_cli(synth_raw, out, study=study), "SPEC-SCHEMA", out, "cm.yaml")


def test_wrong_data_gives_findings_with_file_row_and_column(raw_copy, tmp_path):
    ae = rows(raw_copy / "ae.csv")
    h = ae[0]
    ae[1][h.index("AESTDAT")] = "30/02/2026"                       # impossible date
    ae[2][h.index("AEENDAT")] = "01/01/2020"                       # end before start
    stray = list(ae[1])
    stray[h.index("SUBJECT")] = "99-999"                           # subject not enrolled
    stray[h.index("AESTDAT")] = ae[2][h.index("AESTDAT")]
    ae.append(stray)
    for col in ("LLT", "LLT_CODE", "PT", "PT_CODE", "HLT", "HLT_CODE", "HLGT", "HLGT_CODE", "SOC", "SOC_CODE"):
        ae[3][h.index(col)] = ""                                   # term not coded yet
    write_rows(raw_copy / "ae.csv", ae)
    vs = rows(raw_copy / "vs.csv")
    hv = vs[0]
    vs[1][hv.index("WEIGHT")] = "70,5"                             # decimal comma
    vs[2][hv.index("PULSE")] = "72 bpm"                            # unit in the value cell
    write_rows(raw_copy / "vs.csv", vs)
    dm = rows(raw_copy / "dm.csv")
    dm[1][dm[0].index("SEX")] = "Unknownish"                       # term not in the codelist
    dm.append(list(dm[2]))                                         # duplicate subject
    write_rows(raw_copy / "dm.csv", dm)
    out = tmp_path / "out"
    result = run_cli(raw_copy, out, "--data-cutoff", "2026-06-30")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    import json

    report = json.loads((out / "report" / "report.json").read_text())
    found = {}
    for f in report["findings"]:
        found.setdefault(f["code"], []).append(f)

    def one(code, **expected):
        matches = [f for f in found.get(code, []) if all(f.get(k) == v for k, v in expected.items())]
        assert matches, (code, expected, sorted(found))
        return matches[0]

    one("MAP-DATE", file="ae.csv", source_row=2, value="30/02/2026")
    assert "decimal comma" in one("MAP-NUMBER", file="vs.csv", source_row=2, value="70,5")["message"]
    assert "unit" in one("MAP-NUMBER", file="vs.csv", source_row=3, value="72 bpm")["message"]
    one("MAP-TERM", file="dm.csv", source_row=2, value="Unknownish", column="SEX")
    one("RAW-SUBJECT-NOT-ENROLLED", file="ae.csv", value="99-999")
    one("RAW-DUPLICATE-ROW", file="dm.csv", source_row=len(dm))
    one("DPN-DM-001")
    one("CORE-000718", dataset="AE")        # start after end: the Open Rule (FB3209) replaces DPN-DTC-001
    one("DPN-GX-REQ-EMPTY", variable="AEDECOD", file="ae.csv", source_row=4)
    one("MAP-DATE-FUTURE")
    assert (out / "sdtm" / "dm.xpt").is_file()                      # usable data is converted, with findings
    # the message people read carries the offending value, and the console names every code it counts
    from cdisc_dpn.errors import Finding, Severity

    date = one("MAP-DATE", file="ae.csv", source_row=2)
    rendered = Finding(**{**date, "severity": Severity(date["severity"])}).render()
    assert "value '30/02/2026'" in rendered and "ae.csv, row 2" in rendered
    assert "MAP-DATE" in result.output and "Warnings (" in result.output and "MAP-DATE-FUTURE" in result.output


def test_failed_run_leaves_previous_output_untouched(synth_raw, raw_copy, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert run_cli(synth_raw, out).exit_code in (0, 1)
    before = tree_digest(out)
    (raw_copy / "sv.csv").unlink()
    assert run_cli(raw_copy, out).exit_code == 2
    assert tree_digest(out) == before

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "write_datasets", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run_pipeline(pipeline.RunConfig(MAPPINGS, synth_raw, out))
    assert tree_digest(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["out", "raw"]


def test_output_folder_holding_inputs_or_other_files_is_refused(synth_raw, tmp_path):
    keep = tmp_path / "precious"
    keep.mkdir()
    (keep / "thesis.docx").write_text("years of work")
    result = run_cli(synth_raw, keep)
    assert result.exit_code == 2 and "RUN-OUTPUT-FOLDER" in result.output
    assert (keep / "thesis.docx").read_text() == "years of work"
    result = run_cli(synth_raw, synth_raw.parent)                  # the raw folder lies inside --out
    assert result.exit_code == 2 and "inside the output folder" in result.output
    assert (synth_raw / "dm.csv").is_file()
