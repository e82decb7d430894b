"""pipeline.py is the one owner of the stage order: a run goes through STAGES in that order, and the
CLI commands that run part of it (validate, define, suites) call pipeline's stage functions instead of
putting the stage modules together themselves."""
from __future__ import annotations

import ast
from pathlib import Path

from cdisc_dpn import pipeline
from cdisc_dpn.pipeline import STAGES

CLI = Path(pipeline.__file__).with_name("cli.py")
#: functions that make a stage; the CLI reaches them only through pipeline.py
STAGE_INTERNALS = {"build_define", "check_define", "write_define", "render_define_html", "validate_folder",
                   "validate_domains", "write_reports", "map_study", "build_ledger", "read_form", "write_xpt",
                   "load_specs", "check_rule_severities"}
#: commands that are not stages of a run: the spec workbook and spec check, synthetic data, compare, rules test
_ALLOWED = {"load_specs": {"spec_check", "spec_import", "spec_export"}}


def test_a_run_goes_through_the_stages_in_order(pipeline_run):
    result, _ = pipeline_run
    assert tuple(result.timings) == STAGES


def test_the_docstring_names_the_real_order():
    doc = " ".join(pipeline.__doc__.split())
    assert "specs, read, map + ledger, check, write, define, validate, report" in doc


def _calls_by_command() -> dict[str, set[str]]:
    tree = ast.parse(CLI.read_text(encoding="utf-8"))
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names = set()
            for sub in ast.walk(node):
                if isinstance(sub, ast.ImportFrom):
                    names |= {a.name for a in sub.names}
                elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
                    names.add(sub.func.id)
            out[node.name] = names
    return out


def test_cli_commands_use_pipeline_stage_functions():
    used = {(command, name) for command, names in _calls_by_command().items() for name in names & STAGE_INTERNALS
            if command not in _ALLOWED.get(name, set())}
    assert not used, f"cli.py assembles stages itself (use cdisc_dpn.pipeline): {sorted(used)}"
    calls = _calls_by_command()
    assert {"load_study_specs", "validate_written_folder"} <= calls["validate"]
    assert {"load_study_specs", "read_written_datasets", "describe_study"} <= calls["define"]
