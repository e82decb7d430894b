"""cdisc-dpn command line: turns options into configurations, calls the stages, maps outcomes to exit codes.

Exit codes: 0 all well, 1 the data has errors (validation or mapping findings), 2 unusable input or usage.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from cdisc_dpn import __version__
from cdisc_dpn.errors import CdiscDpnError, Finding, Severity, SpecError

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2
MAX_SHOWN = 25


def _echo_findings(findings: list[Finding], limit: int = MAX_SHOWN) -> None:
    ordered = sorted(findings, key=lambda f: f.severity.rank)
    for f in ordered[:limit]:
        colour = {"error": "red", "warning": "yellow"}.get(f.severity.value)
        click.secho(f"  {f.render()}", fg=colour, err=True)
    if len(ordered) > limit:
        click.echo(f"  ... and {len(ordered) - limit} more (see the report)", err=True)


def _fail(exc: CdiscDpnError) -> None:
    click.secho(f"error: {exc}", fg="red", err=True)
    _echo_findings([f for f in exc.findings if f.severity is Severity.ERROR] or exc.findings, limit=100)
    sys.exit(exc.exit_code)


class _Stages:
    """Prints each stage with the time the previous one took."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.started = None
        self.count = 0

    def __call__(self, label: str) -> None:
        now = time.perf_counter()
        if self.started is not None and not self.quiet:
            click.echo(f" ({now - self.started:.1f} s)", err=True)
        self.count += 1
        self.started = now
        if not self.quiet:
            click.echo(f"[{self.count}] {label} ...", err=True, nl=False)

    def done(self) -> None:
        if self.started is not None and not self.quiet:
            click.echo(f" ({time.perf_counter() - self.started:.1f} s)", err=True)


def _rules_options(values: tuple[str, ...]) -> tuple[Path | None, tuple[str, ...]]:
    """--rules DIR (a CDISC Open Rules folder) and/or --rules CORE-000001,CG0176 (a subset), repeatable."""
    folder, ids = None, []
    for value in values:
        if Path(value).is_dir():
            folder = Path(value)
        else:
            ids += [v.strip().upper() for v in value.split(",") if v.strip()]
    return folder, tuple(ids)


_RULES_HELP = ("CDISC Open Rules: a rules folder (newer than the shipped SDTMIG rules) and/or a comma-separated "
               "subset of rule ids (CORE-000001,CG0176); repeatable.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cdisc-dpn")
def main() -> None:
    """Raw CRF exports to CDISC SDTM (XPT v5, Dataset-JSON), validated, with Define-XML 2.1."""


# --------------------------------------------------------------------------- synth
@main.command()
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the raw CRF exports.")
@click.option("--subjects", default=140, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Randomized subjects (screen failures come on top).")
@click.option("--seed", default=20231, show_default=True, type=int, help="Same seed, same bytes.")
def synth(out_dir: Path, subjects: int, seed: int) -> None:
    """Generate synthetic RELEASE-DPN raw CRF exports (one file per form + data_dictionary.csv)."""
    from cdisc_dpn.synth import generate_study

    started = time.perf_counter()
    summary = generate_study(out_dir, subjects=subjects, seed=seed)
    click.echo(f"Wrote {len(summary.files)} files to {out_dir} in {time.perf_counter() - started:.1f} s: "
               f"{summary.subjects_screened} screened, {summary.subjects_randomized} randomized, "
               f"{summary.screen_failures} screen failures.")


# --------------------------------------------------------------------------- run
@main.command()
@click.option("--study", "study_dir", default="mappings", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder with study.yaml and the dataset specs.")
@click.option("--raw", "raw_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder with the raw CRF exports.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (replaced only when the run completes).")
@click.option("--created", default=None, help="ISO datetime stamped into define.xml and Dataset-JSON.")
@click.option("--data-cutoff", default=None, help="ISO date; later dates are reported.")
@click.option("--continue-on-write-errors", is_flag=True, help="Write XPT files despite constraint violations.")
@click.option("--ndjson", is_flag=True, help="Dataset-JSON as NDJSON instead of JSON.")
@click.option("--no-dataset-json", is_flag=True, help="Skip Dataset-JSON output.")
@click.option("--split-size", default=None, type=click.IntRange(1), help="Split XPT files above this many bytes (default 5 GB).")
@click.option("-q", "--quiet", is_flag=True, help="No stage progress.")
@click.option("--rules", "rules", multiple=True, help=_RULES_HELP)
@click.option("--no-open-rules", is_flag=True, help="Do not run the CDISC Open Rules.")
def run(study_dir: Path, raw_dir: Path, out_dir: Path, created: str | None, data_cutoff: str | None,
        continue_on_write_errors: bool, ndjson: bool, no_dataset_json: bool, split_size: int | None,
        quiet: bool, rules: tuple[str, ...], no_open_rules: bool) -> None:
    """Convert raw CRF exports to SDTM, validate, and write define.xml, reports and manifest."""
    from cdisc_dpn.pipeline import DEFAULT_SPLIT_BYTES, RunConfig, run_pipeline

    config = RunConfig(study_dir, raw_dir, out_dir, created=created, data_cutoff=data_cutoff,
                       continue_on_write_errors=continue_on_write_errors, dataset_json=not no_dataset_json,
                       ndjson=ndjson, split_bytes=split_size or DEFAULT_SPLIT_BYTES,
                       open_rules=not no_open_rules, rules_dir=_rules_options(rules)[0],
                       rule_ids=_rules_options(rules)[1])
    stages = _Stages(quiet)
    try:
        result = run_pipeline(config, progress=stages)
    except CdiscDpnError as exc:
        stages.done()
        _fail(exc)
    stages.done()
    counts = result.counts
    click.echo("")
    click.echo(f"Datasets written to {result.out_dir / 'sdtm'}:")
    for name, rows in result.datasets.items():
        click.echo(f"  {name:<8} {rows:>7} rows")
    unaccounted = sum(r["unaccounted"] for r in result.ledger_summary)
    excluded = sum(r["excluded"] for r in result.ledger_summary)
    mapped = sum(r["mapped"] for r in result.ledger_summary)
    click.echo(f"Raw rows: {mapped} mapped, {excluded} excluded with a reason, {unaccounted} unaccounted")
    click.echo(f"Findings: {counts['error']} errors, {counts['warning']} warnings, {counts['notice']} notices")
    if counts["error"]:
        _echo_findings([f for f in result.findings if f.severity is Severity.ERROR], limit=10)
    click.echo(f"Report:   {result.outputs.get('report_html')}")
    click.echo(f"Define:   {result.outputs.get('define')} (+ define.html)")
    click.echo(f"Manifest: {result.outputs.get('manifest')}")
    sys.exit(result.exit_code)


# --------------------------------------------------------------------------- validate
@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--define", "define_path", default=None, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="define.xml to check the datasets against.")
@click.option("--study", "study_dir", default=None, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Mapping specs (otherwise SDTMIG 3.4 metadata is used).")
@click.option("--report", "report_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for report.json/html/xlsx (default: FOLDER/../report-validate).")
@click.option("--rules", "rules", multiple=True, help=_RULES_HELP)
@click.option("--no-open-rules", is_flag=True, help="Do not run the CDISC Open Rules.")
def validate(folder: Path, define_path: Path | None, study_dir: Path | None, report_dir: Path | None,
             rules: tuple[str, ...], no_open_rules: bool) -> None:
    """Validate a folder of SDTM datasets from any tool: XPT, Dataset-JSON or CSV (with _datasets.csv /
    _variables.csv metadata where present)."""
    from cdisc_dpn.validation import validate_folder, write_reports
    from cdisc_dpn.validation.folder import dataset_files
    from cdisc_dpn.validation.open_rules.runs import OpenRulesConfig

    try:
        specs = None
        if study_dir is not None:
            from cdisc_dpn.spec.loader import load_specs

            specs, _ = load_specs(study_dir)
        if not dataset_files(folder):
            click.secho(f"error: no dataset files (.xpt, .json, .ndjson, .csv) in {folder}", fg="red", err=True)
            sys.exit(EXIT_INPUT)
        rules_dir, rule_ids = _rules_options(rules)
        not_applicable = dict(specs.study.validation.get("not_applicable") or {}) if specs is not None else {}
        severities = dict(specs.study.validation.get("severity") or {}) if specs is not None else {}
        result = validate_folder(folder, define_path=define_path, specs=specs, severities=severities,
                                 open_rules=OpenRulesConfig(not no_open_rules, rules_dir, rule_ids, not_applicable))
    except CdiscDpnError as exc:
        _fail(exc)
    report_dir = report_dir or folder.parent / "report-validate"
    paths = write_reports(result, report_dir, run_id="validate")
    counts = result.failures_by_severity()
    click.echo(f"Validated {len(result.datasets)} datasets, {sum(result.datasets.values())} records, "
               f"{result.rules_run} rules, {result.expectations} expectations in {result.duration:.1f} s")
    if result.open_rules:
        o = result.open_rules
        click.echo(f"CDISC Open Rules: {o['rules_run']} run ({o['rules_with_findings']} with findings), "
                   f"{len(o['not_run'])} not run (see the report), {o['source']}")
    click.echo(f"Findings: {counts['error']} errors, {counts['warning']} warnings, {counts['notice']} notices")
    _echo_findings([f for f in result.findings if f.severity is Severity.ERROR], limit=10)
    click.echo(f"Report: {paths.get('html')}")
    sys.exit(EXIT_FINDINGS if counts["error"] else EXIT_OK)


# --------------------------------------------------------------------------- define
@main.command()
@click.option("--spec", "study_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Mapping specs folder.")
@click.option("--data", "data_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder with the written XPT files.")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="define.xml to write (define.html is written beside it).")
@click.option("--created", default=None, help="ISO datetime for CreationDateTime (default from study.yaml).")
def define(study_dir: Path, data_dir: Path, out_file: Path, created: str | None) -> None:
    """Build define.xml (+ define.html) from the specs and the written datasets."""
    from cdisc_dpn.define import build_define, check_define, render_define_html, write_define
    from cdisc_dpn.mapping.frames import DomainFrame
    from cdisc_dpn.spec.loader import load_specs
    from cdisc_dpn.spec.supp import supp_dataset_spec
    from cdisc_dpn.terminology import load_terminology
    from cdisc_dpn.xpt.reader import read_xpt
    import pandas as pd

    try:
        specs, _ = load_specs(study_dir)
        terminology = load_terminology(specs.terminology)
        all_specs = {d.name: d for d in specs.datasets}
        all_specs.update({d.supp_name: supp_dataset_spec(d) for d in specs.datasets if d.supplemental})
        domains, lengths = [], {}
        for name, spec in all_specs.items():
            path = data_dir / f"{name.lower()}.xpt"
            if not path.is_file():
                continue
            frame, meta = read_xpt(path)
            lengths[name] = {v.name: v.length for v in meta.variables}
            domains.append(DomainFrame(spec, frame, pd.DataFrame(index=frame.index)))
        if not domains:
            click.secho(f"error: no XPT file in {data_dir} matches a dataset of the specs", fg="red", err=True)
            sys.exit(EXIT_INPUT)
        tree, findings = build_define(specs, terminology, domains, lengths,
                                      created=created or str(specs.study.define.get("created", "2000-01-01T00:00:00")),
                                      file_oid=specs.study.define.get("file_oid"))
        findings += check_define(tree, domains, lengths)
    except CdiscDpnError as exc:
        _fail(exc)
    write_define(tree, out_file)
    render_define_html(tree, out_file.with_suffix(".html"))
    errors = [f for f in findings if f.severity is Severity.ERROR]
    click.echo(f"Wrote {out_file} and {out_file.with_suffix('.html')} ({len(domains)} datasets); "
               f"{len(errors)} errors, {len(findings) - len(errors)} other findings")
    _echo_findings(errors)
    sys.exit(EXIT_FINDINGS if errors else EXIT_OK)


# --------------------------------------------------------------------------- spec
@main.group()
def spec() -> None:
    """Check, export and import mapping specs."""


@spec.command("check")
@click.argument("study_dir", default="mappings", type=click.Path(file_okay=False, path_type=Path))
def spec_check(study_dir: Path) -> None:
    """Load the specs and report every problem with file and line (exit 2 on errors)."""
    from cdisc_dpn.spec.loader import load_specs

    try:
        specs, findings = load_specs(study_dir)
    except SpecError as exc:
        click.secho(f"error: {exc} ({len(exc.findings)} problem(s))", fg="red", err=True)
        _echo_findings(exc.findings, limit=500)
        sys.exit(EXIT_INPUT)
    _echo_findings(findings, limit=500)
    click.echo(f"{study_dir}: {len(specs.datasets)} dataset specs, "
               f"{sum(len(d.variables) for d in specs.datasets)} variables, {len(specs.study.forms)} forms; "
               f"{len(findings)} warning(s)")


@spec.command("export")
@click.option("--study", "study_dir", default="mappings", show_default=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--xlsx", "xlsx", required=True, type=click.Path(dir_okay=False, path_type=Path))
def spec_export(study_dir: Path, xlsx: Path) -> None:
    """Write a Pinnacle 21-style specification workbook."""
    from cdisc_dpn.spec.workbook import export_workbook

    try:
        export_workbook(study_dir, xlsx)
    except CdiscDpnError as exc:
        _fail(exc)
    click.echo(f"Wrote {xlsx}")


@spec.command("import")
@click.argument("xlsx", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
def spec_import(xlsx: Path, out_dir: Path) -> None:
    """Turn a specification workbook back into YAML specs."""
    from cdisc_dpn.spec.workbook import import_workbook

    try:
        import_workbook(xlsx, out_dir)
    except CdiscDpnError as exc:
        _fail(exc)
    click.echo(f"Wrote specs to {out_dir}")


@main.command()
@click.option("--study", "study_dir", default="mappings", show_default=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", default="validation/suites", show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
def suites(study_dir: Path, out_dir: Path) -> None:
    """Write the Great Expectations suites generated from the specs (one JSON per dataset)."""
    from cdisc_dpn.spec.loader import load_specs
    from cdisc_dpn.terminology import load_terminology
    from cdisc_dpn.validation import write_suites

    try:
        specs, _ = load_specs(study_dir)
    except CdiscDpnError as exc:
        _fail(exc)
    paths = write_suites(specs, load_terminology(specs.terminology), out_dir)
    click.echo(f"Wrote {len(paths)} suites to {out_dir}")


# --------------------------------------------------------------------------- compare
@main.command()
@click.option("--produced", "produced_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder with the produced SDTM XPT files (e.g. build/<study>/sdtm).")
@click.option("--reference", "reference_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder with the reference SDTM as CSV files (dm.csv, ae.csv, ...).")
@click.option("--out", "out_file", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="JSON file for the full comparison (a markdown table is written beside it as .md).")
@click.option("--datasets", default="DM,SUPPDM,AE,SUPPAE,EX", show_default=True,
              help="Comma-separated datasets to compare.")
@click.option("--max-differences", default=20, show_default=True, type=click.IntRange(0),
              help="Differences listed per variable.")
def compare(produced_dir: Path, reference_dir: Path, out_file: Path | None, datasets: str,
            max_differences: int) -> None:
    """Line up produced datasets with reference datasets by key; agreement per dataset and variable."""
    from cdisc_dpn.compare import compare_folders

    for folder in (produced_dir, reference_dir):
        if not folder.is_dir():
            click.secho(f"error: folder {folder} does not exist", fg="red", err=True)
            sys.exit(EXIT_INPUT)
    try:
        result = compare_folders(produced_dir, reference_dir,
                                 [d.strip().upper() for d in datasets.split(",") if d.strip()],
                                 max_differences=max_differences)
    except CdiscDpnError as exc:
        _fail(exc)
    table = result.markdown()
    click.echo(table, nl=False)
    if out_file is not None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        result.to_json(out_file)
        out_file.with_suffix(".md").write_text(table, encoding="utf-8")
        click.echo(f"Wrote {out_file} and {out_file.with_suffix('.md')}")
    for name, why in result.missing.items():
        click.secho(f"note: {name} not compared ({why})", fg="yellow", err=True)
    sys.exit(EXIT_OK)

# --------------------------------------------------------------------------- rules
def _default_open_rules_dir() -> Path:
    """../shared/reference/cdisc-open-rules next to the repository (the CORE test cases)."""
    repo = Path(__file__).resolve().parents[1]
    return repo.parent / "shared" / "reference" / "cdisc-open-rules"


@main.group()
def rules() -> None:
    """CDISC Open Rules: run their published test cases."""


@rules.command("test")
@click.argument("rules_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--rule", "rule_ids", default="", help="Comma-separated subset (CORE-000001,CG0176).")
@click.option("--json", "json_out", default="build/open-rules-test.json", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Per case: expected and flagged records.")
@click.option("--coverage", "coverage_md", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Write the coverage document (e.g. docs/open-rules-coverage.md).")
@click.option("--study", "study_dirs", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Study folders whose study.yaml Open Rules overrides the coverage document lists.")
@click.option("-q", "--quiet", is_flag=True, help="Only the summary, not the table per rule.")
def rules_test(rules_dir: Path | None, rule_ids: str, json_out: Path, coverage_md: Path | None,
               study_dirs: tuple[Path, ...], quiet: bool) -> None:
    """Run every rule's positive/negative test cases; compare flagged (dataset, record) pairs with
    results/results.csv. RULES_DIR defaults to ../shared/reference/cdisc-open-rules next to the repo."""
    from cdisc_dpn.validation.open_rules.casetests import run_all, summary, table, write_json
    from cdisc_dpn.validation.open_rules.coverage import write_coverage

    folder = rules_dir or _default_open_rules_dir()
    if not folder.is_dir():
        click.secho(f"error: rules folder {folder} not found; give the cdisc-open-rules folder (with rules/"
                    f"CORE-*/rule.yml and their positive/negative test cases)", fg="red", err=True)
        sys.exit(EXIT_INPUT)
    started = time.perf_counter()
    book, results = run_all(folder, [i for i in rule_ids.split(",") if i.strip()] or None)
    seconds = time.perf_counter() - started
    if not quiet:
        click.echo(table(results), nl=False)
    write_json(results, book, json_out)
    s = summary(results)
    fe = s["fully_executable_cases"]
    click.echo(f"{s['rules']} rules in {seconds:.1f} s; Fully Executable cases: {fe.get('passed', 0)} passed, "
               f"{fe.get('failed', 0)} failed, {fe.get('unsupported', 0)} not supported, "
               f"{fe.get('unverifiable', 0)} unverifiable ({s['fully_executable_pass_rate']} % of the verifiable "
               f"cases pass, {s['fully_executable_pass_rate_all_cases']} % of all)")
    click.echo(f"Wrote {json_out}")
    if coverage_md is not None:
        write_coverage(results, book, coverage_md, list(study_dirs))
        click.echo(f"Wrote {coverage_md}")
    failed = any(c.status == "failed" for r in results for c in r.cases)
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)


if __name__ == "__main__":
    main()
