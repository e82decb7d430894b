"""CDISC ODM 1.3.x ClinicalData: one row per ItemGroupData of a form, one column per ItemOID.

Real exports leave out items that are empty, so the columns are the items seen plus the ones
the specs declare (filled with ""). Key columns come from the hierarchy: SUBJECT (SubjectKey),
SITE (SiteRef/@LocationOID), STUDYEVENT, STUDYEVENTREPEAT, FORMREPEAT, ITEMGROUP, ITEMGROUPREPEAT.
AuditRecord, Signature and Annotation elements are not data and are skipped; records with
TransactionType="Remove" are left out and counted. The XML is parsed without DTDs, entity
expansion or network access.
"""
from __future__ import annotations

from pathlib import Path

from cdisc_dpn.errors import Finding, Severity
from cdisc_dpn.raw.failure import read_error, read_notice, row_list
from cdisc_dpn.spec.model import FormSpec

KEY_COLUMNS = ("SUBJECT", "SITE", "STUDYEVENT", "STUDYEVENTREPEAT", "FORMREPEAT", "ITEMGROUP", "ITEMGROUPREPEAT")


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(node, name: str):
    return (child for child in node if _local(child.tag) == name)


def _removed(node) -> bool:
    return (node.get("TransactionType") or "").lower() == "remove"


def _item_value(item) -> tuple[str, str] | None:
    """(ItemOID, value) of ItemData (Value attribute) or an ODM 1.3.1+ typed ItemData<Type> element."""
    tag = _local(item.tag)
    if not tag.startswith("ItemData"):
        return None
    oid = item.get("ItemOID", "")
    if (item.get("IsNull") or "").lower() == "yes" or _removed(item):
        return oid, ""
    if tag == "ItemData":
        return oid, item.get("Value", "")
    return oid, "".join(item.itertext())


def parse_odm(path: Path, form: FormSpec):
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        return etree.parse(str(path), parser).getroot()
    except (etree.XMLSyntaxError, OSError) as exc:
        raise read_error("READ-ODM", f"not well-formed XML ({exc})", path, "export the ODM file again",
                         form=form) from None


def read_odm(path: Path, form: FormSpec, declared: tuple[str, ...] = ()) -> tuple[list[str], list[list[str]],
                                                                                  list[int], list[Finding]]:
    """Header, rows, source lines and notices of one form (FormOID = form_oid, sheet or name)."""
    root = parse_odm(path, form)
    if _local(root.tag) != "ODM":
        raise read_error("READ-ODM", f"the root element is <{_local(root.tag)}>, not <ODM>", path,
                         "export CDISC ODM 1.3 ClinicalData", form=form)
    form_oid = form.odm_form_oid
    groups = set(form.item_groups)
    records: list[dict[str, str]] = []
    lines: list[int] = []
    items: dict[str, None] = {}
    forms_seen: set[str] = set()
    removed: list[int] = []
    for clinical in _children(root, "ClinicalData"):
        for subject in _children(clinical, "SubjectData"):
            if _removed(subject):
                removed.append(subject.sourceline or 0)
                continue
            site = next((s.get("LocationOID", "") for s in _children(subject, "SiteRef")), "")
            for event in _children(subject, "StudyEventData"):
                for fd in _children(event, "FormData"):
                    forms_seen.add(fd.get("FormOID", ""))
                    if fd.get("FormOID") != form_oid:
                        continue
                    if _removed(event) or _removed(fd):
                        removed.append(fd.sourceline or 0)
                        continue
                    for group in _children(fd, "ItemGroupData"):
                        if groups and group.get("ItemGroupOID") not in groups:
                            continue
                        if _removed(group):
                            removed.append(group.sourceline or 0)
                            continue
                        rec = {"SUBJECT": subject.get("SubjectKey", ""), "SITE": site,
                               "STUDYEVENT": event.get("StudyEventOID", ""),
                               "STUDYEVENTREPEAT": event.get("StudyEventRepeatKey", ""),
                               "FORMREPEAT": fd.get("FormRepeatKey", ""),
                               "ITEMGROUP": group.get("ItemGroupOID", ""),
                               "ITEMGROUPREPEAT": group.get("ItemGroupRepeatKey", "")}
                        for item in group:
                            found = _item_value(item)
                            if found is not None:
                                oid, value = found
                                items.setdefault(oid, None)
                                rec[oid] = value
                        records.append(rec)
                        lines.append(group.sourceline or 0)
    notices: list[Finding] = []
    if form_oid not in forms_seen:
        notices.append(read_notice(
            "READ-ODM-FORM-ABSENT", f"no FormData with FormOID {form_oid!r} in the file (FormOIDs present: "
            f"{', '.join(sorted(o for o in forms_seen if o)) or 'none'}); the form has no records", path,
            "if the form has data, set form_oid: for this form in study.yaml", form=form, severity=Severity.WARNING))
    if removed:
        notices.append(read_notice(
            "READ-ODM-REMOVED", f"{len(removed)} record(s) with TransactionType=\"Remove\" left out (lines "
            f"{row_list(removed)})", path, form=form))
    header = list(KEY_COLUMNS) + [oid for oid in items if oid not in KEY_COLUMNS]
    renamed = {spec: raw for raw, spec in form.columns.items()}
    absent = [c for c in declared if renamed.get(c, c) not in header]
    if absent:
        notices.append(read_notice(
            "READ-ODM-ITEM-ABSENT", f"{len(absent)} declared item(s) never appear in the file and are read as "
            f"empty columns: {', '.join(absent)}", path, "nothing to do if these items were not collected; else "
            "check the ItemOIDs (or the columns: map) of this form", column=absent[0], form=form))
    header += [renamed.get(c, c) for c in absent]
    if len(set(lines)) != len(lines):
        # One-line XML: lines cannot tell records apart, so a record's row is its position in the form.
        lines = list(range(1, len(records) + 1))
    rows = [[rec.get(c, "") for c in header] for rec in records]
    return header, rows, lines, notices
