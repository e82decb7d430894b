"""Cause and consequence: a spec that breaks DM shows the DM cause first, once, with its fix; the
hundreds of findings that follow from it are grouped under it; no Python exception text anywhere.
The run's report.html is opened in headless Chromium: fired rules on top, every internal link resolves."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from cdisc_dpn.cli import main
from cdisc_dpn.errors import Finding, Severity
from cdisc_dpn.mapping.engine import _unexpected
from cdisc_dpn.spec.model import AlgorithmCall, SpecLocation

ROOT = Path(__file__).resolve().parents[1]
EXCEPTION_TEXT = re.compile(r"KeyError|ValueError|TypeError|AttributeError|IndexError|Traceback")


def _broken_study(tmp_path: Path, old: str, new: str) -> Path:
    study = tmp_path / "study"
    shutil.copytree(ROOT / "mappings", study)
    dm = study / "dm.yaml"
    text = dm.read_text(encoding="utf-8")
    assert old in text
    dm.write_text(text.replace(old, new, 1), encoding="utf-8")
    return study


def _run(study: Path, raw: Path, out: Path):
    return CliRunner().invoke(main, ["run", "--study", str(study), "--raw", str(raw), "--out", str(out)])


@pytest.fixture(scope="module")
def usubjid_broken(synth_raw, tmp_path_factory):
    """USUBJID's source column renamed to one the form does not have."""
    tmp = tmp_path_factory.mktemp("broken-usubjid")
    study = _broken_study(tmp, "algorithm: usubjid\n    params: {column: SUBJECT}",
                          "algorithm: usubjid\n    params: {column: SUBJECT_ID}")
    result = _run(study, synth_raw, tmp / "out")
    return result, tmp / "out"


@pytest.fixture(scope="module")
def dm_source_broken(synth_raw, tmp_path_factory):
    """DM's join key renamed: DM cannot be built at all, and everything reading DM follows."""
    tmp = tmp_path_factory.mktemp("broken-dm")
    study = _broken_study(tmp, "{form: ic, on: [SUBJECT], first: true}", "{form: ic, on: [SUBJ], first: true}")
    result = _run(study, synth_raw, tmp / "out")
    return result, tmp / "out"


def _report_text(out: Path) -> str:
    return "".join((out / "report" / name).read_text(encoding="utf-8") for name in ("report.json", "report.html"))


@pytest.mark.parametrize("case", ["usubjid_broken", "dm_source_broken"])
def test_broken_dm_cause_first_and_no_exception_text(case, request):
    result, out = request.getfixturevalue(case)
    assert result.exit_code == 1, result.output
    console = result.output
    assert not EXCEPTION_TEXT.search(console), console
    assert not EXCEPTION_TEXT.search(_report_text(out))
    wb = load_workbook(out / "report" / "report.xlsx", read_only=True)
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            assert not any(isinstance(v, str) and EXCEPTION_TEXT.search(v) for v in row), (ws.title, row)
    # the cause is the first finding shown, with its fix, and the consequences are counted, not listed
    lines = console.splitlines()
    first = next(i for i, line in enumerate(lines) if line.lstrip().startswith("[ERROR"))
    assert lines[first - 1].startswith("Root causes (1;")
    assert "DM" in lines[first] and " -> " in lines[first]
    assert "follow from it" in lines[first + 1]
    assert sum(1 for line in lines if line.lstrip().startswith("[ERROR")) == 1, console
    data = json.loads((out / "report" / "report.json").read_text())
    causes = data["causes"]
    assert len(causes) == 1 and causes[0]["cause"].startswith("DM") and causes[0]["following"] > 0
    errors = [f for f in data["findings"] if f["severity"] == "error"]
    assert all(f.get("cause") or f.get("caused_by") == causes[0]["cause"] for f in errors), \
        [f["code"] + " " + f["message"] for f in errors if not (f.get("cause") or f.get("caused_by"))]


def test_usubjid_cause_names_the_column_and_groups_the_cascade(usubjid_broken):
    result, out = usubjid_broken
    data = json.loads((out / "report" / "report.json").read_text())
    cause = data["causes"][0]
    assert cause["cause"] == "DM.USUBJID" and cause["code"] == "MAP-SPEC"
    assert "'SUBJECT_ID'" in cause["message"] and "'dm'" in cause["message"]
    assert cause["spec"].endswith(tuple(f"dm.yaml:{n}" for n in range(1, 200)))
    following = {g["code"] for g in cause["following_by_code"]}
    # subject links from every other dataset, DM's own record checks and SUPPDM's parent links
    # (the subject link is CDISC's CORE-000201 when the Open Rules run, else the own rule DPN-DM-002)
    assert {"DPN-DM-001", "DPN-GX-REQ-EMPTY"} <= following and following & {"DPN-DM-002", "CORE-000201"}


def test_dm_not_built_groups_readers_and_ledger(dm_source_broken):
    result, out = dm_source_broken
    data = json.loads((out / "report" / "report.json").read_text())
    cause = data["causes"][0]
    assert cause["cause"] == "DM" and cause["code"] == "MAP-SOURCE"
    assert "'SUBJ'" in cause["message"] and "did you mean 'SUBJECT'" in cause["message"]
    by_code = {(f["code"], f.get("dataset")) for f in data["findings"] if f.get("caused_by") == "DM"}
    assert ("LEDGER-UNACCOUNTED", None) in by_code              # DM's raw rows
    assert ("MAP-ALGORITHM-FAILED", "SE") in by_code            # SE is generated from DM
    assert ("MAP-ALGORITHM-FAILED", "TS") in by_code
    assert ("DPN-DS-001", "DM") in by_code                      # "DM is missing"
    failed = [f for f in data["findings"] if f["code"] == "MAP-ALGORITHM-FAILED"]
    assert failed and all("DM" in f["message"] or "SE" in f["message"] for f in failed)


def test_unexpected_key_error_is_said_in_sdtm_terms():
    from cdisc_dpn.spec.loader import load_specs

    specs, _ = load_specs(ROOT / "mappings")
    call = AlgorithmCall("trial_summary", {"actual_subjects": {"dataset": "DM", "variable": "ARMCD"}},
                         SpecLocation("ts.yaml", 12))
    f = _unexpected(specs.dataset("TS"), call, KeyError("ARMCD"))
    assert "KeyError" not in f.render() and "ARMCD" in f.message and "DM" in f.message
    f = _unexpected(specs.dataset("LB"), call, KeyError("None of ['USUBJID'] are in the columns"), "LBSTRESN")
    assert "None of" not in f.message and "USUBJID" in f.message
    f = _unexpected(specs.dataset("LB"), call, ValueError("could not convert string to float: 'x'"), "LBSTRESN")
    assert "ValueError" not in f.message and "could not convert" not in f.message
    assert f.cause == "LB.LBSTRESN"


def test_console_names_warning_codes_with_counts():
    from cdisc_dpn.cascade import console_lines

    findings = [Finding("MAP-DATE-FUTURE", Severity.WARNING, "after cut-off", value="2031-01-01")] * 3 + \
        [Finding("DPN-GX-CT-EXT", Severity.WARNING, "off codelist")] + \
        [Finding("RAW-COLUMN-UNUSED", Severity.NOTICE, "unused")] * 2
    lines = [text for text, _colour in console_lines(findings)]
    assert "Warnings (4): MAP-DATE-FUTURE 3, DPN-GX-CT-EXT 1" in lines
    assert "Notices (2): RAW-COLUMN-UNUSED 2" in lines


def test_finding_render_shows_the_value_truncated():
    f = Finding("MAP-DATE", Severity.ERROR, "date cannot be converted to ISO 8601", value="31/13/2024" + "x" * 100,
                file="ae.csv", source_row=7, column="AESTDAT")
    text = f.render()
    assert "value '31/13/2024" in text and "...'" in text and len(f.shown_value()) <= 62
    assert "ae.csv, row 7" in text


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: list[str] = []
        self.internal: list[str] = []
        self.order: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
            self.order.append(a["id"])
        if tag == "a" and (a.get("href") or "").startswith("#"):
            self.internal.append(a["href"])


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:   # a failure, not a skip: CI installs chromium (.ci/run)
        pytest.fail("chromium is not installed; install it (apt-get install -y chromium) to check report.html")
    return exe


@pytest.mark.browser
def test_chromium_report_html_fired_rules_on_top_and_links_resolve(usubjid_broken, tmp_path):
    _result, out = usubjid_broken
    html_path = out / "report" / "report.html"
    done = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", html_path.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    page = _Page()
    page.feed(dom)
    ids = set(page.ids)
    assert len(ids) == len(page.ids), "duplicate ids"
    assert sorted({h for h in page.internal if h[1:] not in ids}) == []
    # root causes, then the rules that fired, then the quiet ones, then the details and the ledger
    order = [i for i in page.order if i in ("causes", "fired-rules", "quiet-rules", "findings", "ledger")]
    assert order == ["causes", "fired-rules", "quiet-rules", "findings", "ledger"]
    fired = re.findall(r'<tr class="fired"><td><a href="#rule-([^"]+)">.*?<td class="(\w+)">\w+</td>'
                       r'<td class="n">(\d+)', dom)
    assert fired, "no fired rules rendered"
    ranks = [(["error", "warning", "notice"].index(sev), -int(n)) for _id, sev, n in fired]
    assert ranks == sorted(ranks)
    assert "{'" not in dom


def test_console_folds_errors_that_say_the_same_thing():
    from cdisc_dpn.cascade import console_lines

    same = [Finding("MAP-VISIT", Severity.ERROR, "visit label matches no planned visit in study.yaml", value="Unsch",
                    file="lab.xlsx", source_row=r, column="VISIT", dataset="LB", variable="VISITNUM")
            for r in range(10, 37)]
    other = Finding("MAP-DATE", Severity.ERROR, "date cannot be converted to ISO 8601", value="31/02/2026",
                    file="ae.csv", source_row=4)
    lines = [text for text, _colour in console_lines(same + [other])]
    assert lines[0] == "Errors (28 in 2 kind(s)):"
    assert "value 'Unsch'" in lines[1] and "lab.xlsx, row 10" in lines[1]
    assert lines[2].strip().startswith("and 26 more like it: lab.xlsx row 11, lab.xlsx row 12")
    assert "value '31/02/2026'" in lines[3]
