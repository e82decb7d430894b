"""Export: spec model -> YAML-shaped documents -> sheet rows -> a deterministic .xlsx."""
from __future__ import annotations

from pathlib import Path
from typing import Any


from cdisc_dpn.atomic import write_atomic
from cdisc_dpn.errors import Finding
from cdisc_dpn.spec.model import (
    AlgorithmCall, DatasetSpec, OriginSpec, Specs, StudyTerminology, ValueLevelSpec,
)
from cdisc_dpn.xlsx import new_workbook, workbook_bytes

from .codec import list_cell, neutralise, plain, row_of, to_json
from .layout import (
    DATASET_COLS, DERIVED_COLS, PLAUSIBLE_COLS, SHEETS, SOURCE_KINDS, STUDY_JSON_KEYS, STUDY_LIST_SHEETS, SUPP_COLS,
    UNIT_COLS, VALUE_LEVEL_COLS, VARIABLE_COLS,
)


# =========================================================================== model -> YAML documents
def _put(doc: dict, key: str, value: Any, default: Any = None) -> None:
    if value is not None and value != default and value not in ((), [], {}):
        doc[key] = plain(value)


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
        doc["generate"] = {"name": src.generator.name, **plain(params)} if params else src.generator.name
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
        rows.append([wcid, dataset, variable, comparator, list_cell(values)])
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
                                list_cell(syn) if syn else None, "Yes" if t.get("extended", True) else "No",
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
                             list_cell(t.synonyms) if t.synonyms else None, None, None, "CT"])
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
        sheets[sheet] = [row_of(item, cols) for item in study.get(key, [])]
    for rel in study["datasets"]:
        doc = docs[rel]
        head = doc["dataset"]
        name = head["name"]
        sheets["Datasets"].append(row_of(head, DATASET_COLS, {
            "Purpose": "Tabulation", "File": rel, "Comment": comments.ref(name, head.get("comment"))}))
        sheets["Sources"] += _source_rows(name, doc.get("source", {}))
        for v in doc["variables"]:
            sheets["Variables"].append(row_of(_with_origin(v), VARIABLE_COLS, {
                "Dataset": name, "Mandatory": "Yes" if v.get("core") == "Req" else "No",
                "Method": methods.ref(f"{name}.{v['name']}", v.get("method")),
                "Comment": comments.ref(f"{name}.{v['name']}", v.get("comment")),
                "Algorithm": v["algorithm"]}))
        for order, vl in enumerate(doc.get("value_level", []), start=1):
            wcid = f"WC.{name}.{vl['variable']}.{order}"
            owner = f"{name}.{vl['variable']}.{order}"
            sheets["ValueLevel"].append(row_of(_with_origin(vl), VALUE_LEVEL_COLS, {
                "Order": order, "Dataset": name, "Where Clause": wcid,
                "Method": methods.ref(owner, vl.get("method")), "Comment": comments.ref(owner, vl.get("comment"))}))
            sheets["WhereClauses"] += _where_rows(wcid, name, vl["where"])
        for q in doc.get("supplemental", []):
            owner = f"SUPP{head.get('domain', name)}.{q['qnam']}"
            sheets["SuppQualifiers"].append(row_of(_with_origin(q), SUPP_COLS, {
                "Dataset": name, "Method": methods.ref(owner, q.get("method")),
                "Comment": comments.ref(owner, q.get("comment")), "Algorithm": q["algorithm"]}))
        for d in doc.get("derived_records", []):
            sheets["DerivedRecords"].append(row_of(d, DERIVED_COLS, {"Dataset": name, "Algorithm": d["algorithm"]}))
    term_doc = docs.get(files.get("terminology") or "", {})
    sheets["Codelists"] = _codelist_rows(term_doc, _referenced_ct_codes(docs, term_doc))
    units = docs.get(files.get("units") or "", {})
    sheets["Units"] = [["standard", testcd, None, unit, None, None, None]
                       for testcd, unit in units.get("standard_units", {}).items()]
    sheets["Units"] += [row_of(u, UNIT_COLS, {"Kind": "conversion"}) for u in units.get("conversions", [])]
    sheets["Plausibility"] = [row_of(r, PLAUSIBLE_COLS) for r in units.get("plausible_ranges", [])]
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

