"""Pinnacle 21-style specification workbook: export a mappings/ folder to .xlsx and import it back.

The workbook is a view of the YAML specs that a reviewer or data manager can edit in Excel:
  Study         study-level attributes (study:, standards:, files:, subject:, define:, ...)
  Datasets      one row per dataset (dataset: section of each dataset file, and its file name)
  Variables     one row per variable (algorithm name + parameters as canonical JSON)
  ValueLevel    value-level metadata; Where Clause column holds an ID of the WhereClauses sheet
  WhereClauses  one row per condition of a where clause
  Codelists     sponsor codelists (Source=Sponsor), collected-value maps (Source=Collected) and, for
                reviewers only, the CDISC terms of the codelists the specs use (Source=CT, not imported)
  Methods       method texts referenced by ID from Variables/ValueLevel/SuppQualifiers
  Comments      comment texts referenced by ID from Datasets/Variables/ValueLevel/SuppQualifiers
  Documents     study documents (aCRF, supplemental documents)
  Sources       how each dataset's rows are built: form, join, stack, filter, unpivot, generate
  SuppQualifiers, DerivedRecords, Forms, Arms, Elements, Visits, TrialSummary, Criteria, Units,
  Plausibility (optional: plausible result ranges per test code and unit)

Export goes model -> YAML-shaped documents -> rows; import goes rows -> documents -> YAML, so that
export -> import -> load gives an equal model and re-exporting gives the same bytes. Text a
spreadsheet would take for a formula (cdisc_dpn.xlsx.looks_like_formula), text starting with a quote,
and an empty text (not the same as no value, written as a lone ') are prefixed with ' on export and
restored on import.
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from cdisc_dpn.atomic import write_atomic
from cdisc_dpn.errors import Finding, Severity, SpecError
from cdisc_dpn.spec.model import (
    AlgorithmCall, DatasetSpec, OriginSpec, Specs, StudyTerminology, ValueLevelSpec,
)
from cdisc_dpn.spec.yamlsafe import LineDict, LineList
from cdisc_dpn.xlsx import looks_like_formula, new_workbook, workbook_bytes


# =========================================================================== cell codecs
def neutralise(value: Any) -> Any:
    """Text a spreadsheet could take for a formula gets a leading quote (reversible).

    An empty text (which differs from no value, e.g. `idvar: ""`) is written as a lone quote.
    """
    if isinstance(value, str) and (value == "" or value.startswith("'") or looks_like_formula(value)):
        return "'" + value
    return value


def restore(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("'"):
        return value[1:]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, _dt.date):
        return {"$date": value.isoformat()}
    raise TypeError(f"cannot store {type(value).__name__} in the workbook")


def _json_hook(obj: dict) -> Any:
    if len(obj) == 1 and "$date" in obj:
        return _dt.date.fromisoformat(obj["$date"])
    if len(obj) == 1 and "$datetime" in obj:
        return _dt.datetime.fromisoformat(obj["$datetime"])
    return obj


def to_json(value: Any) -> str:
    """Canonical JSON (sorted keys, no blanks) for nested values such as algorithm parameters."""
    return json.dumps(_plain(value), sort_keys=True, ensure_ascii=False, separators=(", ", ": "),
                      default=_json_default)


def from_json(text: str) -> Any:
    return json.loads(text, object_hook=_json_hook)


def _list_cell(values: Iterable[str]) -> str:
    """Names joined by ", "; JSON when a value would not survive the split."""
    values = [str(v) for v in values]
    if not values or any("," in v or v != v.strip() or v == "" for v in values) or values[0].startswith("["):
        return to_json(values)
    return ", ".join(values)


def _list_value(cell: Any) -> list[str]:
    text = str(cell)
    if text.startswith("["):
        return [str(v) for v in from_json(text)]
    return [v.strip() for v in text.split(",")]


def _plain(value: Any) -> Any:
    """LineDict/LineList/tuples -> plain dict/list (yaml.safe_dump and json need exact types)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Col:
    header: str
    key: str | None           # dotted key in the YAML-shaped record; None = shown on export only
    kind: str = "text"        # text | int | float | bool | list | json
    width: int | None = None


def _get(record: dict, key: str) -> Any:
    node: Any = record
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set(record: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    node = record
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _encode(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "json":
        return to_json(value)
    if kind == "list":
        return _list_cell(value if isinstance(value, (list, tuple)) else [value])
    if kind == "bool":
        return "Yes" if value else "No"
    if kind in ("int", "float"):
        return value
    return str(value)


class _BadCell(Exception):
    pass


def _decode(cell: Any, kind: str) -> Any:
    try:
        if kind == "json":
            return from_json(str(cell))
        if kind == "list":
            return _list_value(cell)
        if kind == "bool":
            text = str(cell).strip().lower()
            if text not in ("yes", "no", "true", "false", "y", "n"):
                raise ValueError(f"expected Yes or No, found {cell!r}")
            return text in ("yes", "true", "y")
        if kind == "int":
            number = float(cell)
            if number != int(number):
                raise ValueError(f"expected a whole number, found {cell!r}")
            return int(number)
        if kind == "float":
            number = float(cell)
            return int(number) if number.is_integer() and not isinstance(cell, float) else number
        return str(cell)
    except (ValueError, TypeError) as exc:
        raise _BadCell(str(exc)) from None


def _row_of(record: dict, cols: tuple[Col, ...], extra: dict | None = None) -> list[Any]:
    extra = extra or {}
    return [extra[c.header] if c.header in extra else _encode(_get(record, c.key), c.kind) if c.key else None
            for c in cols]


# =========================================================================== model -> YAML documents
def _put(doc: dict, key: str, value: Any, default: Any = None) -> None:
    if value is not None and value != default and value not in ((), [], {}):
        doc[key] = _plain(value)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _origin_doc(origin: OriginSpec) -> Any:
    if origin.source is None and origin.predecessor is None and origin.pages is None:
        return origin.type
    doc: dict = {"type": origin.type}
    _put(doc, "source", origin.source)
    _put(doc, "predecessor", origin.predecessor)
    _put(doc, "pages", origin.pages)
    return doc


def _algorithm_doc(doc: dict, call: AlgorithmCall) -> None:
    doc["algorithm"] = call.name
    _put(doc, "params", dict(call.params))


def study_document(specs: Specs, files: dict[str, str]) -> dict:
    s = specs.study
    doc: dict = {"study": {"studyid": s.studyid}}
    for key, value in (("name", s.study_name), ("description", s.description),
                       ("protocol_name", s.protocol_name), ("sponsor", s.sponsor)):
        _put(doc["study"], key, value, "")
    _put(doc, "standards", dict(s.standards))
    _put(doc, "files", dict(files))
    forms = []
    for f in s.forms:
        fd = {"name": f.name, "file": f.file}
        if f.format != Path(f.file).suffix.lstrip(".").lower():
            fd["format"] = f.format
        _put(fd, "encoding", f.encoding, "utf-8-sig")
        _put(fd, "sheet", f.sheet)
        _put(fd, "subject_column", f.subject_column)
        _put(fd, "required_columns", list(f.required_columns))
        _put(fd, "exclude_reason", f.exclude_reason)
        _put(fd, "label", f.label, "")
        _put(fd, "columns", dict(f.columns))
        _put(fd, "delimiter", {"\t": "tab"}.get(f.delimiter, f.delimiter), ",")
        _put(fd, "header_row", f.header_row, 1)
        _put(fd, "numbers", f.numbers, "formatted")
        _put(fd, "format_catalog", f.format_catalog)
        _put(fd, "value_formats", {k: dict(v) for k, v in f.value_formats.items()})
        _put(fd, "form_oid", f.form_oid)
        _put(fd, "item_groups", list(f.item_groups))
        forms.append(fd)
    doc["forms"] = forms
    _put(doc, "subject", dict(s.subject))
    arms = []
    for a in s.arms:
        ad = {"armcd": a.armcd, "arm": a.arm, "elements": list(a.elements)}
        _put(ad, "branch", a.branch)
        _put(ad, "type", a.type)
        arms.append(ad)
    _put(doc, "arms", arms)
    elements = []
    for e in s.elements:
        ed = {"etcd": e.etcd, "element": e.element, "epoch": e.epoch, "testrl": e.testrl}
        _put(ed, "tenrl", e.tenrl)
        _put(ed, "tedur", e.tedur)
        elements.append(ed)
    _put(doc, "elements", elements)
    visits = []
    for v in s.visits:
        vd: dict = {"visitnum": _number(v.visitnum), "visit": v.visit}
        if v.visitdy is not None:
            vd["visitdy"] = v.visitdy
        window: dict = {}
        _put(window, "before", v.window_before, 0)
        _put(window, "after", v.window_after, 0)
        _put(vd, "window", window)
        _put(vd, "labels", list(v.labels))
        _put(vd, "epoch", v.epoch)
        _put(vd, "arms", list(v.arms))
        _put(vd, "start_rule", v.start_rule)
        _put(vd, "end_rule", v.end_rule)
        visits.append(vd)
    _put(doc, "visits", visits)
    ts = []
    for t in s.trial_summary:
        td: dict = {"parmcd": t.parmcd}
        _put(td, "parm", t.parm)
        td["value"] = t.value
        for key in ("valcd", "vcdref", "vcdver", "grpid"):
            _put(td, key, getattr(t, key))
        ts.append(td)
    _put(doc, "trial_summary", ts)
    criteria = []
    for c in s.criteria:
        cd = {"ietestcd": c.ietestcd, "ietest": c.ietest, "iecat": c.iecat}
        _put(cd, "iescat", c.iescat)
        _put(cd, "tirl", c.tirl)
        criteria.append(cd)
    _put(doc, "criteria", criteria)
    _put(doc, "documents", [{"id": d.id, "title": d.title, "href": d.href, "kind": d.kind} for d in s.documents])
    _put(doc, "date_formats", list(s.date_formats))
    _put(doc, "transliteration", dict(s.transliteration))
    _put(doc, "define", dict(s.define))
    _put(doc, "validation", dict(s.validation))
    doc["datasets"] = [ds.file for ds in specs.datasets]
    return doc


def _filter_doc(f) -> dict:
    fd: dict = {"column": f.column, "op": f.op}
    _put(fd, "values", list(f.values))
    _put(fd, "reason", f.reason, "")
    return fd


def _source_doc(src) -> dict:
    doc: dict = {}
    _put(doc, "form", src.form)
    joins = []
    for j in src.joins:
        jd: dict = {"form": j.form, "on": dict(j.on)}
        _put(jd, "how", j.how, "left")
        _put(jd, "first", j.first, False)
        joins.append(jd)
    _put(doc, "join", joins)
    stack = []
    for m in src.stack:
        md: dict = {"form": m.form}
        _put(md, "columns", dict(m.columns))
        _put(md, "constants", dict(m.constants))
        _put(md, "filter", [_filter_doc(f) for f in m.filters])
        stack.append(md)
    _put(doc, "stack", stack)
    _put(doc, "filter", [_filter_doc(f) for f in src.filters])
    if src.unpivot is not None:
        items = []
        for item in src.unpivot.items:
            idoc: dict = {}
            _put(idoc, "constants", dict(item.constants))
            idoc["columns"] = dict(item.columns)
            items.append(idoc)
        ud: dict = {"items": items}
        _put(ud, "keep_if_any", list(src.unpivot.keep_if_any))
        _put(ud, "reason", src.unpivot.reason, "item not collected")
        doc["unpivot"] = ud
    if src.generator is not None:
        params = dict(src.generator.params)
        doc["generate"] = {"name": src.generator.name, **_plain(params)} if params else src.generator.name
    return doc


def _where_doc(vl: ValueLevelSpec) -> dict:
    doc: dict = {}
    for cond in vl.where_clause:
        if cond.comparator == "EQ" and len(cond.values) == 1:
            doc[cond.variable] = cond.values[0]
        elif cond.comparator == "IN" and len(cond.values) != 1:
            doc[cond.variable] = list(cond.values)
        else:
            doc[cond.variable] = {"comparator": cond.comparator, "values": list(cond.values)}
    return doc


def dataset_document(ds: DatasetSpec) -> dict:
    head: dict = {"name": ds.name, "label": ds.label}
    _put(head, "domain", ds.domain, ds.name)
    head["class"] = ds.dataset_class
    _put(head, "subclass", ds.subclass)
    head["structure"] = ds.structure
    head["keys"] = list(ds.keys)
    _put(head, "sort", list(ds.sort), list(ds.keys))
    _put(head, "repeating", ds.repeating, True)
    _put(head, "reference_data", ds.reference_data, False)
    _put(head, "comment", ds.comment)
    doc: dict = {"dataset": head, "source": _source_doc(ds.source), "variables": []}
    for v in ds.variables:
        vd: dict = {"name": v.name, "label": v.label, "type": v.type, "order": v.order, "core": v.core}
        _put(vd, "length", v.length)
        _put(vd, "data_type", v.data_type)
        _put(vd, "significant_digits", v.significant_digits)
        _put(vd, "codelist", v.codelist)
        _put(vd, "role", v.role)
        vd["origin"] = _origin_doc(v.origin)
        _algorithm_doc(vd, v.algorithm)
        _put(vd, "method", v.method)
        _put(vd, "comment", v.comment)
        _put(vd, "sponsor_defined", v.sponsor_defined, False)
        _put(vd, "long_text", v.long_text)
        doc["variables"].append(vd)
    vlm = []
    for vl in ds.value_level:
        vd = {"variable": vl.variable, "where": _where_doc(vl), "data_type": vl.data_type}
        _put(vd, "length", vl.length)
        _put(vd, "significant_digits", vl.significant_digits)
        _put(vd, "codelist", vl.codelist)
        if vl.origin is not None:
            vd["origin"] = _origin_doc(vl.origin)
        _put(vd, "unit", vl.unit)
        _put(vd, "method", vl.method)
        _put(vd, "comment", vl.comment)
        _put(vd, "mandatory", vl.mandatory, False)
        vlm.append(vd)
    _put(doc, "value_level", vlm)
    supp = []
    for q in ds.supplemental:
        qd: dict = {"qnam": q.qnam, "qlabel": q.qlabel}
        _put(qd, "idvar", q.idvar)
        _put(qd, "qeval", q.qeval)
        _put(qd, "codelist", q.codelist)
        _put(qd, "data_type", q.data_type, "text")
        qd["origin"] = _origin_doc(q.origin)
        _algorithm_doc(qd, q.algorithm)
        _put(qd, "method", q.method)
        _put(qd, "comment", q.comment)
        supp.append(qd)
    _put(doc, "supplemental", supp)
    derived = []
    for d in ds.derived_records:
        dd: dict = {}
        _algorithm_doc(dd, d.algorithm)
        derived.append(dd)
    _put(doc, "derived_records", derived)
    return doc


def terminology_document(term: StudyTerminology) -> dict:
    codelists = []
    for cl in term.codelists:
        cd: dict = {"id": cl.id, "name": cl.name}
        _put(cd, "extends", cl.extends)
        _put(cd, "data_type", cl.data_type, "text")
        terms: list = []
        for t in cl.terms:
            if t.decode is None and t.code is None and t.extended and not t.synonyms:
                terms.append(t.value)
                continue
            td: dict = {"value": t.value}
            _put(td, "decode", t.decode)
            _put(td, "code", t.code)
            _put(td, "extended", t.extended, True)
            _put(td, "synonyms", list(t.synonyms))
            terms.append(td)
        cd["terms"] = terms
        codelists.append(cd)
    doc: dict = {}
    _put(doc, "codelists", codelists)
    if term.collected_values:
        doc["collected_values"] = {k: dict(v) for k, v in term.collected_values.items()}
    return doc


def units_document(term: StudyTerminology) -> dict:
    doc: dict = {}
    _put(doc, "standard_units", dict(term.standard_units))
    conversions = []
    for u in term.unit_conversions:
        ud: dict = {"testcd": u.testcd, "from": u.from_unit, "to": u.to_unit, "factor": u.factor}
        _put(ud, "molecular_weight", u.molecular_weight)
        _put(ud, "offset", u.offset or None)
        conversions.append(ud)
    _put(doc, "conversions", conversions)
    ranges = []
    for r in term.plausible_ranges:
        rd: dict = {"testcd": r.testcd, "unit": r.unit}
        _put(rd, "low", r.low)
        _put(rd, "high", r.high)
        _put(rd, "domain", r.domain)
        ranges.append(rd)
    _put(doc, "plausible_ranges", ranges)
    return doc


def spec_documents(specs: Specs, files: dict[str, str]) -> dict[str, dict]:
    """The YAML documents (relative path -> content) that load back to `specs`."""
    docs = {"study.yaml": study_document(specs, files)}
    for ds in specs.datasets:
        docs[ds.file] = dataset_document(ds)
    if files.get("terminology"):
        docs[files["terminology"]] = terminology_document(specs.terminology)
    if files.get("units"):
        docs[files["units"]] = units_document(specs.terminology)
    return docs


# =========================================================================== sheet layouts
ORIGIN_COLS = (Col("Origin", "origin.type"), Col("Source", "origin.source"), Col("Pages", "origin.pages"),
               Col("Predecessor", "origin.predecessor"))
STUDY_COLS = (Col("Attribute", None, width=24), Col("Value", None, width=80))
DATASET_COLS = (
    Col("Dataset", "name"), Col("Description", "label", width=36), Col("Domain", "domain"),
    Col("Class", "class", width=18), Col("Subclass", "subclass"), Col("Structure", "structure", width=48),
    Col("Purpose", None), Col("Key Variables", "keys", "list", 36), Col("Sort Variables", "sort", "list", 36),
    Col("Repeating", "repeating", "bool"), Col("Reference Data", "reference_data", "bool"),
    Col("Comment", "comment"), Col("File", None, width=24),
)
VARIABLE_COLS = (
    Col("Order", "order", "int"), Col("Dataset", None), Col("Variable", "name"), Col("Label", "label", width=40),
    Col("Type", "type"), Col("Data Type", "data_type"), Col("Length", "length", "int"),
    Col("Significant Digits", "significant_digits", "int"), Col("Core", "core"), Col("Mandatory", None),
    Col("Codelist", "codelist"), *ORIGIN_COLS, Col("Role", "role"), Col("Method", "method"),
    Col("Comment", "comment"), Col("Sponsor Defined", "sponsor_defined", "bool"),
    Col("Algorithm", "algorithm", width=16), Col("Parameters", "params", "json", 60),
    Col("Long Text", "long_text"),
)
VALUE_LEVEL_COLS = (
    Col("Order", None), Col("Dataset", None), Col("Variable", "variable"), Col("Where Clause", None, width=24),
    Col("Data Type", "data_type"), Col("Length", "length", "int"),
    Col("Significant Digits", "significant_digits", "int"), Col("Mandatory", "mandatory", "bool"),
    Col("Codelist", "codelist"), *ORIGIN_COLS, Col("Unit", "unit"), Col("Method", "method"),
    Col("Comment", "comment"),
)
WHERE_COLS = (Col("ID", None, width=24), Col("Dataset", None), Col("Variable", None), Col("Comparator", None),
              Col("Value", None, width=40))
SUPP_COLS = (
    Col("Dataset", None), Col("QNAM", "qnam"), Col("QLABEL", "qlabel", width=40), Col("IDVAR", "idvar"),
    Col("QEVAL", "qeval"), Col("Codelist", "codelist"), Col("Data Type", "data_type"), *ORIGIN_COLS,
    Col("Method", "method"), Col("Comment", "comment"), Col("Algorithm", "algorithm", width=16),
    Col("Parameters", "params", "json", 60),
)
DERIVED_COLS = (Col("Dataset", None), Col("Algorithm", "algorithm", width=16), Col("Parameters", "params", "json", 60))
SOURCE_COLS = (Col("Dataset", None), Col("Step", None), Col("Kind", None), Col("Form", None, width=18),
               Col("Details", None, width=80))
CODELIST_COLS = (
    Col("ID", None, width=14), Col("Name", None, width=30), Col("NCI Codelist Code", None), Col("Data Type", None),
    Col("Order", None), Col("Term", None, width=24), Col("NCI Term Code", None), Col("Decoded Value", None, width=30),
    Col("Synonyms", None, width=24), Col("Extended Value", None), Col("Collected Value", None, width=24),
    Col("Source", None),
)
METHOD_COLS = (Col("ID", None, width=24), Col("Name", None, width=36), Col("Type", None),
               Col("Description", None, width=80))
COMMENT_COLS = (Col("ID", None, width=24), Col("Description", None, width=80))
DOCUMENT_COLS = (Col("ID", "id"), Col("Title", "title", width=36), Col("Href", "href", width=30),
                 Col("Kind", "kind"))
FORM_COLS = (Col("Name", "name"), Col("File", "file", width=30), Col("Format", "format"),
             Col("Encoding", "encoding"), Col("Sheet", "sheet"), Col("Subject Column", "subject_column"),
             Col("Required Columns", "required_columns", "list", 40), Col("Exclude Reason", "exclude_reason", width=30),
             Col("Label", "label", width=30), Col("Columns (raw -> spec)", "columns", "json", 40),
             Col("Delimiter", "delimiter"), Col("Header Row", "header_row", "int"), Col("Numbers", "numbers"),
             Col("Format Catalog", "format_catalog"), Col("Value Formats", "value_formats", "json", 40),
             Col("Form OID", "form_oid"), Col("Item Groups", "item_groups", "list"))
ARM_COLS = (Col("ARMCD", "armcd"), Col("ARM", "arm", width=30), Col("Elements", "elements", "list", 30),
            Col("Branch", "branch"), Col("Type", "type", width=20))
ELEMENT_COLS = (Col("ETCD", "etcd"), Col("ELEMENT", "element", width=30), Col("EPOCH", "epoch"),
                Col("TESTRL", "testrl", width=36), Col("TENRL", "tenrl", width=36), Col("TEDUR", "tedur"))
VISIT_COLS = (Col("VISITNUM", "visitnum", "float"), Col("VISIT", "visit", width=20), Col("VISITDY", "visitdy", "int"),
              Col("Window Before", "window.before", "int"), Col("Window After", "window.after", "int"),
              Col("Labels", "labels", "list", 30), Col("EPOCH", "epoch"), Col("Arms", "arms", "list"),
              Col("Start Rule", "start_rule", width=30), Col("End Rule", "end_rule", width=30))
TS_COLS = (Col("TSPARMCD", "parmcd"), Col("TSPARM", "parm", width=30), Col("TSVAL", "value", width=40),
           Col("TSVALCD", "valcd"), Col("TSVCDREF", "vcdref"), Col("TSVCDVER", "vcdver"), Col("TSGRPID", "grpid"))
CRITERIA_COLS = (Col("IETESTCD", "ietestcd"), Col("IETEST", "ietest", width=60), Col("IECAT", "iecat"),
                 Col("IESCAT", "iescat"), Col("TIRL", "tirl", width=30))
UNIT_COLS = (Col("Kind", None), Col("TESTCD", "testcd"), Col("From", "from"), Col("To", "to"),
             Col("Factor", "factor", "float"), Col("Molecular Weight", "molecular_weight", "float"),
             Col("Offset", "offset", "float"))

PLAUSIBLE_COLS = (Col("TESTCD", "testcd"), Col("Unit", "unit"), Col("Low", "low", "float"),
                  Col("High", "high", "float"), Col("Domain", "domain"))

SHEETS: dict[str, tuple[Col, ...]] = {
    "Study": STUDY_COLS, "Datasets": DATASET_COLS, "Variables": VARIABLE_COLS, "ValueLevel": VALUE_LEVEL_COLS,
    "WhereClauses": WHERE_COLS, "Codelists": CODELIST_COLS, "Methods": METHOD_COLS, "Comments": COMMENT_COLS,
    "Documents": DOCUMENT_COLS, "Sources": SOURCE_COLS, "SuppQualifiers": SUPP_COLS,
    "DerivedRecords": DERIVED_COLS, "Forms": FORM_COLS, "Arms": ARM_COLS, "Elements": ELEMENT_COLS,
    "Visits": VISIT_COLS, "TrialSummary": TS_COLS, "Criteria": CRITERIA_COLS, "Units": UNIT_COLS,
    "Plausibility": PLAUSIBLE_COLS,
}
OPTIONAL_SHEETS = frozenset({"Plausibility"})   # added after the first workbooks were shared
OPTIONAL_COLUMNS = frozenset({("Variables", "Long Text")})
STUDY_JSON_KEYS = ("subject", "date_formats", "transliteration", "define", "validation")
STUDY_LIST_SHEETS = (("forms", "Forms", FORM_COLS), ("arms", "Arms", ARM_COLS), ("elements", "Elements", ELEMENT_COLS),
                     ("visits", "Visits", VISIT_COLS), ("trial_summary", "TrialSummary", TS_COLS),
                     ("criteria", "Criteria", CRITERIA_COLS), ("documents", "Documents", DOCUMENT_COLS))
SOURCE_KINDS = ("form", "join", "stack", "filter", "unpivot", "generate")


# =========================================================================== documents -> rows
class _Texts:
    """Method or comment texts stored once under an ID and referenced from other sheets."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.rows: list[tuple[str, str]] = []
        self._ids: set[str] = set()

    def ref(self, owner: str, text: Any) -> str | None:
        if text is None:
            return None
        ident = f"{self.prefix}.{owner}"
        n = 2
        while ident in self._ids:
            ident, n = f"{self.prefix}.{owner}.{n}", n + 1
        self._ids.add(ident)
        self.rows.append((ident, str(text)))
        return ident


def _study_rows(study: dict) -> list[list[Any]]:
    rows = [[f"study.{k}", v] for k, v in study["study"].items()]
    rows += [[f"standards.{k}", v] for k, v in (study.get("standards") or {}).items()]
    rows += [[f"files.{k}", v] for k, v in (study.get("files") or {}).items()]
    rows += [[key, to_json(study[key])] for key in STUDY_JSON_KEYS if key in study]
    return rows


def _source_rows(name: str, source: dict) -> list[list[Any]]:
    rows = []
    for kind in SOURCE_KINDS:
        if kind not in source:
            continue
        value = source[kind]
        if kind == "form":
            rows.append([name, None, kind, value, None])
        elif kind in ("join", "stack"):
            for item in value:
                rest = {k: v for k, v in item.items() if k != "form"}
                rows.append([name, None, kind, item["form"], to_json(rest)])
        elif kind == "filter":
            rows += [[name, None, kind, None, to_json(item)] for item in value]
        else:
            rows.append([name, None, kind, None, to_json(value)])
    for step, row in enumerate(rows, start=1):
        row[1] = step
    return rows


def _where_rows(wcid: str, dataset: str, where: dict) -> list[list[Any]]:
    rows = []
    for variable, value in where.items():
        if isinstance(value, dict):
            comparator, values = value.get("comparator", "IN"), value["values"]
        elif isinstance(value, list):
            comparator, values = ("EQ" if len(value) == 1 else "IN"), value
        else:
            comparator, values = "EQ", [value]
        rows.append([wcid, dataset, variable, comparator, _list_cell(values)])
    return rows


def _referenced_ct_codes(docs: dict[str, dict], term_doc: dict) -> list[str]:
    from cdisc_dpn.terminology.ct import load_ct
    ct = load_ct()
    sponsor_ids = {cl["id"] for cl in term_doc.get("codelists", [])}
    names: set[str] = set()
    for doc in docs.values():
        for section in ("variables", "value_level", "supplemental"):
            names.update(item["codelist"] for item in doc.get(section, []) if item.get("codelist"))
    names = {n for n in names if n not in sponsor_ids}
    names.update(cl["extends"] for cl in term_doc.get("codelists", []) if cl.get("extends"))
    names.update(term_doc.get("collected_values", {}))
    return sorted({ct.get(n).code for n in names if ct.get(n) is not None})


def _codelist_rows(term_doc: dict, ct_codes: list[str]) -> list[list[Any]]:
    rows = []
    for cl in term_doc.get("codelists", []):
        head = [cl["id"], cl["name"], cl.get("extends"), cl.get("data_type")]
        if not cl["terms"]:
            rows.append(head + [None] * 6 + [None, "Sponsor"])
        for order, term in enumerate(cl["terms"], start=1):
            t = term if isinstance(term, dict) else {"value": term}
            syn = t.get("synonyms")
            rows.append(head + [order, t["value"], t.get("code"), t.get("decode"),
                                _list_cell(syn) if syn else None, "Yes" if t.get("extended", True) else "No",
                                None, "Sponsor"])
    for code, mapping in term_doc.get("collected_values", {}).items():
        if not mapping:
            rows.append([code, None, None, None, None, None, None, None, None, None, None, "Collected"])
        for order, (raw, value) in enumerate(mapping.items(), start=1):
            rows.append([code, None, None, None, order, value, None, None, None, None, raw, "Collected"])
    if ct_codes:
        from cdisc_dpn.terminology.ct import load_ct
        ct = load_ct()
        for code in ct_codes:
            cl = ct.get(code)
            for order, t in enumerate(cl.terms, start=1):
                rows.append([cl.code, cl.name, cl.code, "text", order, t.value, t.code, t.decode,
                             _list_cell(t.synonyms) if t.synonyms else None, None, None, "CT"])
    return rows


def _with_origin(record: dict) -> dict:
    """origin: Collected -> origin: {type: Collected} so the Origin columns can read it."""
    if isinstance(record.get("origin"), str):
        return {**record, "origin": {"type": record["origin"]}}
    return record


def workbook_rows(docs: dict[str, dict], files: dict[str, str]) -> dict[str, list[list[Any]]]:
    """Every sheet's rows (without header) for the given YAML documents."""
    study = docs["study.yaml"]
    sheets: dict[str, list[list[Any]]] = {name: [] for name in SHEETS}
    methods, comments = _Texts("MT"), _Texts("COM")
    sheets["Study"] = _study_rows(study)
    for key, sheet, cols in STUDY_LIST_SHEETS:
        sheets[sheet] = [_row_of(item, cols) for item in study.get(key, [])]
    for rel in study["datasets"]:
        doc = docs[rel]
        head = doc["dataset"]
        name = head["name"]
        sheets["Datasets"].append(_row_of(head, DATASET_COLS, {
            "Purpose": "Tabulation", "File": rel, "Comment": comments.ref(name, head.get("comment"))}))
        sheets["Sources"] += _source_rows(name, doc.get("source", {}))
        for v in doc["variables"]:
            sheets["Variables"].append(_row_of(_with_origin(v), VARIABLE_COLS, {
                "Dataset": name, "Mandatory": "Yes" if v.get("core") == "Req" else "No",
                "Method": methods.ref(f"{name}.{v['name']}", v.get("method")),
                "Comment": comments.ref(f"{name}.{v['name']}", v.get("comment")),
                "Algorithm": v["algorithm"]}))
        for order, vl in enumerate(doc.get("value_level", []), start=1):
            wcid = f"WC.{name}.{vl['variable']}.{order}"
            owner = f"{name}.{vl['variable']}.{order}"
            sheets["ValueLevel"].append(_row_of(_with_origin(vl), VALUE_LEVEL_COLS, {
                "Order": order, "Dataset": name, "Where Clause": wcid,
                "Method": methods.ref(owner, vl.get("method")), "Comment": comments.ref(owner, vl.get("comment"))}))
            sheets["WhereClauses"] += _where_rows(wcid, name, vl["where"])
        for q in doc.get("supplemental", []):
            owner = f"SUPP{head.get('domain', name)}.{q['qnam']}"
            sheets["SuppQualifiers"].append(_row_of(_with_origin(q), SUPP_COLS, {
                "Dataset": name, "Method": methods.ref(owner, q.get("method")),
                "Comment": comments.ref(owner, q.get("comment")), "Algorithm": q["algorithm"]}))
        for d in doc.get("derived_records", []):
            sheets["DerivedRecords"].append(_row_of(d, DERIVED_COLS, {"Dataset": name, "Algorithm": d["algorithm"]}))
    term_doc = docs.get(files.get("terminology") or "", {})
    sheets["Codelists"] = _codelist_rows(term_doc, _referenced_ct_codes(docs, term_doc))
    units = docs.get(files.get("units") or "", {})
    sheets["Units"] = [["standard", testcd, None, unit, None, None, None]
                       for testcd, unit in units.get("standard_units", {}).items()]
    sheets["Units"] += [_row_of(u, UNIT_COLS, {"Kind": "conversion"}) for u in units.get("conversions", [])]
    sheets["Plausibility"] = [_row_of(r, PLAUSIBLE_COLS) for r in units.get("plausible_ranges", [])]
    sheets["Methods"] = [[ident, f"Method for {ident[3:]}", "Computation", text] for ident, text in methods.rows]
    sheets["Comments"] = [[ident, text] for ident, text in comments.rows]
    return sheets


# =========================================================================== writing the xlsx
def _write_xlsx(sheets: dict[str, list[list[Any]]], xlsx: Path) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = new_workbook()
    bold = Font(bold=True)
    for name, cols in SHEETS.items():
        ws = wb.create_sheet(name)
        ws.append([c.header for c in cols])
        for cell in ws[1]:
            cell.font = bold
        for row in sheets[name]:
            ws.append([neutralise(v) for v in row])
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{max(1, len(sheets[name]) + 1)}"
        for i, col in enumerate(cols, start=1):
            longest = max([len(col.header)] + [len(str(r[i - 1])) for r in sheets[name][:500] if r[i - 1] is not None])
            ws.column_dimensions[get_column_letter(i)].width = col.width or min(60, max(10, longest + 2))
    write_atomic(xlsx, workbook_bytes(wb))


def _spec_files(specs_root: Path) -> dict[str, str]:
    from cdisc_dpn.spec.yamlsafe import load_yaml_with_lines
    doc = load_yaml_with_lines(specs_root / "study.yaml")
    files = doc.get("files") or {}
    return {k: str(files[k]) for k in ("terminology", "units") if files.get(k)}


def export_workbook(specs_root: Path | str, xlsx: Path | str) -> list[Finding]:
    """Write the specs under `specs_root` as a P21-style workbook; returns the loader's findings."""
    from cdisc_dpn.spec.loader import load_specs
    specs_root, xlsx = Path(specs_root), Path(xlsx)
    specs, findings = load_specs(specs_root, semantic_checks=False)
    files = _spec_files(specs_root)
    _write_xlsx(workbook_rows(spec_documents(specs, files), files), xlsx)
    return findings


# =========================================================================== rows -> documents
Origin = tuple  # (sheet, row or None)


class _Origins:
    """Which sheet and row each part of the imported documents came from, so that a problem the spec
    checks find in the generated YAML is reported at the workbook cell a person edits."""

    def __init__(self):
        self.whole: dict[int, Origin] = {}
        self.parts: dict[int, dict[Any, Origin]] = {}
        self._alive: list[Any] = []            # ids are only stable while the objects live

    def mark(self, obj: Any, sheet: str, row: int | None) -> Any:
        self.whole[id(obj)] = (sheet, row)
        self._alive.append(obj)
        return obj

    def mark_part(self, container: Any, key: Any, sheet: str, row: int | None) -> None:
        """A key of a mapping (or an index of a list) that came from its own row."""
        self.parts.setdefault(id(container), {})[key] = (sheet, row)
        self._alive.append(container)


class _Reader:
    """Reads the workbook's sheets as header-keyed rows and collects problems as findings."""

    def __init__(self, xlsx: Path):
        from openpyxl import load_workbook
        self.file = str(xlsx)
        self.findings: list[Finding] = []
        self.origins = _Origins()
        try:
            self.wb = load_workbook(xlsx, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a damaged file
            raise SpecError(f"cannot read {xlsx}", [Finding(
                "WB-FILE", Severity.ERROR, f"cannot open the workbook: {exc}", stage="spec", file=self.file,
                fix="save the file as .xlsx from Excel")]) from None

    def problem(self, message: str, sheet: str, row: int | None = None, column: str | None = None) -> None:
        self.findings.append(Finding("WB-CELL", Severity.ERROR, f"{sheet}: {message}", stage="spec", file=self.file,
                                     source_row=row, column=column, fix="correct the cell and import again"))

    def rows(self, sheet: str) -> list[tuple[int, dict[str, Any]]]:
        if sheet not in self.wb.sheetnames:
            if sheet in OPTIONAL_SHEETS:
                return []
            self.findings.append(Finding("WB-SHEET", Severity.ERROR, f"sheet {sheet!r} is missing", stage="spec",
                                         file=self.file, fix="export a fresh workbook and copy the edits into it"))
            return []
        values = list(self.wb[sheet].iter_rows(values_only=True))
        if not values:
            return []
        header = [str(h) if h is not None else "" for h in values[0]]
        missing = [c.header for c in SHEETS[sheet]
                   if c.header not in header and (sheet, c.header) not in OPTIONAL_COLUMNS]
        if missing:
            self.problem(f"missing column(s) {', '.join(missing)}", sheet, 1)
        out = []
        for number, raw in enumerate(values[1:], start=2):
            if raw is None or all(v is None or v == "" for v in raw):
                continue
            out.append((number, {h: restore(v) for h, v in zip(header, raw) if h and v is not None and v != ""}))
        return out

    def record(self, sheet: str, number: int, row: dict, cols: tuple[Col, ...]) -> dict:
        record: dict = {}
        for c in cols:
            if c.key is None or c.header not in row:
                continue
            try:
                _set(record, c.key, _decode(row[c.header], c.kind))
            except _BadCell as exc:
                self.problem(str(exc), sheet, number, c.header)
        return record

    def json(self, sheet: str, number: int, row: dict, header: str) -> Any:
        try:
            return from_json(str(row[header]))
        except (ValueError, KeyError) as exc:
            self.problem(f"column {header}: not valid JSON ({exc})", sheet, number, header)
            return {}


VARIABLE_KEYS = ("name", "label", "type", "order", "core", "length", "data_type", "significant_digits", "codelist",
                 "role", "origin", "algorithm", "params", "method", "comment", "sponsor_defined", "long_text")
SUPP_KEYS = ("qnam", "qlabel", "idvar", "qeval", "codelist", "data_type", "origin", "algorithm", "params", "method",
             "comment")


def _ordered(record: dict, keys: tuple[str, ...]) -> dict:
    """Keys in the order a person writes them (the order of the YAML the exporter read)."""
    return {**{k: record[k] for k in keys if k in record}, **{k: v for k, v in record.items() if k not in keys}}


def _origin_back(record: dict) -> dict:
    origin = record.get("origin")
    if isinstance(origin, dict) and set(origin) == {"type"}:
        record["origin"] = origin["type"]
    return record


def _texts_back(reader: _Reader, sheet: str) -> dict[str, str]:
    return {str(r["ID"]): str(r.get("Description", "")) for _, r in reader.rows(sheet) if "ID" in r}


def _resolve(record: dict, key: str, texts: dict[str, str]) -> None:
    if key in record:
        record[key] = texts.get(record[key], record[key])   # text typed in place of an ID is kept


def _study_back(reader: _Reader) -> dict:
    doc: dict = {"study": {}}
    for number, row in reader.rows("Study"):
        attribute, value = str(row.get("Attribute", "")), row.get("Value")
        if value is None:
            continue
        if attribute in STUDY_JSON_KEYS:
            doc[attribute] = reader.json("Study", number, row, "Value")
            reader.origins.mark_part(doc, attribute, "Study", number)
        elif "." in attribute:
            section, key = attribute.split(".", 1)
            doc.setdefault(section, {})[key] = str(value)
            reader.origins.mark_part(doc[section], key, "Study", number)
        else:
            reader.problem(f"unknown attribute {attribute!r}", "Study", number, "Attribute")
    for key, sheet, cols in STUDY_LIST_SHEETS:
        items = [reader.origins.mark(reader.record(sheet, n, r, cols), sheet, n) for n, r in reader.rows(sheet)]
        if items or key == "forms":
            doc[key] = items
    ordered = {k: doc[k] for k in ("study", "standards", "files", "forms", "subject", "arms", "elements", "visits",
                                   "trial_summary", "criteria", "documents", "date_formats", "transliteration",
                                   "define", "validation") if k in doc}
    for key, origin in reader.origins.parts.get(id(doc), {}).items():      # the JSON-valued attributes
        reader.origins.mark_part(ordered, key, *origin)
    for key, sheet, _ in STUDY_LIST_SHEETS:
        reader.origins.mark_part(ordered, key, sheet, None)
    reader.origins.mark(ordered, "Study", None)
    return ordered


def _source_back(reader: _Reader, rows: list[tuple[int, dict]]) -> dict:
    source: dict = {}
    rows_of: dict[str, int] = {}
    for number, row in rows:
        kind = row.get("Kind")
        if kind == "form":
            source["form"] = str(row.get("Form", ""))
        elif kind in ("join", "stack"):
            source.setdefault(kind, []).append(reader.origins.mark(
                {"form": str(row.get("Form", "")), **reader.json("Sources", number, row, "Details")}, "Sources", number))
        elif kind == "filter":
            item = reader.json("Sources", number, row, "Details")
            source.setdefault("filter", []).append(reader.origins.mark(item, "Sources", number)
                                                   if isinstance(item, dict) else item)
        elif kind in ("unpivot", "generate"):
            source[kind] = reader.json("Sources", number, row, "Details")
        else:
            reader.problem(f"unknown source kind {kind!r}; use one of {', '.join(SOURCE_KINDS)}", "Sources",
                           number, "Kind")
            continue
        rows_of.setdefault(str(kind), number)
    ordered = {k: source[k] for k in SOURCE_KINDS if k in source}
    for kind, number in rows_of.items():
        reader.origins.mark_part(ordered, kind, "Sources", number)
    if rows_of:
        reader.origins.mark(ordered, "Sources", min(rows_of.values()))
    return ordered


def _where_back(rows: list[tuple[int, dict]]) -> dict:
    where: dict = {}
    for _, row in rows:
        comparator = str(row.get("Comparator", "EQ"))
        values = _list_value(row["Value"]) if "Value" in row else []
        if comparator == "EQ" and len(values) == 1:
            where[str(row.get("Variable"))] = values[0]
        elif comparator == "IN" and len(values) != 1:
            where[str(row.get("Variable"))] = values
        else:
            where[str(row.get("Variable"))] = {"comparator": comparator, "values": values}
    return where


def _group(rows: list[tuple[int, dict]], key: str = "Dataset") -> dict[str, list[tuple[int, dict]]]:
    groups: dict[str, list[tuple[int, dict]]] = {}
    for number, row in rows:
        groups.setdefault(str(row.get(key, "")), []).append((number, row))
    return groups


def _datasets_back(reader: _Reader, methods: dict[str, str], comments: dict[str, str]) -> dict[str, dict]:
    sources = _group(reader.rows("Sources"))
    variables = _group(reader.rows("Variables"))
    vlm = _group(reader.rows("ValueLevel"))
    wheres = _group(reader.rows("WhereClauses"), "ID")
    supp = _group(reader.rows("SuppQualifiers"))
    derived = _group(reader.rows("DerivedRecords"))
    docs: dict[str, dict] = {}
    for number, row in reader.rows("Datasets"):
        head = reader.record("Datasets", number, row, DATASET_COLS)
        name = str(head.get("name", ""))
        head.setdefault("label", "")
        _resolve(head, "comment", comments)
        head.setdefault("keys", [])
        order = ("name", "label", "domain", "class", "subclass", "structure", "keys", "sort", "repeating",
                 "reference_data", "comment")
        doc: dict = {"dataset": reader.origins.mark({k: head[k] for k in order if k in head}, "Datasets", number),
                     "source": _source_back(reader, sources.get(name, [])), "variables": []}
        reader.origins.mark(doc, "Datasets", number)
        for n, r in variables.get(name, []):
            v = _origin_back(reader.record("Variables", n, r, VARIABLE_COLS))
            _resolve(v, "method", methods)
            _resolve(v, "comment", comments)
            v.setdefault("label", "")
            doc["variables"].append(reader.origins.mark(_ordered(v, VARIABLE_KEYS), "Variables", n))
        items = []
        for n, r in vlm.get(name, []):
            item = reader.record("ValueLevel", n, r, VALUE_LEVEL_COLS)
            item = _origin_back(item)
            item = {"variable": item.pop("variable", ""), "where": _where_back(wheres.get(str(r.get("Where Clause")),
                                                                                          [])), **item}
            _resolve(item, "method", methods)
            _resolve(item, "comment", comments)
            items.append(reader.origins.mark(item, "ValueLevel", n))
        if items:
            doc["value_level"] = items
        quals = []
        for n, r in supp.get(name, []):
            q = _origin_back(reader.record("SuppQualifiers", n, r, SUPP_COLS))
            _resolve(q, "method", methods)
            _resolve(q, "comment", comments)
            quals.append(reader.origins.mark(_ordered(q, SUPP_KEYS), "SuppQualifiers", n))
        if quals:
            doc["supplemental"] = quals
        records = [reader.origins.mark(reader.record("DerivedRecords", n, r, DERIVED_COLS), "DerivedRecords", n)
                   for n, r in derived.get(name, [])]
        if records:
            doc["derived_records"] = records
        rel = str(row.get("File") or f"{name.lower()}.yaml")
        docs[rel] = doc
    return docs


def _terminology_back(reader: _Reader) -> dict:
    codelists: dict[str, dict] = {}
    collected: dict[str, dict] = {}
    for number, row in reader.rows("Codelists"):
        source = row.get("Source", "Sponsor")
        ident = str(row.get("ID", ""))
        if source == "CT":
            continue                      # shown for reviewers; CDISC terms come from the CT package
        if source == "Collected":
            mapping = collected.setdefault(ident, {})
            if "Collected Value" in row:
                mapping[str(row["Collected Value"])] = str(row.get("Term", ""))
                reader.origins.mark_part(mapping, str(row["Collected Value"]), "Codelists", number)
            continue
        if source != "Sponsor":
            reader.problem(f"unknown Source {source!r}; use Sponsor, Collected or CT", "Codelists", number, "Source")
            continue
        if ident not in codelists:
            cl: dict = {"id": ident, "name": str(row.get("Name", ""))}
            if "NCI Codelist Code" in row:
                cl["extends"] = str(row["NCI Codelist Code"])
            if "Data Type" in row:
                cl["data_type"] = str(row["Data Type"])
            cl["terms"] = []
            codelists[ident] = reader.origins.mark(cl, "Codelists", number)
        if "Term" not in row:
            continue
        term: dict = {"value": str(row["Term"])}
        if "Decoded Value" in row:
            term["decode"] = str(row["Decoded Value"])
        if "NCI Term Code" in row:
            term["code"] = str(row["NCI Term Code"])
        if str(row.get("Extended Value", "Yes")).lower() in ("no", "n", "false"):
            term["extended"] = False
        if "Synonyms" in row:
            term["synonyms"] = _list_value(row["Synonyms"])
        terms = codelists[ident]["terms"]
        reader.origins.mark_part(terms, len(terms), "Codelists", number)
        terms.append(term["value"] if set(term) == {"value"} else term)
    doc: dict = {}
    if codelists:
        doc["codelists"] = list(codelists.values())
    if collected:
        doc["collected_values"] = collected
    return doc


def _units_back(reader: _Reader) -> dict:
    standard: dict = {}
    conversions = []
    for number, row in reader.rows("Units"):
        if row.get("Kind") == "standard":
            standard[str(row.get("TESTCD", ""))] = str(row.get("To", ""))
            reader.origins.mark_part(standard, str(row.get("TESTCD", "")), "Units", number)
        else:
            conversions.append(reader.origins.mark(reader.record("Units", number, row, UNIT_COLS), "Units", number))
    doc: dict = {}
    if standard:
        doc["standard_units"] = standard
    if conversions:
        doc["conversions"] = conversions
    ranges = [reader.record("Plausibility", number, row, PLAUSIBLE_COLS) for number, row in reader.rows("Plausibility")]
    if ranges:
        doc["plausible_ranges"] = ranges
    return doc


def workbook_documents(xlsx: Path | str) -> dict[str, dict]:
    """The YAML documents (relative path -> content) a workbook describes; raises SpecError on bad cells."""
    return _read_documents(Path(xlsx))[0]


def _read_documents(xlsx: Path) -> tuple[dict[str, dict], _Origins]:
    reader = _Reader(xlsx)
    missing = [s for s in SHEETS if s not in reader.wb.sheetnames and s not in OPTIONAL_SHEETS]
    if missing:
        raise SpecError("the workbook is not a cdisc-dpn specification", [Finding(
            "WB-SHEET", Severity.ERROR, f"sheet(s) missing: {', '.join(missing)}", stage="spec", file=reader.file,
            fix="export a fresh workbook with `export_workbook` and copy the edits into it")])
    methods, comments = _texts_back(reader, "Methods"), _texts_back(reader, "Comments")
    study = _study_back(reader)
    datasets = _datasets_back(reader, methods, comments)
    study["datasets"] = list(datasets)
    reader.origins.mark_part(study, "datasets", "Datasets", None)
    docs = {"study.yaml": study, **datasets}
    files = study.get("files", {})
    if files.get("terminology"):
        docs[files["terminology"]] = reader.origins.mark(_terminology_back(reader), "Codelists", None)
    if files.get("units"):
        docs[files["units"]] = reader.origins.mark(_units_back(reader), "Units", None)
    reader.wb.close()
    if reader.findings:
        raise SpecError("the workbook has errors", reader.findings)
    return docs, reader.origins


def dump_yaml(doc: dict) -> str:
    return yaml.safe_dump(_plain(doc), sort_keys=False, allow_unicode=True, width=120)


# =========================================================================== validation by sheet and row
def _origin_lines(doc: Any, parsed: Any, origins: _Origins, out: list[tuple[int, Origin]]) -> None:
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


def check_documents(xlsx: Path | str, docs: dict[str, dict], origins: _Origins, texts: dict[str, str],
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
    docs, origins = _read_documents(Path(xlsx))
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
