"""cdisc-dpn command line: turns options into configurations, calls the stages, maps outcomes to exit codes.

Exit codes: 0 all well, 1 the data has errors (validation or mapping findings), 2 unusable input or usage;
130 / 143 when `run` is stopped by SIGINT / SIGTERM (nothing written, the previous output kept).
Options are parsed by click types, so a bad value is refused with exit 2 before any work starts.
"""
from __future__ import annotations

import re
import sys
import time
from datetime import date, datetime
from pathlib import Path

import click

from cdisc_dpn import __version__
from cdisc_dpn.errors import CdiscDpnError, Finding, Severity, SpecError

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2
MAX_SHOWN = 25


# --------------------------------------------------------------------------- option types
class IsoDate(click.ParamType):
    """A complete ISO 8601 calendar date (YYYY-MM-DD): 31/12/2026 or 2026-02-30 is refused, not ignored."""

    name = "date"
    _FORM = re.compile(r"\d{4}-\d{2}-\d{2}")

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value.isoformat()
        text = str(value).strip()
        if not self._FORM.fullmatch(text):
            self.fail(f"{value!r} is not an ISO 8601 date; write it as YYYY-MM-DD, e.g. 2026-12-31", param, ctx)
        try:
            date.fromisoformat(text)
        except ValueError:
            self.fail(f"{value!r} is not a calendar date (YYYY-MM-DD)", param, ctx)
        return text


class IsoDateTime(click.ParamType):
    """An ISO 8601 date-time as define.xml and Dataset-JSON store it (YYYY-MM-DDThh:mm:ss, optional
    fraction and offset); a bare date means its midnight."""

    name = "datetime"
    _FORM = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?")

    def convert(self, value, param, ctx):
        text = str(value).strip()
        if not self._FORM.fullmatch(text):
            self.fail(f"{value!r} is not an ISO 8601 date-time; write it as YYYY-MM-DDThh:mm:ss, "
                      f"e.g. 2026-12-31T09:00:00", param, ctx)
        try:
            datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"{value!r} is not a valid date-time (YYYY-MM-DDThh:mm:ss)", param, ctx)
        return text if "T" in text else f"{text}T00:00:00"


def _algorithm_catalogue():
    """The algorithm table the spec checks need (spec sits below the catalogue, so it is passed in)."""
    from cdisc_dpn.derive.catalogue import known_algorithms

    return known_algorithms()


def _unwritable(folder: Path) -> str | None:
    from cdisc_dpn.output_folder import writable_problem

    return writable_problem(folder)


class OutputFile(click.Path):
    """A file this process can write: its folder is tried for real before any work starts."""

    def __init__(self):
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value, param, ctx):
        path = super().convert(value, param, ctx)
        problem = _unwritable(Path(path).absolute().parent)
        if problem:
            self.fail(f"{problem}; choose a file in a folder you can write to", param, ctx)
        return path


class OutputFolder(click.Path):
    """A folder this process can create or write (tried for real before any work starts)."""

    def __init__(self):
        super().__init__(file_okay=False, path_type=Path)

    def convert(self, value, param, ctx):
        path = super().convert(value, param, ctx)
        problem = _unwritable(path)
        if problem:
            self.fail(f"{problem}; choose a folder you can write to", param, ctx)
        return path


def _echo_findings(findings: list[Finding], limit: int = MAX_SHOWN) -> None:
    """Root causes first; findings that follow from a cause are counted, not repeated."""
    ordered = sorted((f for f in findings if not f.caused_by), key=lambda f: (f.severity.rank, f.cause is None))
    following = len(findings) - len(ordered)
    for f in ordered[:limit]:
        colour = {"error": "red", "warning": "yellow"}.get(f.severity.value)
        click.secho(f"  {f.render()}", fg=colour, err=True)
    if len(ordered) > limit:
        click.echo(f"  ... and {len(ordered) - limit} more (see the report)", err=True)
    if following:
        click.echo(f"  ({following} more finding(s) follow from the root causes above)", err=True)


def _echo_outcome(findings: list[Finding], limit: int = 10) -> None:
    """Root causes first (each with its fix and what follows from it), then other errors, then the
    warning and notice codes with counts (the lines come from cdisc_dpn.cascade.console_lines)."""
    from cdisc_dpn.cascade import console_lines

    for text, colour in console_lines(findings, limit=limit):
        click.secho(text, fg=colour, err=True)


def _fail(exc: CdiscDpnError) -> None:
    click.secho(f"error: {exc}", fg="red", err=True)
    _echo_findings([f for f in exc.findings if f.severity is Severity.ERROR] or exc.findings, limit=100)
    sys.exit(exc.exit_code)


class _Stages:
    """Prints each stage with the time the previous one took, and progress inside a stage."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.started = None
        self.count = 0
        self.label = ""
        self.last_detail = None
        self.tty = sys.stderr.isatty()

    def _close(self) -> None:
        if self.started is None or self.quiet:
            return
        if self.tty and self.last_detail is not None:      # put the stage label back over the progress text
            click.echo(f"\r\033[K[{self.count}] {self.label} ...", err=True, nl=False)
        click.echo(f" ({time.perf_counter() - self.started:.1f} s)", err=True)

    def __call__(self, label: str) -> None:
        self._close()
        self.count += 1
        self.started = time.perf_counter()
        self.label = label
        self.last_detail = None
        if not self.quiet:
            click.echo(f"[{self.count}] {label} ...", err=True, nl=False)

    def done(self) -> None:
        self._close()
        self.started = None

    def detail(self, message: str) -> None:
        """Progress inside a stage: rewritten in place on a terminal, a line every 10 s in a log."""
        if self.quiet:
            return
        now = time.perf_counter()
        if self.tty:
            click.echo(f"\r\033[K[{self.count}] {self.label} ... {message}", err=True, nl=False)
            self.last_detail = now
        elif now - (self.last_detail or self.started or now) >= 10:
            click.echo(f"\n    {message} ...", err=True, nl=False)
            self.last_detail = now


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
@click.option("--out", "out_dir", required=True, type=OutputFolder(), help="Folder for the raw CRF exports.")
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
@click.option("--out", "out_dir", required=True, type=OutputFolder(),
              help="Output folder, replaced only when the run completes; a run with errors does not replace a "
                   "clean output but goes to OUT-with-errors beside it.")
@click.option("--created", default=None, type=IsoDateTime(),
              help="ISO 8601 date-time stamped into define.xml and Dataset-JSON (YYYY-MM-DDThh:mm:ss).")
@click.option("--data-cutoff", default=None, type=IsoDate(), help="ISO 8601 date (YYYY-MM-DD); later dates are reported.")
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
    from cdisc_dpn.output_folder import RunInterrupted

    stages = _Stages(quiet)
    try:
        result = run_pipeline(config, progress=stages, detail=stages.detail)
    except CdiscDpnError as exc:
        stages.done()
        _fail(exc)
    except RunInterrupted as exc:
        stages.done()
        click.secho(f"stopped by {exc}: nothing was written; the previous output in {out_dir} is as it was",
                    fg="red", err=True)
        sys.exit(exc.exit_code)
    stages.done()
    counts = result.counts
    for leftover in result.cleaned:
        click.echo(f"note: removed {leftover}, left by an interrupted run", err=True)
    click.echo("")
    click.echo(f"Datasets written to {result.out_dir / 'sdtm'}:")
    for name, rows in result.datasets.items():
        click.echo(f"  {name:<8} {rows:>7} rows")
    unaccounted = sum(r["unaccounted"] for r in result.ledger_summary)
    excluded = sum(r["excluded"] for r in result.ledger_summary)
    mapped = sum(r["mapped"] for r in result.ledger_summary)
    click.echo(f"Raw rows: {mapped} mapped, {excluded} excluded with a reason, {unaccounted} unaccounted")
    click.echo(f"Findings: {counts['error']} errors, {counts['warning']} warnings, {counts['notice']} notices")
    _echo_outcome(result.findings)
    click.echo(f"Report:   {result.outputs.get('report_html')}")
    click.echo(f"Define:   {result.outputs.get('define')} (+ define.html)")
    click.echo(f"Manifest: {result.outputs.get('manifest')}")
    click.echo(_output_line(result))
    if result.late_signal:
        click.echo(f"note: {result.late_signal} arrived while the finished output was moved into place; "
                   f"the run completed", err=True)
    sys.exit(result.exit_code)


def _output_line(result) -> str:
    """The run's summary line: where the output went and what happened to the previous one."""
    errors = result.counts["error"]
    verdict = f"{errors} error(s), exit 1" if errors else "no errors"
    if result.kept_clean is not None:
        return (f"Output:   {result.out_dir} ({verdict}); the clean output of the previous run in "
                f"{result.kept_clean} was kept")
    return f"Output:   {result.out_dir} ({verdict}; {'replaced the previous output' if result.replaced else 'new'})"


# --------------------------------------------------------------------------- validate
@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--define", "define_path", default=None, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="define.xml to check the datasets against.")
@click.option("--study", "study_dir", default=None, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Mapping specs (otherwise SDTMIG 3.4 metadata is used).")
@click.option("--report", "report_dir", default=None, type=OutputFolder(),
              help="Folder for report.json/html/xlsx (default: FOLDER/../report-validate).")
@click.option("--rules", "rules", multiple=True, help=_RULES_HELP)
@click.option("--no-open-rules", is_flag=True, help="Do not run the CDISC Open Rules.")
def validate(folder: Path, define_path: Path | None, study_dir: Path | None, report_dir: Path | None,
             rules: tuple[str, ...], no_open_rules: bool) -> None:
    """Validate a folder of SDTM datasets from any tool: XPT, Dataset-JSON or CSV (with _datasets.csv /
    _variables.csv metadata where present)."""
    from cdisc_dpn.pipeline import load_study_specs, open_rules_settings, validate_written_folder
    from cdisc_dpn.validation.folder import dataset_files

    stages = _Stages(quiet=False)
    try:
        specs = None
        if study_dir is not None:
            specs, _ = load_study_specs(study_dir)
        if not dataset_files(folder):
            click.secho(f"error: no dataset files (.xpt, .json, .ndjson, .csv) in {folder}", fg="red", err=True)
            sys.exit(EXIT_INPUT)
        report_dir = report_dir or folder.parent / "report-validate"
        unwritable = _unwritable(report_dir)
        if unwritable:
            click.secho(f"error: the report folder cannot be written: {unwritable} (choose one with --report)",
                        fg="red", err=True)
            sys.exit(EXIT_INPUT)
        rules_dir, rule_ids = _rules_options(rules)
        stages("Validating")
        result, paths = validate_written_folder(
            folder, report_dir, specs=specs, define_path=define_path, progress=stages.detail,
            open_rules=open_rules_settings(specs, enabled=not no_open_rules, folder=rules_dir, ids=rule_ids))
    except CdiscDpnError as exc:
        stages.done()
        _fail(exc)
    stages.done()
    counts = result.failures_by_severity()
    click.echo(f"Validated {len(result.datasets)} datasets, {sum(result.datasets.values())} records, "
               f"{result.rules_run} rules, {result.expectations} expectations in {result.duration:.1f} s")
    if result.open_rules:
        o = result.open_rules
        click.echo(f"CDISC Open Rules: {o['rules_run']} run ({o['rules_with_findings']} with findings), "
                   f"{len(o['not_run'])} not run (see the report), {o['source']}")
    click.echo(f"Findings: {counts['error']} errors, {counts['warning']} warnings, {counts['notice']} notices")
    _echo_outcome(result.findings)
    click.echo(f"Report: {paths.get('html')}")
    sys.exit(EXIT_FINDINGS if counts["error"] else EXIT_OK)


# --------------------------------------------------------------------------- define
@main.command()
@click.option("--spec", "study_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Mapping specs folder.")
@click.option("--data", "data_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder with the written XPT files.")
@click.option("--out", "out_file", required=True, type=OutputFile(),
              help="define.xml to write (define.html is written beside it).")
@click.option("--created", default=None, type=IsoDateTime(),
              help="ISO 8601 date-time for CreationDateTime (default from study.yaml).")
def define(study_dir: Path, data_dir: Path, out_file: Path, created: str | None) -> None:
    """Build define.xml (+ define.html) from the specs and the written datasets."""
    from cdisc_dpn.pipeline import created_time, describe_study, load_study_specs, read_written_datasets
    from cdisc_dpn.terminology import load_terminology

    try:
        specs, _ = load_study_specs(study_dir)
        terminology = load_terminology(specs.terminology)
        domains, lengths = read_written_datasets(specs, data_dir)
        if not domains:
            click.secho(f"error: no XPT file in {data_dir} matches a dataset of the specs", fg="red", err=True)
            sys.exit(EXIT_INPUT)
        findings = describe_study(specs, terminology, domains, lengths, created_time(created, specs), out_file)
    except CdiscDpnError as exc:
        _fail(exc)
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
@click.option("--raw", "raw_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Also check every column the specs name against the raw exports in this folder.")
def spec_check(study_dir: Path, raw_dir: Path | None) -> None:
    """Load the specs and report every problem with file and line (exit 2 on errors)."""
    from cdisc_dpn.spec.loader import load_specs

    try:
        specs, findings = load_specs(study_dir, algorithms=_algorithm_catalogue())
    except SpecError as exc:
        click.secho(f"error: {exc} ({len(exc.findings)} problem(s))", fg="red", err=True)
        _echo_findings(exc.findings, limit=500)
        sys.exit(EXIT_INPUT)
    if raw_dir is not None:
        _spec_check_raw(specs, raw_dir, findings)
    _echo_findings(findings, limit=500)
    click.echo(f"{study_dir}: {len(specs.datasets)} dataset specs, "
               f"{sum(len(d.variables) for d in specs.datasets)} variables, {len(specs.study.forms)} forms; "
               f"{len(findings)} warning(s)")


def _spec_check_raw(specs, raw_dir: Path, findings: list) -> None:
    """`spec check --raw`: exit 2 when a column a spec names is not in its raw file."""
    from cdisc_dpn.raw.checks import check_spec_columns

    raw_findings, tables = check_spec_columns(specs, raw_dir, _algorithm_catalogue())
    errors = [f for f in raw_findings if f.severity is Severity.ERROR]
    if errors:
        click.secho(f"error: {len(errors)} problem(s) between the specs and the raw exports in {raw_dir}",
                    fg="red", err=True)
        _echo_findings(raw_findings, limit=500)
        sys.exit(EXIT_INPUT)
    findings.extend(raw_findings)
    click.echo(f"{raw_dir}: {len(tables)} forms read; every column the specs name is present")


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
@click.option("--out", "out_dir", required=True, type=OutputFolder())
def spec_import(xlsx: Path, out_dir: Path) -> None:
    """Turn a specification workbook back into YAML specs, checked as `spec check` would first.

    Problems are reported by sheet and row; with errors nothing is written (exit 2)."""
    from cdisc_dpn.spec.workbook import import_workbook

    warnings: list[Finding] = []
    try:
        written = import_workbook(xlsx, out_dir, findings=warnings, algorithms=_algorithm_catalogue())
    except CdiscDpnError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        _echo_findings(exc.findings, limit=500)
        sys.exit(exc.exit_code)
    _echo_findings(warnings, limit=500)
    click.echo(f"Wrote {len(written)} spec files to {out_dir}; {len(warnings)} warning(s)")


@main.command()
@click.option("--study", "study_dir", default="mappings", show_default=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", default="validation/suites", show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
def suites(study_dir: Path, out_dir: Path) -> None:
    """Write the Great Expectations suites generated from the specs (one JSON per dataset)."""
    from cdisc_dpn.pipeline import load_study_specs
    from cdisc_dpn.terminology import load_terminology
    from cdisc_dpn.validation import write_suites

    try:
        specs, _ = load_study_specs(study_dir)
    except CdiscDpnError as exc:
        _fail(exc)
    paths = write_suites(specs, load_terminology(specs.terminology), out_dir)
    click.echo(f"Wrote {len(paths)} suites to {out_dir}")


# --------------------------------------------------------------------------- compare
@main.command()
@click.option("--produced", "produced_dir", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder with the produced SDTM datasets (e.g. build/<study>/sdtm).")
@click.option("--reference", "reference_dir", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder with the reference SDTM: XPT, Dataset-JSON (.json/.ndjson) or CSV files (dm.xpt, ...).")
@click.option("--out", "out_file", default=None, type=OutputFile(),
              help="JSON file for the full comparison (a markdown table is written beside it as .md).")
@click.option("--datasets", default="all", show_default=True,
              help="Comma-separated datasets to compare, or 'all' (every dataset either folder has).")
@click.option("--strict", is_flag=True,
              help="Compare text cells as text: '66' and '66.0' differ (by default numbers are compared as "
                   "numbers; Num variables of XPT/Dataset-JSON files always are).")
@click.option("--max-differences", default=20, show_default=True, type=click.IntRange(0),
              help="Differences listed per variable.")
def compare(produced_dir: Path, reference_dir: Path, out_file: Path | None, datasets: str, strict: bool,
            max_differences: int) -> None:
    """Line up produced datasets with reference datasets by key; agreement per dataset and variable.

    Exit 0 when records were paired and compared, 2 when nothing pairs (no dataset in both folders,
    or not one record paired)."""
    from cdisc_dpn.compare import compare_folders, dataset_files

    names = None if datasets.strip().lower() == "all" else \
        [d.strip().upper() for d in datasets.split(",") if d.strip()]
    try:
        result = compare_folders(produced_dir, reference_dir, names, max_differences=max_differences, strict=strict)
    except CdiscDpnError as exc:
        _fail(exc)
    if not result.datasets or not result.paired:
        found = {label: ", ".join(p.name for p in dataset_files(folder).values()) or "no .xpt/.json/.ndjson/.csv file"
                 for label, folder in (("produced", produced_dir), ("reference", reference_dir))}
        asked = "no dataset" if names is None else f"none of {', '.join(names)}"
        why = (f"{asked} is in both folders" if not result.datasets else
               f"not one record of {', '.join(result.datasets)} could be paired by key "
               f"({'; '.join(f'{n}: ' + ' + '.join(d.keys[0]) for n, d in result.datasets.items())})")
        click.secho(f"error: nothing was compared: {why}. Produced {produced_dir}: {found['produced']}. "
                    f"Reference {reference_dir}: {found['reference']}.", fg="red", err=True)
        click.echo("  -> point --produced and --reference at folders holding the same datasets "
                   "(dm.xpt, dm.json or dm.csv), or name them with --datasets", err=True)
        sys.exit(EXIT_INPUT)
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
