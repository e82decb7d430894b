"""Import, reading half: sheet rows -> YAML-shaped documents, with the sheet and row of every value."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cdisc_dpn.errors import Finding, Severity, SpecError

from .codec import BadCell, Col, decode_cell, from_json, list_value, plain, restore, set_key
from .layout import (
    DATASET_COLS, DERIVED_COLS, OPTIONAL_COLUMNS, OPTIONAL_SHEETS, PLAUSIBLE_COLS, SHEETS, SOURCE_KINDS,
    STUDY_JSON_KEYS, STUDY_LIST_SHEETS, SUPP_COLS, UNIT_COLS, VALUE_LEVEL_COLS, VARIABLE_COLS,
)


# =========================================================================== rows -> documents
Origin = tuple  # (sheet, row or None)


class Origins:
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
        self.origins = Origins()
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
                set_key(record, c.key, decode_cell(row[c.header], c.kind))
            except BadCell as exc:
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
        values = list_value(row["Value"]) if "Value" in row else []
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
            term["synonyms"] = list_value(row["Synonyms"])
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
    return read_documents(Path(xlsx))[0]


def read_documents(xlsx: Path) -> tuple[dict[str, dict], Origins]:
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
    return yaml.safe_dump(plain(doc), sort_keys=False, allow_unicode=True, width=120)

