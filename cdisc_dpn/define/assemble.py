"""build_define: Define-XML 2.1 from the spec, the terminology and the datasets as written.

The tree describes the data that was written: variables in the order of the frame's columns,
character lengths from the XPT writer (`lengths`), numeric types and digits from the values,
codelists with the terms that occur. Everything else (labels, origins, methods, comments,
keys, value-level metadata, documents) comes from the spec. OIDs follow cdisc_dpn.spec.oids.
Layers: profile (what the data says) -> model (vocabularies, OIDs) -> this module (decisions and
findings) -> xml (elements).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd
from lxml import etree

from cdisc_dpn.errors import Finding, Severity
from cdisc_dpn.frames import DomainFrame
from cdisc_dpn.spec.model import (AlgorithmCall, DatasetSpec, OriginSpec, Specs, SuppQualifierSpec,
                                  ValueLevelSpec, VariableSpec, WhereCondition)
from cdisc_dpn.spec.oids import item_group_oid, item_oid, method_oid, value_item_oid
from cdisc_dpn.spec.supp import long_text_qualifier
from cdisc_dpn.standards.sdtmig import SDTMIG_VERSION, domain_metadata
from cdisc_dpn.terminology.ct import Terminology

from . import datatypes as dt
from . import profile
from . import xml
from .codelists import CodelistUse, build_codelists, resolve
from .model import (
    CLASS_ORDER, COMPARATORS, CREATED, DEFAULT_SOURCE, ITEM_GROUP_CLASSES, ORIGIN_SOURCES, ORIGIN_TYPES,
    VLM_RESULT_SUFFIXES, ValueLevelItem, algorithm_summary, leaf_id, method_kind, oid_part, where_clause_oid,
)
from .xmlns import df


def _finding(code: str, severity: Severity, message: str, **where) -> Finding:
    return Finding(code, severity, message, stage="define", **where)


class _DefineAssembler:
    """Walks the specs and the written datasets, decides what define.xml says and collects findings."""

    def __init__(self, specs: Specs, terminology: Terminology, lengths: Mapping[str, Mapping[str, int]],
                 first_rows: Mapping[str, Mapping[str, Any]] | None = None):
        self.specs = specs
        self.first_rows = first_rows or {}
        self.study = specs.study
        self.terminology = terminology
        self.lengths = lengths
        self.findings: list[Finding] = []
        self.codelists: dict[str, CodelistUse] = {}
        self.methods: dict[str, tuple[str, str, str]] = {}      # OID -> (name, type, description)
        self.comments: dict[str, str] = {}
        self.where_clauses: dict[str, tuple[str, tuple[WhereCondition, ...]]] = {}  # OID -> (dataset, conds)
        self.documents = {d.id: d for d in self.study.documents}
        self.acrf = next((d for d in self.study.documents if d.kind == "AnnotatedCRF"), None)
        standards = self.study.standards or {}
        self.ig_version = standards.get("sdtmig") or SDTMIG_VERSION
        self.ct_version = standards.get("ct") or terminology.version
        self.ig_oid = f"STD.SDTMIG.{self.ig_version}"
        self.ct_oid = f"STD.CT.SDTM.{self.ct_version}"
        self.where_rows = profile.WhereRows()

    # ------------------------------------------------------------------ helpers
    def add_method(self, oid: str, target: str, description: str, algorithm: AlgorithmCall | None) -> str:
        self.methods.setdefault(oid, (f"Algorithm to derive {target}", method_kind(algorithm), description))
        return oid

    def add_comment(self, oid: str, text: str | None) -> str | None:
        if not text:
            return None
        self.comments.setdefault(oid, text)
        return oid

    def origin(self, parent: etree._Element, origin: OriginSpec | None, where: str, **loc) -> None:
        if origin is None:
            return
        kind = origin.type
        if kind not in ORIGIN_TYPES:
            self.findings.append(_finding("DEF-ORIGIN", Severity.ERROR,
                                          f"origin type {kind!r} of {where} is not a Define-XML origin type "
                                          f"({', '.join(ORIGIN_TYPES)}); written as Other",
                                          fix="correct the origin in the spec", **loc))
            kind = "Other"
        source = origin.source or DEFAULT_SOURCE.get(kind)
        if source is not None and source not in ORIGIN_SOURCES:
            self.findings.append(_finding("DEF-ORIGIN", Severity.ERROR,
                                          f"origin source {source!r} of {where} is not one of {', '.join(ORIGIN_SOURCES)}",
                                          fix="correct the origin source in the spec", **loc))
            source = None
        xml.origin(parent, kind, source, origin.predecessor, origin.pages,
                   self.acrf.id if self.acrf is not None else None)

    def codelist_ref(self, parent: etree._Element, key: str | None, values: list[str], data_type: str,
                     user: str, hints: dict[str, str] | None = None, **loc) -> None:
        if not key:
            return
        resolved = resolve(self.terminology, key)
        if resolved is None:
            self.findings.append(_finding("DEF-CL-UNKNOWN", Severity.ERROR,
                                          f"codelist {key!r} of {user} is neither in the CT package nor a sponsor "
                                          "codelist; no CodeListRef written",
                                          fix="declare the codelist in mappings/ or correct the code", **loc))
            return
        oid, cl, external = resolved
        use = self.codelists.setdefault(oid, CodelistUse(oid, cl, external))
        ref = xml.codelist_ref(parent, oid)
        use.add([] if external else values, data_type, ref, user, hints)

    # ------------------------------------------------------------------ document
    def build(self, domains: Sequence[DomainFrame], created: str, file_oid: str | None) -> etree._ElementTree:
        if not CREATED.fullmatch(created or ""):
            raise ValueError(f"created must be an ISO 8601 date-time like 2025-01-31T12:00:00, got {created!r}")
        study = self.study
        root, mdv, standards, ct_standard = xml.document(
            study, dict(study.define or {}), created=created, file_oid=file_oid, ig_version=self.ig_version,
            ig_oid=self.ig_oid, ct_version=self.ct_version, ct_oid=self.ct_oid)
        vl_anchor = len(mdv)          # ValueListDefs and WhereClauseDefs are inserted here at the end

        ordered = sorted(domains, key=self._dataset_key)
        value_lists: list[etree._Element] = []
        item_defs: list[etree._Element] = []
        for domain in ordered:
            group, defs, vls = self.dataset(domain)
            mdv.append(group)
            item_defs.extend(defs)
            value_lists.extend(vls)
        for el in item_defs:
            mdv.append(el)
        for i, el in enumerate(value_lists + self._where_clause_defs()):
            mdv.insert(vl_anchor + i, el)

        cl_findings, used_ct = build_codelists(
            mdv, list(self.codelists.values()), self.terminology, ct_standard_oid=self.ct_oid,
            external_versions={k.lower(): str(v) for k, v in (study.standards or {}).items()})
        self.findings.extend(cl_findings)
        if not used_ct:
            standards.remove(ct_standard)
        xml.method_defs(mdv, self.methods)
        xml.comment_defs(mdv, self.comments)
        xml.document_leaves(mdv, study.documents)
        return etree.ElementTree(root)

    def _dataset_key(self, domain: DomainFrame) -> tuple[int, str]:
        cls = (domain.spec.dataset_class or "").upper()
        rank = CLASS_ORDER.index(cls) if cls in CLASS_ORDER else len(CLASS_ORDER)
        return rank, domain.spec.name

    def _where_clause_defs(self) -> list[etree._Element]:
        return [xml.where_clause_def(oid, *self.where_clauses[oid]) for oid in sorted(self.where_clauses)]

    # ------------------------------------------------------------------ datasets
    def dataset(self, domain: DomainFrame) -> tuple[etree._Element, list[etree._Element], list[etree._Element]]:
        spec, frame = domain.spec, domain.frame
        name = spec.name
        is_supp = name.startswith("SUPP") and "QNAM" in frame.columns
        parent_spec = self._supp_parent(spec) if is_supp else None
        domain_attr = (parent_spec.domain if parent_spec is not None else name[4:]) if is_supp else spec.domain
        cls = (spec.dataset_class or ("RELATIONSHIP" if is_supp else "")).upper()
        if cls not in ITEM_GROUP_CLASSES:
            self.findings.append(_finding("DEF-CLASS", Severity.ERROR,
                                          f"dataset class {spec.dataset_class!r} of {name} is not a Define-XML "
                                          "class", dataset=name, fix="use the SDTMIG class name"))
        comment_oid = self.add_comment(f"COM.{name}", spec.comment)
        ig = xml.item_group_def((
            ("OID", item_group_oid(name)), ("Domain", domain_attr), ("Name", name),
            ("Repeating", "Yes" if spec.repeating else "No"), ("IsReferenceData", "Yes" if spec.reference_data else "No"),
            ("SASDatasetName", name), (df("Structure"), spec.structure or "Not specified"),
            ("Purpose", "Tabulation"), (df("StandardOID"), self.ig_oid),
            (df("HasNoData"), "Yes" if len(frame) == 0 else None),
            (df("CommentOID"), comment_oid), (df("ArchiveLocationID"), leaf_id(name))), spec.label or name)

        ig_meta = domain_metadata(name)
        vlm_by_var = self._value_level(domain, parent_spec)
        defs: list[etree._Element] = []
        vl_defs: list[etree._Element] = []
        vlm_defs: list[etree._Element] = []
        for order, column in enumerate(frame.columns, start=1):
            var = spec.variable(column)
            if var is None:
                self.findings.append(_finding("DEF-UNSPECIFIED-VAR", Severity.WARNING,
                                              f"column {column} of {name} has no variable in the spec; described "
                                              "from SDTMIG metadata and the data", dataset=name, variable=column,
                                              fix="add the variable to the dataset's spec"))
            meta = ig_meta.variable(column) if ig_meta is not None else None
            oid = item_oid(name, column)
            key_seq = spec.keys.index(column) + 1 if column in spec.keys else None
            core = var.core if var is not None else (meta.core if meta is not None else "Perm")
            method = None
            if var is not None and (var.method or var.origin.type == "Derived"):
                method = self.add_method(method_oid(name, column), f"{name}.{column}",
                                         var.method or algorithm_summary(var.algorithm), var.algorithm)
            role = (var.role if var is not None and var.role else None) or (meta.role if meta is not None else None)
            xml.item_ref(ig, {"ItemOID": oid, "OrderNumber": str(order),
                                     "Mandatory": "Yes" if core == "Req" else "No",
                                     "KeySequence": str(key_seq) if key_seq else None,
                                     "MethodOID": method, "Role": role or None})
            vlms = vlm_by_var.get(column)
            defs.append(self.item_def(domain, column, var, meta, vl_oid=f"VL.{name}.{column}" if vlms else None))
            if vlms:
                vl_defs.append(xml.value_list_def(f"VL.{name}.{column}", vlms))
                for v in vlms:
                    self.where_clauses.setdefault(v.wc_oid, (name, v.conditions))
                    vlm_defs.append(self.vlm_item_def(name, column, v))
        xml.dataset_class_and_leaf(ig, cls or "SPECIAL PURPOSE", spec.subclass, name)
        return ig, defs + vlm_defs, vl_defs

    def _supp_parent(self, spec: DatasetSpec) -> DatasetSpec | None:
        return next((d for d in self.specs.datasets if d.supp_name == spec.name), None)

    def item_def(self, domain: DomainFrame, column: str, var: VariableSpec | None, meta,
                 vl_oid: str | None) -> etree._Element:
        name = domain.spec.name
        series = domain.frame[column]
        declared_type = var.type if var is not None else (meta.type if meta is not None else None)
        is_num = declared_type == "Num" if declared_type else pd.api.types.is_numeric_dtype(series)
        loc = {"dataset": name, "variable": column}
        values = profile.column_values(series, is_num, self.first_rows.get(name, {}).get(column))
        shown = profile.shown_values(values, is_num)
        length = sig = None
        if is_num:
            data_type, length, sig = dt.numeric_profile(values)
        else:
            data_type = dt.char_type(column, values)
        wanted = var.data_type if var is not None else None
        if wanted:
            if wanted not in dt.DATA_TYPES:
                self.findings.append(_finding("DEF-DATATYPE", Severity.ERROR,
                                              f"data_type {wanted!r} of {name}.{column} is not a Define-XML data "
                                              f"type; {data_type!r} used", fix="correct data_type in the spec", **loc))
            elif is_num and wanted not in dt.NUMERIC_TYPES:
                self.findings.append(_finding("DEF-DATATYPE", Severity.ERROR,
                                              f"numeric {name}.{column} declared as {wanted!r}; {data_type!r} used",
                                              fix="use integer or float for Num variables", **loc))
            elif is_num and wanted == "integer" and data_type == "float":
                self.findings.append(_finding("DEF-DATATYPE", Severity.ERROR,
                                              f"{name}.{column} is declared integer but has decimals; float used",
                                              fix="declare float or round in the derivation", **loc))
            elif not is_num and wanted in dt.NUMERIC_TYPES:
                data_type, length, sig = self._numeric_text(values, wanted, f"{name}.{column}", **loc)
            else:
                data_type = wanted
        if data_type == "text":
            length = self._text_length(name, column, values)
        if var is not None and var.significant_digits is not None and data_type == "float":
            sig = var.significant_digits
        comment_oid = self.add_comment(f"COM.{name}.{column}", var.comment if var is not None else None)
        label = var.label if var is not None else (meta.label if meta is not None else column)
        el = xml.item_def((("OID", item_oid(name, column)), ("Name", column), ("DataType", data_type),
                           ("Length", length if data_type in dt.LENGTH_TYPES else None),
                           ("SignificantDigits", sig if data_type == "float" else None),
                           ("SASFieldName", column), (df("CommentOID"), comment_oid)), label)
        if var is not None and var.codelist:
            self.codelist_ref(el, var.codelist, shown, data_type, f"{name}.{column}",
                              profile.decode_hints(domain.frame, column), **loc)
        if var is not None:
            self.origin(el, var.origin, f"{name}.{column}", **loc)
        if vl_oid:
            xml.value_list_ref(el, vl_oid)
        return el

    def _text_length(self, dataset: str, column: str, values: list[str]) -> int:
        length = (self.lengths.get(dataset) or {}).get(column)
        if length is None:
            length = dt.byte_length(values)
            self.findings.append(_finding("DEF-LENGTH-UNKNOWN", Severity.WARNING,
                                          f"no XPT length given for {dataset}.{column}; the longest value "
                                          f"({length} bytes) is used", dataset=dataset, variable=column,
                                          fix="pass the lengths the XPT writer used"))
        return int(length)

    def _numeric_text(self, values: list[str], data_type: str, what: str, **loc) -> tuple[str, int, int | None]:
        """(data type, Length, SignificantDigits) of a Char column declared integer/float.

        Text results among the numbers ("NEG" in a numeric lab test) make it text: a float ItemDef
        would misdescribe them. Reported so the spec can split the where clause or declare text.
        """
        described, length, sig, text = profile.numeric_text_profile(values, data_type)
        if text:
            shown = ", ".join(repr(v) for v in text[:5]) + (" ..." if len(text) > 5 else "")
            self.findings.append(_finding(
                "DEF-DATATYPE-TEXT", Severity.WARNING,
                f"{what} is declared {data_type} but {len(text)} distinct value(s) are not numbers ({shown}); "
                "described as text", value=text[0],
                fix="declare data_type text, or give the text results a where clause of their own", **loc))
        return described, length, sig

    # ------------------------------------------------------------------ value level
    def _value_level(self, domain: DomainFrame, parent_spec: DatasetSpec | None) -> dict[str, list[ValueLevelItem]]:
        spec, frame = domain.spec, domain.frame
        if parent_spec is not None or (spec.name.startswith("SUPP") and "QNAM" in frame.columns):
            return {"QVAL": self._supp_vlm(domain, parent_spec)} if "QVAL" in frame.columns else {}
        out: dict[str, list[ValueLevelItem]] = {}
        if spec.value_level:
            for vl in spec.value_level:
                if vl.variable not in frame.columns:
                    self.findings.append(_finding("DEF-VLM-VAR", Severity.WARNING,
                                                  f"value-level metadata for {spec.name}.{vl.variable}, which is not "
                                                  "in the dataset, is left out", dataset=spec.name,
                                                  variable=vl.variable, fix="remove it from the spec"))
                    continue
                out.setdefault(vl.variable, []).append(self._explicit_vlm(domain, vl))
            return out
        testcd = f"{spec.domain}TESTCD"
        if spec.dataset_class.upper().startswith("FINDINGS") and testcd in frame.columns:
            codes = sorted({v for v in dt.char_values(profile.distinct(frame[testcd]))})
            for suffix in VLM_RESULT_SUFFIXES:
                column = f"{spec.domain}{suffix}"
                if column not in frame.columns:
                    continue
                items = [self._generated_vlm(domain, column, testcd, code) for code in codes]
                items = [i for i in items if i is not None]
                if items:
                    out[column] = items
        return out

    def _rows(self, frame: pd.DataFrame, conds: tuple[WhereCondition, ...], *columns: str) -> pd.DataFrame:
        """The rows a where clause selects, only the columns asked for (those in the frame): a subset
        of the whole frame would copy every column for each clause."""
        mask = self.where_rows.mask(frame, conds).to_numpy()
        return frame.loc[mask, [c for c in dict.fromkeys(columns) if c in frame.columns]]

    def _explicit_vlm(self, domain: DomainFrame, vl: ValueLevelSpec) -> ValueLevelItem:
        spec, frame = domain.spec, domain.frame
        name, column = spec.name, vl.variable
        for c in vl.where_clause:
            if c.comparator not in COMPARATORS:
                self.findings.append(_finding("DEF-WHERE", Severity.ERROR,
                                              f"comparator {c.comparator!r} in value-level metadata of "
                                              f"{name}.{column} is not one of {', '.join(COMPARATORS)}",
                                              dataset=name, variable=column, fix="correct the where clause"))
        wc_oid, key = where_clause_oid(name, vl.where_clause)
        single = len(vl.where_clause) == 1 and vl.where_clause[0].comparator == "EQ" and \
            len(vl.where_clause[0].values) == 1
        oid = value_item_oid(name, column, oid_part(vl.where_clause[0].values[0]) if single else key)
        rows = self._rows(frame, vl.where_clause, column, f"{spec.domain}TEST")
        parent = spec.variable(column)
        is_num = (parent.type == "Num") if parent is not None else pd.api.types.is_numeric_dtype(frame[column])
        distinct = profile.distinct(rows[column])
        values = profile.shown_values(dt.num_values(distinct) if is_num else dt.char_values(distinct), is_num)
        data_type = vl.data_type if vl.data_type in dt.DATA_TYPES else "text"
        if vl.data_type not in dt.DATA_TYPES:
            self.findings.append(_finding("DEF-DATATYPE", Severity.ERROR,
                                          f"value-level data_type {vl.data_type!r} of {name}.{column} ({key}) is not "
                                          "a Define-XML data type; text used", dataset=name, variable=column,
                                          fix="correct data_type in the spec"))
        length = sig = None
        if data_type == "text":
            length = vl.length or dt.byte_length(values)
        elif data_type in dt.NUMERIC_TYPES:
            if is_num:
                inferred, length, sig = dt.numeric_profile(dt.num_values(distinct))
            else:
                data_type, length, sig = self._numeric_text(values, data_type, f"{name}.{column} ({key})",
                                                            dataset=name, variable=column)
            if vl.length:
                length = vl.length
        if data_type == "float":
            sig = vl.significant_digits if vl.significant_digits is not None else (sig or 0)
        method = None
        if vl.method:
            method = self.add_method(f"{method_oid(name, column)}.{key}", f"{name}.{column} ({key})", vl.method, None)
        elif vl.origin is not None and vl.origin.type == "Derived" and parent is not None:
            method = self.add_method(method_oid(name, column), f"{name}.{column}",
                                     parent.method or algorithm_summary(parent.algorithm), parent.algorithm)
        description = self._vlm_description(frame, rows, spec, parent, key)
        if vl.unit:
            description += f" (unit: {vl.unit})"
        return ValueLevelItem(oid, wc_oid, vl.where_clause, column, description, data_type, length, sig, vl.codelist,
                    values, vl.origin or (parent.origin if parent is not None else None), method,
                    self.add_comment(f"COM.{name}.{column}.{key}", vl.comment), vl.mandatory)

    def _generated_vlm(self, domain: DomainFrame, column: str, testcd: str, code: str) -> ValueLevelItem | None:
        spec, frame = domain.spec, domain.frame
        conds = (WhereCondition(testcd, "EQ", (code,)),)
        rows = self._rows(frame, conds, column, f"{spec.domain}TEST")
        parent = spec.variable(column)
        is_num = (parent.type == "Num") if parent is not None else pd.api.types.is_numeric_dtype(frame[column])
        if is_num:
            nums = dt.num_values(profile.distinct(rows[column]))
            if not nums:
                return None
            data_type, length, sig = dt.numeric_profile(nums)
            values = profile.shown_values(nums, True)
        else:
            values = dt.char_values(profile.distinct(rows[column]))
            if not values:
                return None
            data_type, length, sig = dt.char_value_profile(column, values)
            if data_type == "text":
                length = dt.byte_length(values)
        wc_oid, key = where_clause_oid(spec.name, conds)
        method = None
        if parent is not None and (parent.method or parent.origin.type == "Derived"):
            method = method_oid(spec.name, column)
            self.add_method(method, f"{spec.name}.{column}",
                            parent.method or algorithm_summary(parent.algorithm), parent.algorithm)
        return ValueLevelItem(value_item_oid(spec.name, column, oid_part(code)), wc_oid, conds, column,
                    self._vlm_description(frame, rows, spec, parent, code), data_type, length,
                    sig if data_type == "float" else None, None, values,
                    parent.origin if parent is not None else None, method, None, False)

    @staticmethod
    def _vlm_description(frame, rows, spec: DatasetSpec, parent: VariableSpec | None, key: str) -> str:
        label = parent.label if parent is not None else key
        test_col = f"{spec.domain}TEST"
        test = None
        if test_col in rows.columns and len(rows):
            names = sorted({v for v in dt.char_values(profile.distinct(rows[test_col])) if v})
            test = ", ".join(names) if names else None   # a where clause may cover several tests
        return f"{label} for {test or key}"

    def _supp_vlm(self, domain: DomainFrame, parent_spec: DatasetSpec | None) -> list[ValueLevelItem]:
        name, frame = domain.spec.name, domain.frame
        present = dt.char_values(profile.distinct(frame["QNAM"]))
        declared = {q.qnam: q for q in (parent_spec.supplemental if parent_spec is not None else ())}
        if parent_spec is not None:       # QNAMs implied by `long_text: supp` variables (AETERM1, AETERM2...)
            for qnam in sorted(set(present) - set(declared)):
                implied = long_text_qualifier(parent_spec, qnam)
                if implied is not None:
                    declared[qnam] = implied
        order = [q for q in declared if q in set(present)] + sorted(set(present) - set(declared))
        out = []
        for qnam in order:
            q: SuppQualifierSpec | None = declared.get(qnam)
            if q is None:
                self.findings.append(_finding("DEF-SUPP-QNAM", Severity.WARNING,
                                              f"QNAM {qnam} occurs in {name} but is not declared in the parent's "
                                              "supplemental qualifiers; described as text", dataset=name,
                                              variable="QVAL", value=qnam,
                                              fix="declare the qualifier under `supplemental` in the parent spec"))
            conds = (WhereCondition("QNAM", "EQ", (qnam,)),)
            rows = self._rows(frame, conds, "QVAL", "QLABEL")
            values = dt.char_values(profile.distinct(rows["QVAL"]))
            data_type = (q.data_type if q is not None else "text") or "text"
            if data_type not in dt.DATA_TYPES:
                self.findings.append(_finding("DEF-DATATYPE", Severity.ERROR,
                                              f"data_type {data_type!r} of {name} QNAM {qnam} is not a Define-XML "
                                              "data type; text used", dataset=name, variable="QVAL",
                                              fix="correct data_type in the spec"))
                data_type = "text"
            length = sig = None
            if data_type == "text":
                length = dt.byte_length(values)
            elif data_type in dt.NUMERIC_TYPES:
                data_type, length, sig = self._numeric_text(values, data_type, f"{name} QNAM {qnam}",
                                                            dataset=name, variable="QVAL")
                sig = (sig or 0) if data_type == "float" else None
            wc_oid, _key = where_clause_oid(name, conds)
            method = None
            if q is not None and (q.method or q.origin.type == "Derived"):
                method = self.add_method(f"{method_oid(name, 'QVAL')}.{oid_part(qnam)}", f"{name}.QVAL ({qnam})",
                                         q.method or algorithm_summary(q.algorithm), q.algorithm)
            comment = self.add_comment(f"COM.{name}.QVAL.{oid_part(qnam)}", q.comment if q is not None else None)
            labels = dt.char_values(profile.distinct(rows["QLABEL"])) if "QLABEL" in rows.columns else []
            description = q.qlabel if q is not None else (labels[0] if labels else qnam)
            out.append(ValueLevelItem(value_item_oid(name, "QVAL", oid_part(qnam)), wc_oid, conds, qnam, description,
                            data_type, length, sig, q.codelist if q is not None else None, values,
                            q.origin if q is not None else None, method, comment, False))
        return out

    def vlm_item_def(self, dataset: str, column: str, v: ValueLevelItem) -> etree._Element:
        el = xml.item_def((("OID", v.oid), ("Name", v.name), ("DataType", v.data_type),
                           ("Length", v.length if v.data_type in dt.LENGTH_TYPES else None),
                           ("SignificantDigits", v.significant_digits if v.data_type == "float" else None),
                           ("SASFieldName", v.name[:8]), (df("CommentOID"), v.comment_oid)), v.description)
        loc = {"dataset": dataset, "variable": column}
        self.codelist_ref(el, v.codelist, v.values, v.data_type, f"{dataset}.{column} ({v.oid})", **loc)
        self.origin(el, v.origin, f"{dataset}.{column} ({v.oid})", **loc)
        return el


def build_define(specs: Specs, terminology: Terminology, domains: Sequence[DomainFrame],
                 lengths: Mapping[str, Mapping[str, int]], *, created: str,
                 file_oid: str | None = None, first_rows: Mapping[str, Mapping[str, Any]] | None = None,
                 ) -> tuple[etree._ElementTree, list[Finding]]:
    """Define-XML 2.1 tree for the written datasets plus the findings met while describing them.

    `lengths` maps dataset -> variable -> the character length written to the XPT (bytes);
    `created` is the run's ISO date-time (CreationDateTime), never the clock.
    `first_rows`: dataset -> variable -> the first row of each distinct value (the writer's
    `CodedText.first`), so the columns the writer coded are not factorized again.
    """
    assembler = _DefineAssembler(specs, terminology, lengths, first_rows)
    tree = assembler.build(domains, created, file_oid)
    return tree, assembler.findings
