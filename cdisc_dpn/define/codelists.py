"""CodeList elements: which terms go in, decoded or enumerated, NCI aliases, sponsor extensions.

Term selection: a CodeList lists the terms that occur in the data (FDA TCG: the define shows
the values submitted), in the order of the CT package / sponsor list. A list whose variables are
all empty lists every term when it has at most ALL_TERMS_LIMIT of them; a bigger one is dropped
together with its CodeListRefs (notice DEF-CL-EMPTY). Values in the data that are not terms are
still listed (a define must describe the data) as def:ExtendedValue="Yes", with a warning for
extensible lists and an error for non-extensible and sponsor lists.

Decoded (CodeListItem + Decode) vs enumerated (EnumeratedItem): a --TESTCD-style list paired with
a test-name list (LBTESTCD/LBTEST, QS ...TC/...TN) is decoded with the test names of the same
C-code, like the CDISC example; other lists are decoded when some listed term has a decode (NCI
preferred term, sponsor decode or the paired column in the data) that differs from the value
other than by case, enumerated otherwise (e.g. RACE WHITE/White stays enumerated).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from cdisc_dpn.errors import Finding, Severity
from cdisc_dpn.spec.oids import codelist_oid
from cdisc_dpn.terminology.ct import Codelist, Terminology, normalise

from .xmlns import df, odm, sub, translated

ALL_TERMS_LIMIT = 50
EXTERNAL_DICTIONARIES = {"MEDDRA": "MedDRA", "WHODRUG": "WHODrug", "LOINC": "LOINC", "SNOMED": "SNOMED"}


@dataclass
class CodelistUse:
    """Everything the define needs to write one CodeList, gathered while describing variables."""

    oid: str
    codelist: Codelist | None
    external: str | None = None                     # dictionary name for ExternalCodeList
    values: list[str] = field(default_factory=list)  # values seen in the data, first-seen order
    data_types: set[str] = field(default_factory=set)
    refs: list[etree._Element] = field(default_factory=list)   # CodeListRef elements pointing here
    users: list[str] = field(default_factory=list)             # DS.VAR for messages
    hints: dict[str, str] = field(default_factory=dict)        # value -> decode seen in the data

    def add(self, values: list[str], data_type: str, ref: etree._Element, user: str,
            hints: dict[str, str] | None = None) -> None:
        seen = set(self.values)
        for v in values:
            if v not in seen:
                seen.add(v)
                self.values.append(v)
        self.data_types.add(data_type)
        self.refs.append(ref)
        self.users.append(user)
        for k, v in (hints or {}).items():
            self.hints.setdefault(k, v)


def resolve(terminology: Terminology, key: str) -> tuple[str, Codelist | None, str | None] | None:
    """(OID, codelist, external dictionary) for a spec codelist key, None when unknown."""
    cl = terminology.get(key)
    if cl is not None:
        return codelist_oid(cl.code), cl, None
    external = EXTERNAL_DICTIONARIES.get(key.upper())
    if external:
        return codelist_oid(key.upper()), None, external
    return None


def _paired(terminology: Terminology, cl: Codelist) -> Codelist | None:
    """The test-name list paired with a test-code list (LBTESTCD -> LBTEST, CGI01TC -> CGI01TN)."""
    name = cl.submission_name or ""
    for code_suffix, name_suffix in (("CD", ""), ("TC", "TN")):
        if name.endswith(code_suffix) and len(name) > len(code_suffix):
            other = terminology.get(name[: -len(code_suffix)] + name_suffix)
            if other is not None and other is not cl and not other.sponsor:
                return other
    return None


def _is_name_list(terminology: Terminology, cl: Codelist) -> bool:
    """True for the test-name side of a pair (LBTEST, ...TN): enumerated, like the CDISC example."""
    name = cl.submission_name or ""
    partners = [name + "CD"] + ([name[:-2] + "TC"] if name.endswith("TN") else [])
    return any((other := terminology.get(p)) is not None and other is not cl and not other.sponsor
               for p in partners)


def build_codelists(parent: etree._Element, uses: list[CodelistUse], terminology: Terminology, *,
                    ct_standard_oid: str | None, external_versions: dict[str, str]) -> tuple[list[Finding], bool]:
    """Append CodeList elements (sorted by OID); returns findings and whether a CDISC list was written."""
    findings: list[Finding] = []
    used_ct = False
    for use in sorted(uses, key=lambda u: u.oid):
        data_type = "text"
        if use.data_types and use.data_types <= {"integer"}:
            data_type = "integer"
        elif use.data_types and use.data_types <= {"integer", "float"}:
            data_type = "float"
        if use.codelist is None:
            el = sub(parent, odm("CodeList"), {"OID": use.oid, "Name": use.external or use.oid,
                                               "DataType": data_type})
            sub(el, odm("ExternalCodeList"), {"Dictionary": use.external,
                                              "Version": external_versions.get((use.external or "").lower())})
            continue
        cl = use.codelist
        by_value = {t.value: t for t in cl.terms}
        values = [t.value for t in cl.terms if t.value in set(use.values)]
        extras = sorted(v for v in use.values if v not in by_value)
        if not use.values:
            if len(cl.terms) <= ALL_TERMS_LIMIT:
                values = [t.value for t in cl.terms]
            else:
                for ref in use.refs:
                    ref.getparent().remove(ref)
                findings.append(Finding(
                    "DEF-CL-EMPTY", Severity.NOTICE,
                    f"codelist {cl.code} ({cl.name}) has {len(cl.terms)} terms and none occurs in "
                    f"{', '.join(use.users)}; the CodeListRef is left out", stage="define",
                    fix="nothing to do unless the variable should have data"))
                continue
        for v in extras:
            if cl.sponsor or not cl.extensible:
                findings.append(Finding(
                    "DEF-CL-VALUE", Severity.ERROR,
                    f"value {v!r} of {', '.join(use.users)} is not a term of "
                    f"{'sponsor' if cl.sponsor else 'non-extensible'} codelist {cl.code} ({cl.name})",
                    stage="define", value=v, fix="recode the value or correct the codelist in the spec"))
            else:
                findings.append(Finding(
                    "DEF-CL-EXTENDED", Severity.WARNING,
                    f"value {v!r} of {', '.join(use.users)} extends codelist {cl.code} ({cl.name}) but is not "
                    "declared as a sponsor extension", stage="define", value=v,
                    fix="declare it under the codelist's sponsor extensions in mappings/"))
        paired = None if cl.sponsor else _paired(terminology, cl)
        name_side = not cl.sponsor and _is_name_list(terminology, cl)
        paired_by_code = {t.code: t.value for t in paired.terms if t.code} if paired else {}

        def decode_of(value: str) -> str | None:
            term = by_value.get(value)
            if term is not None and term.code and term.code in paired_by_code:
                return paired_by_code[term.code]
            if value in use.hints:
                return use.hints[value]
            return term.decode if term is not None else None

        listed = values + extras
        decodes = {v: decode_of(v) for v in listed}
        decoded = bool(paired) or not name_side and any(d and normalise(d) != normalise(v) for v, d in decodes.items())
        attrs = {"OID": use.oid, "Name": cl.name, "DataType": data_type}
        if not cl.sponsor:
            attrs[df("StandardOID")] = ct_standard_oid
            used_ct = True
        el = sub(parent, odm("CodeList"), attrs)
        for v in listed:
            term = by_value.get(v)
            extended = term is None or term.extended
            item_attrs = {"CodedValue": v, df("ExtendedValue"): "Yes" if extended and not cl.sponsor else None}
            if decoded:
                item = sub(el, odm("CodeListItem"), item_attrs)
                translated(item, odm("Decode"), decodes[v] or v)
            else:
                item = sub(el, odm("EnumeratedItem"), item_attrs)
            if not cl.sponsor and term is not None and term.code and not term.extended:
                sub(item, odm("Alias"), {"Context": "nci:ExtCodeID", "Name": term.code})
        if not cl.sponsor:
            sub(el, odm("Alias"), {"Context": "nci:ExtCodeID", "Name": cl.code})
    return findings, used_ct
