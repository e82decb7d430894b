"""Import: the documents read from a workbook are checked like YAML specs (findings at sheet and row)
and written as a mappings/ folder."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping


from cdisc_dpn.atomic import write_atomic
from cdisc_dpn.errors import Finding, Severity, SpecError
from cdisc_dpn.spec.yamlsafe import LineDict, LineList

from .reader import Origin, Origins, dump_yaml, read_documents


# =========================================================================== validation by sheet and row
def _origin_lines(doc: Any, parsed: Any, origins: Origins, out: list[tuple[int, Origin]]) -> None:
    """(YAML line, workbook origin) for every part of `doc` whose origin is known, walking the
    document and its parsed YAML (which knows lines) side by side."""
    line = getattr(parsed, "line", 0)
    if id(doc) in origins.whole and line:
        out.append((line, origins.whole[id(doc)]))
    parts = origins.parts.get(id(doc), {})
    if isinstance(doc, dict) and isinstance(parsed, LineDict):
        for key, value in doc.items():
            key = str(key)
            if key in parts:
                out.append((parsed.line_of(key), parts[key]))
            if key in parsed:
                _origin_lines(value, parsed[key], origins, out)
    elif isinstance(doc, (list, tuple)) and isinstance(parsed, LineList):
        for i, (value, item) in enumerate(zip(doc, parsed)):
            if i in parts and i < len(parsed.item_lines):
                out.append((parsed.item_lines[i], parts[i]))
            _origin_lines(value, item, origins, out)


def _at_workbook_cell(finding: Finding, xlsx: Path, lines: dict[str, list[tuple[int, Origin]]]) -> Finding:
    """A spec finding about the generated YAML, re-pointed at the workbook sheet and row it came from."""
    from dataclasses import replace

    candidates = lines.get(finding.file or "", [])
    line = finding.spec_line or 0
    before = [entry for entry in candidates if entry[0] <= line]
    yaml_at = f"{finding.file}:{finding.spec_line}" if finding.spec_line else (finding.file or "")
    if not before:
        return replace(finding, file=str(xlsx), spec_line=None,
                       message=f"{finding.message} (in the generated {yaml_at})",
                       extra={**finding.extra, "generated_yaml": yaml_at})
    sheet, row = max(before, key=lambda entry: entry[0])[1]
    return replace(finding, message=f"{sheet}: {finding.message}", file=str(xlsx), source_row=row, spec_line=None,
                   extra={**finding.extra, "sheet": sheet, "generated_yaml": yaml_at})


def check_documents(xlsx: Path | str, docs: dict[str, dict], origins: Origins, texts: dict[str, str],
                    algorithms: Mapping[str, object] | None = None) -> list[Finding]:
    """Load the generated YAML as `spec check` would and report every problem by sheet and row."""
    import tempfile

    from cdisc_dpn.spec.loader import load_specs
    from cdisc_dpn.spec.yamlsafe import load_yaml_with_lines

    with tempfile.TemporaryDirectory(prefix="cdisc-dpn-import-") as tmp:
        for rel, text in texts.items():
            (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / rel).write_text(text, encoding="utf-8")
        try:
            _, findings = load_specs(tmp, algorithms=algorithms)
        except SpecError as exc:
            findings = list(exc.findings)
        lines: dict[str, list[tuple[int, Origin]]] = {}
        for rel, doc in docs.items():
            try:
                parsed = load_yaml_with_lines(Path(tmp) / rel)
            except Exception:                       # unparsable YAML is reported by load_specs already
                continue
            entries: list[tuple[int, Origin]] = []
            _origin_lines(doc, parsed, origins, entries)
            lines[rel] = sorted(entries, key=lambda entry: entry[0])
    return [_at_workbook_cell(f, Path(xlsx), lines) for f in findings]


def import_workbook(xlsx: Path | str, out_dir: Path | str, findings: list[Finding] | None = None,
                    algorithms: Mapping[str, object] | None = None) -> list[Path]:
    """Write the YAML specs a workbook describes into `out_dir`; returns the files written.

    The specs are checked first, as `spec check` would: errors raise SpecError and nothing is
    written; warnings are appended to `findings`. Both point at the workbook's sheet and row."""
    out_dir = Path(out_dir)
    docs, origins = read_documents(Path(xlsx))
    root = out_dir.resolve()
    bad = [rel for rel in docs if Path(rel).is_absolute() or not (root / rel).resolve().is_relative_to(root)]
    if bad:
        raise SpecError("the workbook names files outside the output folder", [Finding(
            "WB-PATH", Severity.ERROR, f"file {rel!r} is outside {out_dir}", stage="spec", file=str(xlsx),
            fix="use a path relative to the mappings folder") for rel in bad])
    texts = {rel: dump_yaml(doc) for rel, doc in docs.items()}     # everything rendered before writing
    problems = check_documents(xlsx, docs, origins, texts, algorithms)
    errors = [f for f in problems if f.severity is Severity.ERROR]
    if errors:
        raise SpecError(f"the workbook's specs have {len(errors)} error(s); nothing was written", problems)
    if findings is not None:
        findings.extend(problems)
    written = []
    for rel, text in texts.items():
        path = out_dir / rel
        write_atomic(path, text)
        written.append(path)
    return written
