"""check_define: XSD validity, OID integrity and agreement with the datasets as written.

Finding codes (stage "define"):
  DEF-XSD            not valid against the Define-XML 2.1 schema (line of the serialised file)
  DEF-SCHEMA         the schema itself could not be loaded
  DEF-OID-DUP        an OID (or leaf ID) defined more than once
  DEF-OID-DANGLING   a reference to an OID that is not defined
  DEF-OID-UNUSED     a definition nothing refers to
  DEF-MISSING-DATASET / DEF-EXTRA-DATASET   dataset without ItemGroupDef / ItemGroupDef without data
  DEF-MISSING-VAR / DEF-EXTRA-VAR           column without ItemRef / ItemRef without column
  DEF-VAR-ORDER      ItemRef order differs from the column order
  DEF-LENGTH         text Length differs from the XPT length; DEF-LENGTH-MISSING: no Length
  DEF-VLM-LENGTH     value-level Length greater than its variable's Length
  DEF-TYPE           DataType does not fit the column (Num vs Char, decimals in an integer)
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from lxml import etree

from cdisc_dpn.errors import Finding, Severity
from cdisc_dpn.frames import DomainFrame

from . import datatypes as dt
from .writer import serialise
from .xmlns import NS, SCHEMA_ENTRY, XL_HREF, df, safe_parser, schema_dir as default_schema_dir

_SCHEMAS: dict[str, etree.XMLSchema] = {}

#: (definition XPath, defining attribute) and (reference XPath, referencing attribute, target kind)
DEFINITIONS = {
    "ItemDef": ".//odm:ItemDef", "CodeList": ".//odm:CodeList", "MethodDef": ".//odm:MethodDef",
    "CommentDef": ".//def:CommentDef", "ValueListDef": ".//def:ValueListDef",
    "WhereClauseDef": ".//def:WhereClauseDef", "ItemGroupDef": ".//odm:ItemGroupDef",
    "Standard": ".//def:Standard", "leaf": ".//def:leaf",
}
REFERENCES = (
    (".//odm:ItemRef", "ItemOID", "ItemDef"),
    (".//odm:ItemRef", "MethodOID", "MethodDef"),
    (".//odm:CodeListRef", "CodeListOID", "CodeList"),
    (".//def:ValueListRef", "ValueListOID", "ValueListDef"),
    (".//def:WhereClauseRef", "WhereClauseOID", "WhereClauseDef"),
    (".//odm:RangeCheck", df("ItemOID"), "ItemDef"),
    (".//*[@def:CommentOID]", df("CommentOID"), "CommentDef"),
    (".//*[@def:StandardOID]", df("StandardOID"), "Standard"),
    (".//*[@def:ArchiveLocationID]", df("ArchiveLocationID"), "leaf"),
    (".//def:DocumentRef", "leafID", "leaf"),
)
#: Definitions that are referred to from outside the file or by nothing by design.
ROOTS = ("ItemGroupDef",)


def _f(code: str, message: str, severity: Severity = Severity.ERROR, **where) -> Finding:
    return Finding(code, severity, message, stage="define", **where)


def load_schema(schema_dir: str | Path | None = None) -> etree.XMLSchema:
    folder = Path(schema_dir) if schema_dir is not None else default_schema_dir()
    key = str(folder.resolve())
    if key not in _SCHEMAS:
        doc = etree.parse(str(folder / SCHEMA_ENTRY), safe_parser())
        _SCHEMAS[key] = etree.XMLSchema(doc)
    return _SCHEMAS[key]


def check_xsd(tree: etree._ElementTree, *, schema_dir: str | Path | None = None) -> list[Finding]:
    try:
        schema = load_schema(schema_dir)
    except (etree.XMLSchemaParseError, OSError, etree.XMLSyntaxError) as exc:
        return [_f("DEF-SCHEMA", f"the Define-XML schema could not be loaded: {exc}",
                   fix="reinstall cdisc-dpn or pass the folder holding cdisc-define-2.1/define2-1-0.xsd")]
    # Validate the bytes that write_define writes, so line numbers point into define.xml.
    doc = etree.fromstring(serialise(tree), safe_parser()).getroottree()
    if schema.validate(doc):
        return []
    return [_f("DEF-XSD", f"line {e.line}: {e.message}", file="define.xml", source_row=e.line,
               fix="fix the builder or the spec value the element comes from")
            for e in schema.error_log]


def _oid_index(root: etree._Element) -> tuple[dict[str, dict[str, list[etree._Element]]], list[Finding]]:
    index: dict[str, dict[str, list[etree._Element]]] = {}
    findings = []
    seen: dict[str, str] = {}
    for kind, xpath in DEFINITIONS.items():
        attr = "ID" if kind == "leaf" else "OID"
        for el in root.iterfind(xpath, NS):
            oid = el.get(attr)
            if oid is None:
                continue
            index.setdefault(kind, {}).setdefault(oid, []).append(el)
            other = seen.get(oid)
            if other is not None and (other != kind or len(index[kind][oid]) > 1):
                findings.append(_f("DEF-OID-DUP", f"{kind} {oid} is defined more than once"
                                   + (f" (also a {other})" if other != kind else ""), value=oid,
                                   fix="give each definition its own OID"))
            seen.setdefault(oid, kind)
    return index, findings


def check_oids(tree: etree._ElementTree) -> list[Finding]:
    root = tree.getroot()
    index, findings = _oid_index(root)
    used: dict[str, set[str]] = {kind: set() for kind in DEFINITIONS}
    for xpath, attr, kind in REFERENCES:
        for el in root.iterfind(xpath, NS):
            oid = el.get(attr)
            if oid is None:
                continue
            used[kind].add(oid)
            if oid not in index.get(kind, {}):
                owner = el.get("OID") or el.getparent().get("OID") or etree.QName(el).localname
                findings.append(_f("DEF-OID-DANGLING",
                                   f"{etree.QName(el).localname} in {owner} refers to {kind} {oid}, which is not "
                                   "defined", value=oid, fix="define it or remove the reference"))
    for kind, defs in index.items():
        if kind in ROOTS:
            continue
        for oid in defs:
            if oid not in used[kind]:
                findings.append(_f("DEF-OID-UNUSED", f"{kind} {oid} is defined but nothing refers to it",
                                   Severity.WARNING, value=oid, fix="remove the definition or add the reference"))
    return findings


def check_datasets(tree: etree._ElementTree, domains: Sequence[DomainFrame],
                   lengths: Mapping[str, Mapping[str, int]]) -> list[Finding]:
    root = tree.getroot()
    findings: list[Finding] = []
    items = {el.get("OID"): el for el in root.iterfind(".//odm:ItemDef", NS)}
    groups = {el.get("Name"): el for el in root.iterfind(".//odm:ItemGroupDef", NS)}
    names = {d.spec.name for d in domains}
    for name in sorted(set(groups) - names):
        findings.append(_f("DEF-EXTRA-DATASET", f"ItemGroupDef {name} describes a dataset that was not written",
                           dataset=name, fix="rebuild define.xml from the written datasets"))
    for domain in domains:
        name, frame = domain.spec.name, domain.frame
        group = groups.get(name)
        if group is None:
            findings.append(_f("DEF-MISSING-DATASET", f"dataset {name} is not described in define.xml",
                               dataset=name, fix="rebuild define.xml with every written dataset"))
            continue
        leaf = group.find("def:leaf", NS)
        if leaf is None or not leaf.get(XL_HREF):
            findings.append(_f("DEF-LEAF", f"ItemGroupDef {name} has no def:leaf with the dataset's file",
                               dataset=name))
        refs = [(r, items.get(r.get("ItemOID"))) for r in group.iterfind("odm:ItemRef", NS)]
        described = [i.get("Name") for _r, i in refs if i is not None]
        columns = list(frame.columns)
        for col in columns:
            if col not in described:
                findings.append(_f("DEF-MISSING-VAR", f"column {name}.{col} has no ItemRef/ItemDef in define.xml",
                                   dataset=name, variable=col, fix="rebuild define.xml from the written dataset"))
        for var in described:
            if var not in columns:
                findings.append(_f("DEF-EXTRA-VAR", f"define.xml describes {name}.{var}, which is not in the dataset",
                                   dataset=name, variable=var))
        if [c for c in described if c in columns] != [c for c in columns if c in described]:
            findings.append(_f("DEF-VAR-ORDER", f"ItemRef order of {name} differs from the column order",
                               Severity.WARNING, dataset=name))
        ds_lengths = lengths.get(name) or {}
        for _ref, item in refs:
            if item is None or item.get("Name") not in columns:
                continue
            findings.extend(_check_item(name, item, frame[item.get("Name")], ds_lengths, items, root))
    return findings


def _check_item(dataset: str, item: etree._Element, series: pd.Series, ds_lengths: Mapping[str, int],
                items: Mapping[str, etree._Element], root: etree._Element) -> list[Finding]:
    findings = []
    var = item.get("Name")
    loc = {"dataset": dataset, "variable": var}
    data_type = item.get("DataType")
    length = item.get("Length")
    is_num = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if is_num and data_type not in dt.NUMERIC_TYPES:
        findings.append(_f("DEF-TYPE", f"{dataset}.{var} is numeric but DataType is {data_type}", **loc))
    elif not is_num and data_type in dt.NUMERIC_TYPES:
        findings.append(_f("DEF-TYPE", f"{dataset}.{var} is character but DataType is {data_type}", **loc))
    elif is_num and data_type == "integer" and not _all_whole(series):
        findings.append(_f("DEF-TYPE", f"{dataset}.{var} has decimals but DataType is integer", **loc))
    if data_type == "text":
        expected = ds_lengths.get(var)
        if length is None:
            findings.append(_f("DEF-LENGTH-MISSING", f"{dataset}.{var} is text without Length", **loc))
        elif expected is not None and int(length) != int(expected):
            findings.append(_f("DEF-LENGTH", f"Length of {dataset}.{var} is {length}, the XPT length is {expected}",
                               fix="rebuild define.xml with the lengths the XPT writer used", **loc))
    vl_ref = item.find("def:ValueListRef", NS)
    if vl_ref is not None and length is not None:
        for vl in root.iterfind(f".//def:ValueListDef[@OID='{vl_ref.get('ValueListOID')}']", NS):
            for ref in vl.iterfind("odm:ItemRef", NS):
                vitem = items.get(ref.get("ItemOID"))
                if vitem is not None and vitem.get("Length") and data_type == "text" \
                        and int(vitem.get("Length")) > int(length):
                    findings.append(_f("DEF-VLM-LENGTH", f"value-level {vitem.get('OID')} has Length "
                                       f"{vitem.get('Length')} > {length} of {dataset}.{var}", **loc))
    return findings


def _all_whole(series: pd.Series) -> bool:
    """Every finite number of the column is whole (text and infinities are not numbers here)."""
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    return bool((finite == np.floor(finite)).all())


def check_define(tree: etree._ElementTree, domains: Sequence[DomainFrame],
                 lengths: Mapping[str, Mapping[str, int]], *, schema_dir: str | Path | None = None) -> list[Finding]:
    """All define checks; an empty list means define.xml is valid and matches the datasets."""
    return check_xsd(tree, schema_dir=schema_dir) + check_oids(tree) + check_datasets(tree, domains, lengths)


def codes(findings: Iterable[Finding]) -> set[str]:
    return {f.code for f in findings}
