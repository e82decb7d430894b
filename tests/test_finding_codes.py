"""The finding-code catalogue (cdisc_dpn/finding_codes.yaml) against the code that emits findings.

The emitted codes are collected statically: an AST walk over cdisc_dpn/ finds every call that builds a
Finding, directly or through a helper that passes its `code` parameter on (helpers are discovered, not
listed), and reads the code each call gives: a literal, a helper's default, a conditional of literals,
or a local name bound to literals. A code that comes from data (validation rule ids) is a dynamic site
and must be listed in DYNAMIC_SITES with where its values come from.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cdisc_dpn.finding_codes import code_description
from cdisc_dpn.finding_codes import (STAGES, CatalogueError, anchor, finding_codes, load_catalogue_yaml,
                                     parse_finding_codes)
from cdisc_dpn.findings_doc import DOC_PATH, render_findings_doc
from cdisc_dpn.validation.catalogue import load_catalogue
from cdisc_dpn.validation.open_rules.rulebook import SHIPPED_RULES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cdisc_dpn"
CODE = re.compile(r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+")

#: Calls whose code is data, not a literal: (file, function, expression) -> where the values come from.
DYNAMIC_SITES = {
    ("cdisc_dpn/validation/runner.py", "_gx_findings", "rule.id"): "expectation ids of validation/rules.yaml",
    ("cdisc_dpn/validation/runner.py", "_rule_findings", "rule.id"): "conformance rule ids of validation/rules.yaml",
    ("cdisc_dpn/validation/runner.py", "_run_open_rules", "rule.id"): "CDISC Open Rules ids (CORE-*)",
}

#: Code-shaped string literals in cdisc_dpn/ that are not finding codes.
NOT_CODES = {
    "UTF-8": "an encoding name",
    "YYYY-MM-DD": "a date format", "YYYY-MM": "a date format", "DD-MON-YYYY": "a date format",
    "RELEASE-DPN": "the synthetic study's id (synth/ generates RELEASE-DPN data)",
    "SPECIAL-PURPOSE": "an SDTMIG class name spelling", "TRIAL-DESIGN": "an SDTMIG class name spelling",
}


# --------------------------------------------------------------------------- static collection
@dataclass(frozen=True)
class Param:
    """A helper parameter that feeds a Finding field: its position (after self) and keyword."""

    pos: int | None
    name: str
    default: ast.expr | None
    module: str


@dataclass(frozen=True)
class Fixed:
    """A Finding field a helper always sets to the same value."""

    value: str | None


@dataclass
class Sink:
    fields: dict[str, Param | Fixed]


@dataclass
class Site:
    file: str
    line: int
    function: str
    code: str | None            # None: dynamic
    expression: str
    severity: str | None = None
    stage: str | None = None


@dataclass
class Scan:
    sites: list[Site] = field(default_factory=list)
    sinks: dict[tuple[str, str], Sink] = field(default_factory=dict)
    literals: dict[str, list[str]] = field(default_factory=dict)     # code-shaped literal -> "file:line"
    site_literals: set[tuple[str, int, int]] = field(default_factory=set)


FINDING = ("cdisc_dpn.errors", "Finding")
FIELDS = ("code", "severity", "stage")


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def scan_package() -> Scan:
    trees = {_module_name(p): (p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(PACKAGE.rglob("*.py"))}
    parent: dict[ast.AST, ast.AST] = {}
    imports: dict[str, dict[str, tuple[str, str]]] = {}
    constants: dict[str, dict[str, str]] = {}          # module-level NAME = "text"
    for mod, (path, tree) in trees.items():
        imports[mod] = {}
        constants[mod] = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                          and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
                          for t in n.targets if isinstance(t, ast.Name)}
        package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                parent[child] = node
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
                for alias in node.names:
                    imports[mod][alias.asname or alias.name] = (base, alias.name)

    def enclosing(node: ast.AST):
        q = parent.get(node)
        while q is not None and not isinstance(q, (ast.FunctionDef, ast.AsyncFunctionDef)):
            q = parent.get(q)
        return q

    def key_of(mod: str, call: ast.Call):
        f = call.func
        if isinstance(f, ast.Name):
            return imports[mod].get(f.id, (mod, f.id))
        if isinstance(f, ast.Attribute):
            return ("<method>", f.attr)      # methods are matched by name
        return None

    functions = []
    for mod, (path, tree) in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                method = isinstance(parent.get(node), ast.ClassDef)
                functions.append((mod, ("<method>", node.name) if method else (mod, node.name), node, method))
    calls = [(mod, node, enclosing(node)) for mod, (_, tree) in trees.items() for node in ast.walk(tree)
             if isinstance(node, ast.Call)]

    result = Scan(sinks={FINDING: Sink({"code": Param(0, "code", None, "cdisc_dpn.errors"),
                                        "severity": Param(1, "severity", None, "cdisc_dpn.errors"),
                                        "stage": Param(3, "stage", ast.Constant(""), "cdisc_dpn.errors")})})

    def argument(call: ast.Call, p: Param):
        for k in call.keywords:
            if k.arg == p.name:
                return k.value
        if p.pos is not None and p.pos < len(call.args) and \
                not any(isinstance(a, ast.Starred) for a in call.args[: p.pos + 1]):
            return call.args[p.pos]
        return p.default

    # Helpers: a function whose sink call takes `code` from one of its own parameters is a sink too.
    changed = True
    while changed:
        changed = False
        for mod, key, fn, method in functions:
            if key in result.sinks:
                continue
            a = fn.args
            positional = [x.arg for x in a.posonlyargs + a.args]
            defaults = dict(zip(positional[len(positional) - len(a.defaults):], a.defaults))
            defaults.update({x.arg: d for x, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None})
            names = positional + [x.arg for x in a.kwonlyargs]
            for cmod, call, owner in calls:
                sink = result.sinks.get(key_of(cmod, call)) if owner is fn else None
                if sink is None:
                    continue
                code = argument(call, sink.fields["code"]) if isinstance(sink.fields["code"], Param) else None
                if not (isinstance(code, ast.Name) and code.id in names):
                    continue
                fields: dict[str, Param | Fixed] = {}
                for name in FIELDS:
                    spec = sink.fields[name]
                    expr = argument(call, spec) if isinstance(spec, Param) else None
                    if isinstance(expr, ast.Name) and expr.id in names:
                        pos = positional.index(expr.id) - method if expr.id in positional else None
                        fields[name] = Param(pos, expr.id, defaults.get(expr.id), mod)
                    else:
                        fields[name] = spec if isinstance(spec, Fixed) else Fixed(_value(expr, mod, constants))
                result.sinks[key] = Sink(fields)
                changed = True
                break

    for mod, call, owner in calls:
        if key_of(mod, call) == ("dataclasses", "replace") and any(k.arg == "code" for k in call.keywords):
            path = str(trees[mod][0].relative_to(ROOT))
            expr = next(k.value for k in call.keywords if k.arg == "code")
            for code, node in _codes(expr, owner):    # a finding copied under another code
                if node is not None:
                    result.site_literals.add((path, node.lineno, node.col_offset))
                result.sites.append(Site(path, call.lineno, owner.name if owner is not None else "<module>", code,
                                         ast.unparse(expr)))
            continue
        sink = result.sinks.get(key_of(mod, call))
        if sink is None or not isinstance(sink.fields["code"], Param):
            continue
        path = str(trees[mod][0].relative_to(ROOT))
        expr = argument(call, sink.fields["code"])
        if owner is not None and isinstance(expr, ast.Name) and any(
                k[1] == owner.name and isinstance(s.fields["code"], Param) and s.fields["code"].name == expr.id
                for k, s in result.sinks.items()):
            continue                                     # a helper passing its own parameter on
        resolved = {}
        for name in ("severity", "stage"):
            spec = sink.fields[name]
            resolved[name] = spec.value if isinstance(spec, Fixed) else \
                _value(argument(call, spec), mod, constants)
        function = owner.name if owner is not None else "<module>"
        given = expr is not sink.fields["code"].default
        for code, node in _codes(expr, owner):
            if node is not None:
                result.site_literals.add((path, node.lineno, node.col_offset))
            shown = ast.unparse(expr) if given else f"<default {ast.unparse(expr)}>" if expr else "<none>"
            result.sites.append(Site(path, call.lineno, function, code, shown,
                                     resolved["severity"], resolved["stage"]))
    for mod, (path, tree) in trees.items():
        rel = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.fullmatch(node.value):
                if isinstance(parent.get(node), ast.arguments):        # a helper's default: read at its callers
                    continue
                if (rel, node.lineno, node.col_offset) not in result.site_literals:
                    result.literals.setdefault(node.value, []).append(f"{rel}:{node.lineno}")
    return result


def _value(expr, module: str, constants) -> str | None:
    """A field value written as a literal, Severity.X or a module constant; None when computed."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "Severity":
        return expr.attr.lower()
    if isinstance(expr, ast.Name):
        return constants[module].get(expr.id)
    return None


def _codes(expr, function) -> list[tuple[str | None, ast.Constant | None]]:
    """The literal codes an expression can take: a literal, either branch of a conditional, or a local
    name bound to literals (assignment or `for a, code in ((.., "X"), ...)`); [(None, None)] if dynamic."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [(expr.value, expr)]
    if isinstance(expr, ast.IfExp):
        return _codes(expr.body, function) + _codes(expr.orelse, function)
    if isinstance(expr, ast.Name) and function is not None:
        found: list = []
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == expr.id for t in node.targets):
                found += _codes(node.value, function)
            elif isinstance(node, ast.For) and isinstance(node.target, ast.Tuple) \
                    and isinstance(node.iter, (ast.Tuple, ast.List)):
                names = [t.id if isinstance(t, ast.Name) else None for t in node.target.elts]
                if expr.id in names:
                    i = names.index(expr.id)
                    for item in node.iter.elts:
                        ok = isinstance(item, (ast.Tuple, ast.List)) and len(item.elts) == len(names)
                        found += _codes(item.elts[i], function) if ok else [(None, None)]
        return found or [(None, None)]
    return [(None, None)]


@pytest.fixture(scope="module")
def scan() -> Scan:
    return scan_package()


@pytest.fixture(scope="module")
def rule_ids() -> set[str]:
    cat = load_catalogue()
    return set(cat.expectations) | {r.id for r in cat.rules}


@pytest.fixture(scope="module")
def open_rule_ids() -> set[str]:
    return {p.name for p in SHIPPED_RULES.iterdir() if p.is_dir() and p.name.startswith("CORE-")}


# --------------------------------------------------------------------------- the tests
def test_the_scan_finds_the_known_emitters(scan):
    """Guards the collector itself: direct Finding calls, helpers with the code first or later, a helper's
    default code, a method helper, a conditional and a for-tuple binding are all seen."""
    by_code = {}
    for s in scan.sites:
        by_code.setdefault(s.code, []).append(s)
    assert any(s.file == "cdisc_dpn/pipeline.py" for s in by_code["RUN-OUTPUT-FOLDER"])        # Finding(...)
    assert any(s.expression == "<default 'MAP-SPEC'>" for s in by_code["MAP-SPEC"])               # default
    assert any(s.file == "cdisc_dpn/derive/records.py" for s in by_code["DRV-TOTAL-MISMATCH"])  # code 2nd
    assert any(s.file == "cdisc_dpn/derive/general.py" for s in by_code["MAP-TERM"])         # ctx.report
    assert {"DSJ-ITEMOID-DUP", "DSJ-NAME-DUP"} <= set(by_code)                                  # for-tuple
    assert by_code["MAP-TERM"][0].stage == "map" and by_code["READ-CSV"][0].severity == "error"
    assert "DD-MON-YYYY" not in by_code and "UTF-8" not in by_code


def test_dynamic_codes_are_listed(scan):
    found = {(s.file, s.function, s.expression) for s in scan.sites if s.code is None}
    assert found == set(DYNAMIC_SITES), (
        "a finding's code is computed, so the catalogue cannot be checked against it: use a literal code, "
        f"or list the site in DYNAMIC_SITES with where its values come from. New: {sorted(found - set(DYNAMIC_SITES))}; "
        f"gone: {sorted(set(DYNAMIC_SITES) - found)}")


def test_every_code_the_engine_emits_is_catalogued(scan, rule_ids, open_rule_ids):
    emitted = {s.code for s in scan.sites if s.code is not None}
    bad_shape = sorted(c for c in emitted if not CODE.fullmatch(c))
    assert not bad_shape, f"finding codes that are not UPPER-CASE words joined by '-': {bad_shape}"
    known = set(finding_codes()) | rule_ids | open_rule_ids
    missing = {s.code: f"{s.file}:{s.line}" for s in scan.sites if s.code is not None and s.code not in known}
    assert not missing, f"codes emitted but not in cdisc_dpn/finding_codes.yaml: {missing}"


def test_every_catalogued_code_is_emitted(scan):
    emitted = {s.code for s in scan.sites}
    dead = sorted(set(finding_codes()) - emitted)
    assert not dead, f"catalogue entries no code emits (remove them, or retire them in a comment): {dead}"


def test_catalogue_is_disjoint_from_the_rule_files(rule_ids, open_rule_ids):
    assert not set(finding_codes()) & (rule_ids | open_rule_ids)


def test_other_code_shaped_literals_are_known_codes_or_listed(scan, rule_ids, open_rule_ids):
    """A code literal that reaches a finding by a path the scan does not follow (a dict, a return value)
    still has to be catalogued; anything else code-shaped is listed in NOT_CODES."""
    known = set(finding_codes()) | rule_ids | open_rule_ids
    unknown = {v: where for v, where in scan.literals.items() if v not in known and v not in NOT_CODES}
    assert not unknown, f"code-shaped literals that are neither catalogued nor in NOT_CODES: {unknown}"
    stale = sorted(set(NOT_CODES) - set(scan.literals))
    assert not stale, f"NOT_CODES entries no longer in cdisc_dpn/: {stale}"


def test_catalogue_severity_and_stage_are_those_of_an_emitter(scan):
    codes = finding_codes()
    wrong = []
    for code, entry in codes.items():
        sites = [s for s in scan.sites if s.code == code]
        severities = {s.severity for s in sites} - {None}
        stages = {s.stage for s in sites} - {None}
        if severities and entry.severity.value not in severities:
            wrong.append(f"{code}: severity {entry.severity.value}, emitted as {sorted(severities)}")
        if stages and entry.stage not in stages:
            wrong.append(f"{code}: stage {entry.stage}, emitted in {sorted(stages)}")
    assert not wrong, wrong


def test_committed_findings_page_is_the_generated_one():
    committed = (ROOT / DOC_PATH).read_text(encoding="utf-8")
    assert committed == render_findings_doc(), \
        f"{DOC_PATH} is out of date: run `python -m cdisc_dpn.findings_doc` and commit the result"


def test_every_code_is_documented_with_its_meaning_and_fix(rule_ids):
    page = (ROOT / DOC_PATH).read_text(encoding="utf-8")
    rows = {m.group(1): m.group(0) for m in re.finditer(r'^\| <a id="([a-z0-9-]+)"></a>.*$', page, re.M)}
    for code, entry in finding_codes().items():
        page_path, _, fragment = entry.documented_at.partition("#")
        row = rows.get(fragment)
        assert page_path == DOC_PATH and row is not None, f"{code} has no row in {DOC_PATH}"
        assert entry.meaning.replace("|", "\\|") in row and entry.fix.replace("|", "\\|") in row
    for rule_id in rule_ids:
        assert anchor(rule_id) in rows, f"{rule_id} has no row in {DOC_PATH}"
    headings = re.findall(r"^## (.+)$", page, re.M)
    stage_order = [s for s in STAGES if any(e.stage == s for e in finding_codes().values())]
    assert len(headings) == len(stage_order) + 3    # Contents, validation rules, Open Rules


def _github_slug(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_doc_references_point_at_existing_sections():
    broken = []
    for code, entry in finding_codes().items():
        if not entry.doc:
            continue
        path, _, fragment = entry.doc.partition("#")
        target = ROOT / path
        if not target.is_file():
            broken.append(f"{code}: {path} does not exist")
            continue
        text = target.read_text(encoding="utf-8")
        slugs = {_github_slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}
        slugs |= set(re.findall(r'<a id="([^"]+)"', text))
        if fragment and fragment not in slugs:
            broken.append(f"{code}: no section #{fragment} in {path}")
    assert not broken, broken


def test_reports_describe_a_code_by_its_catalogue_meaning():
    entry = finding_codes()["XPT-VALUE-LEN"]
    assert code_description("XPT-VALUE-LEN") == entry.meaning
    assert code_description("DPN-DM-001") == ""      # rules describe themselves (validation/rules.yaml)


@pytest.mark.parametrize("text, problem", [
    ("A-B: {stage: read, severity: error, meaning: m, fix: f, colour: red}", "unknown key(s) colour"),
    ("A-B: {stage: read, severity: error, meaning: m}", "missing fix"),
    ("A-B: {stage: reading, severity: error, meaning: m, fix: f}", "stage 'reading'"),
    ("A-B: {stage: read, severity: fatal, meaning: m, fix: f}", "severity 'fatal'"),
    ("a-b: {stage: read, severity: error, meaning: m, fix: f}", "a-b: not a finding code"),
])
def test_malformed_catalogue_entries_are_refused(text, problem):
    with pytest.raises(CatalogueError, match=re.escape(problem)):
        parse_finding_codes(load_catalogue_yaml(text), "test")


def test_a_code_given_twice_is_refused():
    text = "A-B: {stage: read, severity: error, meaning: m, fix: f}\nA-B: {stage: map, severity: error, meaning: n, fix: g}\n"
    with pytest.raises(CatalogueError, match="line 1: key\\(s\\) given twice: A-B"):
        load_catalogue_yaml(text)


def test_findings_doc_command_writes_and_checks_the_page(tmp_path, capsys):
    from cdisc_dpn.findings_doc import main

    page = tmp_path / "findings.md"
    page.write_text("# stale\n", encoding="utf-8")
    assert main(["--check", str(page)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main([str(page)]) == 0
    assert page.read_text(encoding="utf-8") == render_findings_doc()
    assert main(["--check", str(page)]) == 0
    assert main(["--bogus"]) == 2
