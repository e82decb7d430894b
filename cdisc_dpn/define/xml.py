"""Define-XML 2.1 elements from decided values: attribute order, namespaces and nesting live here, the
decisions (what to describe, which type, which OID) in assemble.py."""
from __future__ import annotations

from typing import Iterable

from lxml import etree

import cdisc_dpn
from cdisc_dpn.spec.model import WhereCondition
from cdisc_dpn.spec.oids import item_oid

from .model import ValueLevelItem, leaf_id, oid_part
from .xmlns import DEFINE_VERSION, NSMAP, ODM_VERSION, XL_HREF, df, odm, sub, translated


def set_attributes(el: etree._Element, pairs: Iterable[tuple[str, object]]) -> etree._Element:
    """Attributes in the given order; None values are left out."""
    for key, value in pairs:
        if value is not None:
            el.set(key, str(value))
    return el


def document(study, define_meta: dict, *, created: str, file_oid: str | None, ig_version: str, ig_oid: str,
             ct_version: str, ct_oid: str) -> tuple[etree._Element, etree._Element, etree._Element, etree._Element]:
    """ODM root down to MetaDataVersion with its standards and document references;
    returns (root, MetaDataVersion, Standards, the CT Standard)."""
    root = etree.Element(odm("ODM"), nsmap=NSMAP)
    for key, value in (("FileType", "Snapshot"),
                       ("FileOID", file_oid or define_meta.get("file_oid") or f"{study.studyid}.SDTM.DEFINE"),
                       ("CreationDateTime", created), ("ODMVersion", ODM_VERSION),
                       ("Originator", str(define_meta.get("originator") or study.sponsor or "cdisc-dpn")),
                       ("SourceSystem", "cdisc-dpn"), ("SourceSystemVersion", cdisc_dpn.__version__),
                       (df("Context"), "Submission")):
        root.set(key, str(value))
    study_el = sub(root, odm("Study"), {"OID": f"STDY.{oid_part(study.studyid)}"})
    gv = sub(study_el, odm("GlobalVariables"))
    sub(gv, odm("StudyName"), text=study.study_name or study.studyid)
    sub(gv, odm("StudyDescription"), text=study.description or study.study_name or study.studyid)
    sub(gv, odm("ProtocolName"), text=study.protocol_name or study.studyid)
    mdv = sub(study_el, odm("MetaDataVersion"), {
        "OID": f"MDV.{oid_part(study.studyid)}.SDTMIG.{ig_version}",
        "Name": str(define_meta.get("name") or f"Study {study.studyid}, SDTM data definitions"),
        "Description": str(define_meta.get("description") or
                           f"SDTM datasets of study {study.studyid} ({study.study_name})"),
        df("DefineVersion"): DEFINE_VERSION})

    standards = sub(mdv, df("Standards"))
    sub(standards, df("Standard"), {"OID": ig_oid, "Name": "SDTMIG", "Type": "IG",
                                    "Version": ig_version, "Status": "Final"})
    ct_standard = sub(standards, df("Standard"), {"OID": ct_oid, "Name": "CDISC/NCI", "Type": "CT",
                                                  "PublishingSet": "SDTM", "Version": ct_version,
                                                  "Status": "Final"})
    for kind in ("AnnotatedCRF", "SupplementalDoc"):
        docs = [d for d in study.documents if d.kind == kind]
        if docs:
            holder = sub(mdv, df(kind))
            for d in docs:
                sub(holder, df("DocumentRef"), {"leafID": leaf_id(d.id)})
    return root, mdv, standards, ct_standard


def origin(parent: etree._Element, kind: str, source: str | None, predecessor: str | None,
           pages: str | None, acrf_id: str | None) -> None:
    el = sub(parent, df("Origin"), {"Type": kind, "Source": source})
    if kind == "Predecessor" and predecessor:
        translated(el, odm("Description"), predecessor)
    if kind == "Collected" and pages and acrf_id is not None:
        ref = sub(el, df("DocumentRef"), {"leafID": leaf_id(acrf_id)})
        sub(ref, df("PDFPageRef"), {"PageRefs": pages, "Type": "PhysicalRef"})


def where_clause_def(oid: str, dataset: str, conds: tuple[WhereCondition, ...]) -> etree._Element:
    wc = etree.Element(df("WhereClauseDef"), {"OID": oid})
    for cond in conds:
        rc = sub(wc, odm("RangeCheck"), {"Comparator": cond.comparator, "SoftHard": "Soft",
                                         df("ItemOID"): item_oid(dataset, cond.variable)})
        for v in cond.values:
            sub(rc, odm("CheckValue"), text=v)
    return wc


def value_list_def(oid: str, items: list[ValueLevelItem]) -> etree._Element:
    vl = etree.Element(df("ValueListDef"), {"OID": oid})
    for i, v in enumerate(items, start=1):
        ref = sub(vl, odm("ItemRef"), {"ItemOID": v.oid, "OrderNumber": str(i),
                                       "Mandatory": "Yes" if v.mandatory else "No", "MethodOID": v.method_oid})
        sub(ref, df("WhereClauseRef"), {"WhereClauseOID": v.wc_oid})
    return vl


def item_def(pairs: Iterable[tuple[str, object]], description: str) -> etree._Element:
    el = set_attributes(etree.Element(odm("ItemDef")), pairs)
    translated(el, odm("Description"), description)
    return el


def dataset_class_and_leaf(ig: etree._Element, cls: str, subclass: str | None, name: str) -> None:
    class_el = sub(ig, df("Class"), {"Name": cls})
    if subclass:
        sub(class_el, df("SubClass"), {"Name": subclass})
    leaf = sub(ig, df("leaf"), {"ID": leaf_id(name), XL_HREF: f"{name.lower()}.xpt"})
    sub(leaf, df("title"), text=f"{name.lower()}.xpt")


def method_defs(mdv: etree._Element, methods: dict[str, tuple[str, str, str]]) -> None:
    for oid in sorted(methods):
        name, kind, text = methods[oid]
        m = sub(mdv, odm("MethodDef"), {"OID": oid, "Name": name, "Type": kind})
        translated(m, odm("Description"), text)


def comment_defs(mdv: etree._Element, comments: dict[str, str]) -> None:
    for oid in sorted(comments):
        c = sub(mdv, df("CommentDef"), {"OID": oid})
        translated(c, odm("Description"), comments[oid])


def document_leaves(mdv: etree._Element, documents) -> None:
    for d in documents:
        leaf = sub(mdv, df("leaf"), {"ID": leaf_id(d.id), XL_HREF: d.href})
        sub(leaf, df("title"), text=d.title)


def item_group_def(pairs: Iterable[tuple[str, object]], description: str) -> etree._Element:
    el = set_attributes(etree.Element(odm("ItemGroupDef")), pairs)
    translated(el, odm("Description"), description)
    return el


def item_ref(parent: etree._Element, attributes: dict[str, str | None]) -> etree._Element:
    return sub(parent, odm("ItemRef"), attributes)


def codelist_ref(parent: etree._Element, oid: str) -> etree._Element:
    return sub(parent, odm("CodeListRef"), {"CodeListOID": oid})


def value_list_ref(parent: etree._Element, oid: str) -> etree._Element:
    return sub(parent, df("ValueListRef"), {"ValueListOID": oid})
