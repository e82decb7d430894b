"""Load a mappings/ folder into a typed Specs object, collecting every problem with its line.

Order: parse YAML safely -> check structure against the JSON Schema -> build the model ->
run the semantic checks (spec.checks). Problems are collected and raised together as a
SpecError, so a data manager sees all of them in one run.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Callable, Mapping

from cdisc_dpn.errors import Finding, Severity, SpecError
from cdisc_dpn.spec.model import (
    AlgorithmCall, ArmSpec, CodelistTerm, CriterionSpec, DatasetSpec, DerivedRecordsSpec,
    DocumentSpec, ElementSpec, FilterSpec, FormSpec, JoinSpec, OriginSpec, SourceSpec,
    SpecLocation, Specs, SponsorCodelist, StackMember, StudySpec, StudyTerminology,
    PlausibleRange, SuppQualifierSpec, TrialSummaryParam, UnitConversion, UnpivotItem, UnpivotSpec,
    ValueLevelSpec, VariableSpec, VisitSpec, WhereCondition,
)
from cdisc_dpn.spec.yamlsafe import LineDict, LineList, YamlProblem, load_yaml_with_lines

STUDY_FILE = "study.yaml"


class _Collector:
    """Collects spec findings for one file."""

    def __init__(self, file: str, findings: list[Finding]):
        self.file = file
        self.findings = findings

    def loc(self, node: Any, key: str | None = None) -> SpecLocation:
        line = None
        if isinstance(node, LineDict):
            line = node.line_of(key) if key else node.line
        elif isinstance(node, LineList):
            line = node.line
        return SpecLocation(self.file, line)

    def error(self, code: str, message: str, node: Any = None, key: str | None = None,
              fix: str | None = None, severity: Severity = Severity.ERROR) -> None:
        loc = self.loc(node, key)
        self.findings.append(Finding(code=code, severity=severity, message=message, stage="spec",
                                     file=self.file, spec_line=loc.line, fix=fix))

    def req(self, node: LineDict, key: str, what: str) -> Any:
        if not isinstance(node, dict) or key not in node or node[key] in (None, ""):
            self.error("SPEC-MISSING-KEY", f"{what}: required key '{key}' is missing", node,
                       fix=f"add '{key}:'")
            return None
        return node[key]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)


def _tuple(value: Any) -> tuple:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return (str(value),)


def _origin(value: Any) -> OriginSpec:
    if isinstance(value, dict):
        return OriginSpec(type=str(value.get("type", "")), source=_text(value.get("source")),
                          predecessor=_text(value.get("predecessor")), pages=_text(value.get("pages")))
    return OriginSpec(type=str(value or ""))


def _algorithm(node: Any, params: Any, c: _Collector, where_node: Any, key: str) -> AlgorithmCall:
    """`algorithm: name` with optional `params:`; or `algorithm: {name: x, ...params}`."""
    loc = c.loc(where_node, key)
    if isinstance(node, dict):
        return AlgorithmCall(name=str(node.get("name", "")), params=_params(node, drop="name"), where=loc)
    return AlgorithmCall(name=str(node or ""), params=_params(params or {}), where=loc)


def _params(node: Any, drop: str | None = None) -> dict:
    """The parameters as a mapping that keeps the line of each key (SPEC-ALGORITHM-PARAM points at it)."""
    out = LineDict((k, v) for k, v in node.items() if k != drop)
    out.line = getattr(node, "line", 0)
    out.key_lines = {k: node.line_of(k) for k in out} if isinstance(node, LineDict) else {}
    return out


# --------------------------------------------------------------------------- study.yaml
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def _delimiter(value: Any) -> str:
    text = str(value)
    return _DELIMITER_NAMES.get(text.lower(), text)


def _code(value: Any) -> str:
    """A user-format code as the reader sees it: 1 and 1.0 are the same code "1"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text.split(".")[0] if re.fullmatch(r"-?\d+\.0+", text) else text


def _value_formats(node: Any) -> dict[str, dict[str, str]]:
    """SAS user formats by name as the reader sees it: "$NYF." and "nyf" are both NYF."""
    return {str(k).rstrip(".").lstrip("$").upper(): {_code(a): str(b) for a, b in (v or {}).items()}
            for k, v in (node or {}).items()}


def _header_row(form: LineDict, c: _Collector) -> int:
    """`header_row: N` (1-based) or `skip_rows: N` (lines above the header); both must agree."""
    header = form.get("header_row")
    skip = form.get("skip_rows")
    if header is not None and skip is not None and int(header) != int(skip) + 1:
        c.error("SPEC-FORM-HEADER", f"form {form.get('name')!r}: header_row {header} and skip_rows {skip} "
                "disagree (header_row = skip_rows + 1)", form, "header_row", fix="give only one of them")
    if header is not None:
        return int(header)
    return int(skip) + 1 if skip is not None else 1


def _build_study(doc: LineDict, c: _Collector) -> StudySpec:
    study = doc.get("study") or LineDict()
    forms = []
    for f in doc.get("forms") or []:
        forms.append(FormSpec(
            name=str(c.req(f, "name", "form")), file=str(c.req(f, "file", "form")),
            format=str(f.get("format") or Path(str(f.get("file", ""))).suffix.lstrip(".")).lower(),
            encoding=str(f.get("encoding", "utf-8-sig")), sheet=_text(f.get("sheet")),
            subject_column=_text(f.get("subject_column")),
            required_columns=_tuple(f.get("required_columns")),
            exclude_reason=_text(f.get("exclude_reason")), label=str(f.get("label", "")),
            columns={str(k): str(v) for k, v in (f.get("columns") or {}).items()},
            delimiter=_delimiter(f.get("delimiter", ",")),
            header_row=_header_row(f, c), numbers=str(f.get("numbers", "formatted")),
            format_catalog=_text(f.get("format_catalog")),
            value_formats=_value_formats(f.get("value_formats")),
            form_oid=_text(f.get("form_oid")), item_groups=_tuple(f.get("item_groups")),
            where=c.loc(f)))
    arms = [ArmSpec(armcd=str(c.req(a, "armcd", "arm")), arm=str(c.req(a, "arm", "arm")),
                    elements=_tuple(a.get("elements")), branch=_text(a.get("branch")),
                    type=_text(a.get("type")), where=c.loc(a))
            for a in doc.get("arms") or []]
    elements = [ElementSpec(etcd=str(c.req(e, "etcd", "element")),
                            element=str(c.req(e, "element", "element")),
                            epoch=str(c.req(e, "epoch", "element")),
                            testrl=str(c.req(e, "testrl", "element")),
                            tenrl=_text(e.get("tenrl")), tedur=_text(e.get("tedur")), where=c.loc(e))
                for e in doc.get("elements") or []]
    visits = []
    for v in doc.get("visits") or []:
        window = v.get("window") or {}
        visits.append(VisitSpec(
            visitnum=float(c.req(v, "visitnum", "visit") or 0), visit=str(c.req(v, "visit", "visit")),
            visitdy=None if v.get("visitdy") is None else int(v["visitdy"]),
            window_before=int(window.get("before", 0)), window_after=int(window.get("after", 0)),
            labels=_tuple(v.get("labels")), epoch=_text(v.get("epoch")), arms=_tuple(v.get("arms")),
            start_rule=_text(v.get("start_rule")), end_rule=_text(v.get("end_rule")), where=c.loc(v)))
    ts = [TrialSummaryParam(parmcd=str(c.req(t, "parmcd", "trial summary parameter")),
                            parm=_text(t.get("parm")), value=str(t.get("value", "")),
                            valcd=_text(t.get("valcd")), vcdref=_text(t.get("vcdref")),
                            vcdver=_text(t.get("vcdver")), grpid=_text(t.get("grpid")), where=c.loc(t))
          for t in doc.get("trial_summary") or []]
    criteria = [CriterionSpec(ietestcd=str(c.req(i, "ietestcd", "criterion")),
                              ietest=str(c.req(i, "ietest", "criterion")),
                              iecat=str(c.req(i, "iecat", "criterion")),
                              iescat=_text(i.get("iescat")), tirl=_text(i.get("tirl")), where=c.loc(i))
                for i in doc.get("criteria") or []]
    documents = [DocumentSpec(id=str(c.req(d, "id", "document")), title=str(c.req(d, "title", "document")),
                              href=str(c.req(d, "href", "document")),
                              kind=str(d.get("kind", "SupplementalDoc")), where=c.loc(d))
                 for d in doc.get("documents") or []]
    return StudySpec(
        studyid=str(c.req(study, "studyid", "study")), study_name=str(study.get("name", "")),
        description=str(study.get("description", "")), protocol_name=str(study.get("protocol_name", "")),
        sponsor=str(study.get("sponsor", "")),
        standards={k: str(v) for k, v in (doc.get("standards") or {}).items()},
        forms=tuple(forms), arms=tuple(arms), elements=tuple(elements), visits=tuple(visits),
        trial_summary=tuple(ts), criteria=tuple(criteria), documents=tuple(documents),
        subject=dict(doc.get("subject") or {}), date_formats=_tuple(doc.get("date_formats")),
        transliteration={str(k): str(v) for k, v in (doc.get("transliteration") or {}).items()},
        define=doc.get("define") or {},          # a LineDict: spec check points at its keys' lines
        validation={k: dict(v) if isinstance(v, dict) else v for k, v in (doc.get("validation") or {}).items()},
        where=c.loc(doc))


# --------------------------------------------------------------------------- domain files
def _filters(nodes: Any, c: _Collector) -> tuple[FilterSpec, ...]:
    return tuple(FilterSpec(column=str(c.req(f, "column", "filter")), op=str(c.req(f, "op", "filter")),
                            values=_tuple(f.get("values", f.get("value"))), reason=str(f.get("reason", "")),
                            where=c.loc(f))
                 for f in nodes or [])


def _source(node: Any, c: _Collector) -> SourceSpec:
    if not isinstance(node, dict):
        c.error("SPEC-MISSING-KEY", "dataset: required key 'source' is missing")
        return SourceSpec()
    joins = []
    for j in node.get("join") or []:
        on = j.get("on") or {}
        if isinstance(on, (list, tuple)):
            on = {str(k): str(k) for k in on}
        joins.append(JoinSpec(form=str(c.req(j, "form", "join")), on={str(k): str(v) for k, v in on.items()},
                              how=str(j.get("how", "left")), first=bool(j.get("first", False)), where=c.loc(j)))
    stack = [StackMember(form=str(c.req(s, "form", "stack member")),
                         columns={str(k): str(v) for k, v in (s.get("columns") or {}).items()},
                         constants={str(k): str(v) for k, v in (s.get("constants") or {}).items()},
                         filters=_filters(s.get("filter"), c), where=c.loc(s))
             for s in node.get("stack") or []]
    unpivot = None
    if node.get("unpivot"):
        u = node["unpivot"]
        items = tuple(UnpivotItem(constants={str(k): str(v) for k, v in (i.get("constants") or {}).items()},
                                  columns={str(k): str(v) for k, v in (i.get("columns") or {}).items()})
                      for i in u.get("items") or [])
        unpivot = UnpivotSpec(items=items, keep_if_any=_tuple(u.get("keep_if_any")),
                              reason=str(u.get("reason", "item not collected")), where=c.loc(u))
    generator = None
    if node.get("generate"):
        generator = _algorithm(node["generate"], None, c, node, "generate")
    return SourceSpec(form=_text(node.get("form")), stack=tuple(stack), joins=tuple(joins),
                      filters=_filters(node.get("filter"), c), unpivot=unpivot, generator=generator,
                      where=c.loc(node))


def _variables(nodes: Any, c: _Collector) -> tuple[VariableSpec, ...]:
    out = []
    for i, v in enumerate(nodes or [], start=1):
        if not isinstance(v, dict):
            c.error("SPEC-TYPE", f"variable #{i}: expected a mapping, found {type(v).__name__}", nodes)
            continue
        length = v.get("length")
        out.append(VariableSpec(
            name=str(c.req(v, "name", f"variable #{i}")), label=str(v.get("label", "")),
            type=str(v.get("type", "Char")), order=int(v.get("order", i)), core=str(v.get("core", "Perm")),
            origin=_origin(v.get("origin")),
            algorithm=_algorithm(v.get("algorithm"), v.get("params"), c, v, "algorithm"),
            length=None if length in (None, "auto", "longest") else int(length),
            data_type=_text(v.get("data_type")), codelist=_text(v.get("codelist")), role=_text(v.get("role")),
            method=_text(v.get("method")), comment=_text(v.get("comment")),
            significant_digits=None if v.get("significant_digits") is None else int(v["significant_digits"]),
            sponsor_defined=bool(v.get("sponsor_defined", False)), long_text=_text(v.get("long_text")),
            where=c.loc(v)))
    return tuple(out)


def _where_clause(node: Any) -> tuple[WhereCondition, ...]:
    conds = []
    for var, val in (node or {}).items():
        if isinstance(val, dict):
            conds.append(WhereCondition(str(var), str(val.get("comparator", "IN")), _tuple(val.get("values"))))
        else:
            values = _tuple(val)
            conds.append(WhereCondition(str(var), "EQ" if len(values) == 1 else "IN", values))
    return tuple(conds)


def _value_level(nodes: Any, c: _Collector) -> tuple[ValueLevelSpec, ...]:
    out = []
    for v in nodes or []:
        out.append(ValueLevelSpec(
            variable=str(c.req(v, "variable", "value_level")), where_clause=_where_clause(v.get("where")),
            data_type=str(v.get("data_type", "text")),
            length=None if v.get("length") is None else int(v["length"]), codelist=_text(v.get("codelist")),
            origin=_origin(v["origin"]) if v.get("origin") else None, unit=_text(v.get("unit")),
            significant_digits=None if v.get("significant_digits") is None else int(v["significant_digits"]),
            method=_text(v.get("method")), comment=_text(v.get("comment")),
            mandatory=bool(v.get("mandatory", False)), where=c.loc(v)))
    return tuple(out)


def _supplemental(nodes: Any, c: _Collector) -> tuple[SuppQualifierSpec, ...]:
    return tuple(SuppQualifierSpec(
        qnam=str(c.req(q, "qnam", "supplemental qualifier")), qlabel=str(c.req(q, "qlabel", "supplemental qualifier")),
        algorithm=_algorithm(q.get("algorithm"), q.get("params"), c, q, "algorithm"),
        origin=_origin(q.get("origin")), idvar=_text(q.get("idvar")), qeval=_text(q.get("qeval")),
        codelist=_text(q.get("codelist")), data_type=str(q.get("data_type", "text")),
        method=_text(q.get("method")), comment=_text(q.get("comment")), where=c.loc(q))
        for q in nodes or [])


def _build_dataset(doc: LineDict, c: _Collector) -> DatasetSpec | None:
    ds = doc.get("dataset")
    if not isinstance(ds, dict):
        c.error("SPEC-MISSING-KEY", "required section 'dataset:' is missing", doc)
        return None
    name = str(c.req(ds, "name", "dataset")).upper()
    keys = _tuple(ds.get("keys"))
    return DatasetSpec(
        name=name, label=str(c.req(ds, "label", "dataset")), domain=str(ds.get("domain", name)).upper(),
        dataset_class=str(ds.get("class", "")).upper(), structure=str(ds.get("structure", "")),
        keys=keys, sort=_tuple(ds.get("sort")) or keys, source=_source(doc.get("source"), c),
        variables=_variables(doc.get("variables"), c), value_level=_value_level(doc.get("value_level"), c),
        supplemental=_supplemental(doc.get("supplemental"), c),
        derived_records=tuple(DerivedRecordsSpec(algorithm=_algorithm(d.get("algorithm"), d.get("params"), c, d,
                                                                       "algorithm"), where=c.loc(d))
                              for d in doc.get("derived_records") or []),
        subclass=_text(ds.get("subclass")), repeating=bool(ds.get("repeating", True)),
        reference_data=bool(ds.get("reference_data", False)), comment=_text(ds.get("comment")),
        file=c.file, where=c.loc(ds))


# --------------------------------------------------------------------------- terminology files
def _build_terminology(doc: LineDict | None, units: LineDict | None, c_term: _Collector,
                       c_units: _Collector) -> StudyTerminology:
    doc = doc or LineDict()
    codelists = []
    for cl in doc.get("codelists") or []:
        terms = []
        for t in cl.get("terms") or []:
            if isinstance(t, dict):
                terms.append(CodelistTerm(value=str(c_term.req(t, "value", "term")), decode=_text(t.get("decode")),
                                          code=_text(t.get("code")), extended=bool(t.get("extended", True)),
                                          synonyms=_tuple(t.get("synonyms"))))
            else:
                terms.append(CodelistTerm(value=str(t), extended=True))
        codelists.append(SponsorCodelist(id=str(c_term.req(cl, "id", "codelist")), name=str(cl.get("name", "")),
                                         terms=tuple(terms), extends=_text(cl.get("extends")),
                                         data_type=str(cl.get("data_type", "text")), where=c_term.loc(cl)))
    collected_doc = doc.get("collected_values") or {}
    collected = {str(k): {str(a): str(b) for a, b in (v or {}).items()} for k, v in collected_doc.items()}
    collected_where = {str(k): {str(a): c_term.loc(v, a) if isinstance(v, LineDict) else c_term.loc(collected_doc, k)
                                for a in (v or {})}
                       for k, v in collected_doc.items()}
    units = units or LineDict()
    conversions = tuple(UnitConversion(testcd=str(c_units.req(u, "testcd", "conversion")),
                                       from_unit=str(c_units.req(u, "from", "conversion")),
                                       to_unit=str(c_units.req(u, "to", "conversion")),
                                       factor=float(u.get("factor", 1.0)),
                                       molecular_weight=None if u.get("molecular_weight") is None
                                       else float(u["molecular_weight"]),
                                       offset=float(u.get("offset", 0.0)), where=c_units.loc(u))
                        for u in units.get("conversions") or [])
    std = {str(k): str(v) for k, v in (units.get("standard_units") or {}).items()}
    ranges = tuple(PlausibleRange(testcd=str(c_units.req(r, "testcd", "plausible range")),
                                  unit=str(c_units.req(r, "unit", "plausible range")),
                                  low=None if r.get("low") is None else float(r["low"]),
                                  high=None if r.get("high") is None else float(r["high"]),
                                  domain=_text(r.get("domain")), where=c_units.loc(r))
                   for r in units.get("plausible_ranges") or [])
    return StudyTerminology(codelists=tuple(codelists), collected_values=collected,
                            unit_conversions=conversions, standard_units=std, collected_where=collected_where,
                            plausible_ranges=ranges)


# --------------------------------------------------------------------------- entry point
SemanticCheck = Callable[[Specs], list[Finding]]


def _parse(path: Path, rel: str, findings: list[Finding]) -> Any:
    try:
        return load_yaml_with_lines(path)
    except YamlProblem as exc:
        findings.append(Finding("SPEC-YAML", Severity.ERROR, f"cannot parse YAML: {exc}", stage="spec",
                                file=rel, spec_line=exc.line, fix="fix the YAML syntax at that line"))
    except OSError as exc:
        findings.append(Finding("SPEC-FILE", Severity.ERROR, f"cannot read spec file: {exc.strerror}",
                                stage="spec", file=rel, fix="check the path listed in study.yaml"))
    return None


def _checksum(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for p in sorted(paths):
        if p.is_file():
            digest.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return digest.hexdigest()


def load_specs(root: Path | str, *, semantic_checks: bool = True,
               algorithms: Mapping[str, object] | None = None) -> tuple[Specs, list[Finding]]:
    """Load and check a mappings/ folder; raise SpecError listing every error found.

    `algorithms` is the algorithm catalogue (derive.catalogue.known_algorithms()); without it the
    algorithm names and parameters are not checked (a notice says so)."""
    root = Path(root)
    findings: list[Finding] = []
    study_path = root / STUDY_FILE
    if not study_path.is_file():
        raise SpecError(f"no {STUDY_FILE} in {root}", [Finding(
            "SPEC-FILE", Severity.ERROR, f"{STUDY_FILE} not found", stage="spec", file=str(study_path),
            fix="point --study at a folder holding study.yaml and the domain specs")])
    docs: dict[str, Any] = {}
    study_doc = _parse(study_path, STUDY_FILE, findings)
    if not isinstance(study_doc, dict):
        if study_doc is not None:
            findings.append(Finding("SPEC-TYPE", Severity.ERROR, "study.yaml must be a mapping", stage="spec",
                                    file=STUDY_FILE))
        raise SpecError("the study spec cannot be used", findings)
    docs[STUDY_FILE] = study_doc
    files = study_doc.get("files") or LineDict()
    dataset_files = [str(f) for f in (study_doc.get("datasets") or [])]
    term_file = files.get("terminology")
    units_file = files.get("units")
    used_paths = [study_path]
    for rel in dataset_files + [f for f in (term_file, units_file) if f]:
        path = root / rel
        if not path.resolve().is_relative_to(root.resolve()):
            findings.append(Finding("SPEC-FILE", Severity.ERROR, f"spec file {rel!r} is outside {root}",
                                    stage="spec", file=STUDY_FILE))
            continue
        used_paths.append(path)
        doc = _parse(path, rel, findings)
        if doc is not None:
            docs[rel] = doc

    from cdisc_dpn.spec.schema import check_structure  # structural JSON Schema checks
    for rel, doc in docs.items():
        kind = "study" if rel == STUDY_FILE else "terminology" if rel == term_file else \
            "units" if rel == units_file else "dataset"
        findings.extend(check_structure(doc, kind, rel))
    if any(f.severity is Severity.ERROR for f in findings):
        raise SpecError("the mapping specs have errors", findings)

    study = _build_study(study_doc, _Collector(STUDY_FILE, findings))
    datasets = []
    for rel in dataset_files:
        if rel in docs:
            ds = _build_dataset(docs[rel], _Collector(rel, findings))
            if ds is not None:
                datasets.append(ds)
    terminology = _build_terminology(docs.get(term_file), docs.get(units_file),
                                     _Collector(str(term_file), findings), _Collector(str(units_file), findings))
    specs = Specs(root=str(root), study=study, datasets=tuple(datasets), terminology=terminology,
                  checksum=_checksum(used_paths))
    if semantic_checks and not any(f.severity is Severity.ERROR for f in findings):
        from cdisc_dpn.spec.checks import check_specs
        findings.extend(check_specs(specs, algorithms))
    if any(f.severity is Severity.ERROR for f in findings):
        raise SpecError("the mapping specs have errors", findings)
    return specs, findings
