"""Read what a define.xml (Define-XML 2.x, ODM 1.3) says about datasets and variables.

Parsed with lxml without entity resolution or network access; namespaces are matched by local
name so that Define-XML 2.0 and 2.1 files are both understood.
"""
from __future__ import annotations

from pathlib import Path

from lxml import etree

from cdisc_dpn.errors import Finding, InputError, Severity
from cdisc_dpn.validation.checks import DefineMetadata, DefineVariable


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def read_define(path: Path) -> DefineMetadata:
    path = Path(path)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.parse(str(path), parser).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        raise InputError(f"{path}: cannot read define.xml: {exc}", [Finding(
            code="VAL-DEFINE-READ", severity=Severity.ERROR, stage="validate", file=str(path),
            message=f"cannot read define.xml: {exc}", fix="give a well-formed Define-XML file")]) from None
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
