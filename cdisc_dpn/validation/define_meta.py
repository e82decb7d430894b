"""Read what a define.xml (Define-XML 2.x, ODM 1.3) says about datasets and variables.

Parsed with lxml without entity resolution or network access; namespaces are matched by local
name so that Define-XML 2.0 and 2.1 files are both understood.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from lxml import etree

from cdisc_dpn.errors import Finding, InputError, Severity
from cdisc_dpn.validation.conformance import DefineMetadata, DefineVariable


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def read_define(path: Path) -> DefineMetadata:
    path = Path(path)
    root = _parse(path)
    items: dict[str, DefineVariable] = {}
    groups: list[tuple[str, list[str]]] = []
    for el in root.iter():
        name = _local(el)
        if name == "ItemDef":
            length = el.get("Length")
            items[el.get("OID", "")] = DefineVariable(el.get("Name", ""), el.get("DataType", ""),
                                                      int(length) if length and length.isdigit() else None)
        elif name == "ItemGroupDef":
            refs = sorted(((int(r.get("OrderNumber")) if (r.get("OrderNumber") or "").isdigit() else i, r.get("ItemOID", ""))
                           for i, r in enumerate(c for c in el if _local(c) == "ItemRef")), key=lambda t: t[0])
            groups.append((el.get("Name", ""), [oid for _, oid in refs]))
    datasets = {}
    for name, oids in groups:
        datasets[name.upper()] = tuple(items[o] for o in oids if o in items)
    return DefineMetadata(str(path), datasets)


# --------------------------------------------------------------------------- codelists
@dataclass(frozen=True)
class DefineCodelist:
    """One CodeList of define.xml: its terms, which of them extend CDISC CT, and the CT list it is."""

    oid: str
    name: str
    nci_code: str | None                 # Alias nci:ExtCodeID of the list; None for a sponsor list
    terms: tuple[str, ...]
    extended: frozenset[str]             # terms marked def:ExtendedValue="Yes"
    data_type: str = "text"


@dataclass(frozen=True)
class DefineCodelists:
    codelists: Mapping[str, DefineCodelist]                  # OID -> list
    variables: Mapping[str, Mapping[str, str]]               # dataset -> variable -> CodeList OID
    order: Mapping[str, tuple[str, ...]]                     # dataset -> variables in ItemRef order


def _parse(path: Path) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        return etree.parse(str(path), parser).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        raise InputError(f"{path}: cannot read define.xml: {exc}", [Finding(
            code="VAL-DEFINE-READ", severity=Severity.ERROR, stage="validate", file=str(path),
            message=f"cannot read define.xml: {exc}", fix="give a well-formed Define-XML file")]) from None


def read_define_codelists(path: Path) -> DefineCodelists:
    """The codelists define.xml declares and which dataset variables use them (variable level)."""
    root = _parse(Path(path))
    codelists: dict[str, DefineCodelist] = {}
    item_codelist: dict[str, str] = {}
    item_name: dict[str, str] = {}
    groups: list[tuple[str, list[tuple[int, str]]]] = []
    for el in root.iter():
        name = _local(el)
        if name == "CodeList":
            terms, extended, nci = [], set(), None
            for child in el:
                kind = _local(child)
                if kind in ("CodeListItem", "EnumeratedItem"):
                    value = child.get("CodedValue", "")
                    terms.append(value)
                    if any(k.endswith("ExtendedValue") and v == "Yes" for k, v in child.attrib.items()):
                        extended.add(value)
                elif kind == "Alias" and child.get("Context") == "nci:ExtCodeID":
                    nci = child.get("Name")
            codelists[el.get("OID", "")] = DefineCodelist(el.get("OID", ""), el.get("Name", ""), nci, tuple(terms),
                                                          frozenset(extended), el.get("DataType", "text"))
        elif name == "ItemDef":
            item_name[el.get("OID", "")] = el.get("Name", "")
            ref = next((c for c in el if _local(c) == "CodeListRef"), None)
            if ref is not None:
                item_codelist[el.get("OID", "")] = ref.get("CodeListOID", "")
        elif name == "ItemGroupDef":
            refs = [((int(r.get("OrderNumber")) if (r.get("OrderNumber") or "").isdigit() else i), r.get("ItemOID", ""))
                    for i, r in enumerate(c for c in el if _local(c) == "ItemRef")]
            groups.append((el.get("Name", "").upper(), sorted(refs)))
    variables: dict[str, dict[str, str]] = {}
    order: dict[str, tuple[str, ...]] = {}
    for dataset, refs in groups:
        order[dataset] = tuple(item_name[oid] for _, oid in refs if oid in item_name)
        variables[dataset] = {item_name[oid]: item_codelist[oid] for _, oid in refs
                              if oid in item_name and item_codelist.get(oid) in codelists}
    return DefineCodelists(codelists, variables, order)


def with_define_codelists(loaded, terminology, define: DefineCodelists):
    """The folder's datasets and the terminology as define.xml describes them, for validation without specs.

    Terms define.xml marks def:ExtendedValue="Yes" extend their CDISC codelist; a variable whose define
    codelist is sponsor-defined (no NCI code) is checked against that list; the expected column order
    is the define's ItemRef order. Returns (loaded, terminology)."""
    from dataclasses import replace

    from cdisc_dpn.frames import DomainFrame
    from cdisc_dpn.terminology.ct import Codelist, Term, Terminology

    by_code = {cl.code: Codelist(cl.code, cl.name, cl.submission_name, cl.extensible, list(cl.terms), cl.sponsor,
                                 cl.data_type) for cl in terminology.codelists()}
    for dcl in define.codelists.values():
        base = by_code.get(dcl.nci_code) if dcl.nci_code else None
        if base is not None:
            known = set(base.values())
            base.terms.extend(Term(v, None, None, extended=True) for v in dcl.terms
                              if v in dcl.extended and v not in known)
        elif not dcl.nci_code:
            by_code[dcl.oid] = Codelist(dcl.oid, dcl.name, dcl.oid, extensible=False,
                                        terms=[Term(v, None, None) for v in dcl.terms], sponsor=True,
                                        data_type=dcl.data_type)
    extended = Terminology(by_code, terminology.version)
    extended.collected_values = dict(terminology.collected_values)
    domains, orders = {}, dict(loaded.column_orders)
    for name, dom in loaded.domains.items():
        uses = define.variables.get(name, {})
        variables = []
        for v in dom.spec.variables:
            dcl = define.codelists.get(uses.get(v.name, ""))
            if dcl is not None and v.type != "Num":
                code = dcl.nci_code if dcl.nci_code and dcl.nci_code in by_code else dcl.oid
                v = replace(v, codelist=code if code in by_code else v.codelist)
            variables.append(v)
        domains[name] = DomainFrame(replace(dom.spec, variables=tuple(variables)), dom.frame, dom.provenance)
        if name in define.order:
            columns = list(dom.frame.columns)
            declared = [c for c in define.order[name] if c in columns]
            orders[name] = declared + [c for c in columns if c not in declared]
    return replace(loaded, domains=domains, column_orders=orders), extended
