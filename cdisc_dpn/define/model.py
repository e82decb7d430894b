"""What define.xml says, before it is XML: the Define-XML vocabularies used, the value-level entry, and
the OIDs (built from names, so the same study gives the same OIDs; see cdisc_dpn.spec.oids)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from cdisc_dpn.spec.model import AlgorithmCall, OriginSpec, WhereCondition

CLASS_ORDER = ("TRIAL DESIGN", "SPECIAL PURPOSE", "INTERVENTIONS", "EVENTS", "FINDINGS", "FINDINGS ABOUT",
               "RELATIONSHIP", "STUDY REFERENCE")
ITEM_GROUP_CLASSES = CLASS_ORDER + ("REFERENCE DATA STRUCTURE",)
ORIGIN_TYPES = ("Assigned", "Collected", "Derived", "Not Available", "Other", "Predecessor", "Protocol")
ORIGIN_SOURCES = ("Investigator", "Sponsor", "Subject", "Vendor")
DEFAULT_SOURCE = {"Collected": "Investigator", "Derived": "Sponsor", "Assigned": "Sponsor",
                  "Protocol": "Sponsor", "Predecessor": "Sponsor"}
COMPARATORS = ("LT", "LE", "GT", "GE", "EQ", "NE", "IN", "NOTIN")
VLM_RESULT_SUFFIXES = ("ORRES", "STRESC", "STRESN")
CREATED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
_OID_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


@dataclass
class ValueLevelItem:
    """One value-level entry ready to be written."""

    oid: str
    wc_oid: str
    conditions: tuple[WhereCondition, ...]
    name: str
    description: str
    data_type: str
    length: int | None
    significant_digits: int | None
    codelist: str | None
    values: list[str]
    origin: OriginSpec | None
    method_oid: str | None
    comment_oid: str | None
    mandatory: bool
    hints: dict[str, str] = field(default_factory=dict)


def oid_part(text: str) -> str:
    return _OID_UNSAFE.sub("_", str(text)) or "_"


def leaf_id(key: str) -> str:
    return f"LF.{oid_part(key)}"


def where_clause_oid(dataset: str, conds: tuple[WhereCondition, ...]) -> tuple[str, str]:
    """(WhereClauseDef OID, the key naming the condition in value-level OIDs)."""
    parts, keys = [], []
    for c in conds:
        if c.comparator == "EQ" and len(c.values) == 1:
            parts.append(f"{c.variable}.{oid_part(c.values[0])}")
        else:
            parts.append(f"{c.variable}.{c.comparator}.{'_'.join(oid_part(v) for v in c.values)}")
        keys.append(parts[-1].split(".", 1)[1])
    return f"WC.{dataset}." + ".".join(parts), ".".join(keys)


def param_text(value) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={param_text(v)}" for k, v in sorted(value.items()))
    if isinstance(value, (list, tuple)):
        return ", ".join(param_text(v) for v in value)
    return str(value)


def algorithm_summary(algorithm: AlgorithmCall | None) -> str:
    """The method text of a derived variable whose spec gives none."""
    if algorithm is None:
        return "Derived by the sponsor."
    params = "; ".join(f"{k}: {param_text(v)}" for k, v in sorted(algorithm.params.items()))
    return f"Derived with the {algorithm.name} algorithm" + (f" ({params})." if params else ".")


def method_kind(algorithm: AlgorithmCall | None) -> str:
    return "Imputation" if algorithm is not None and "imput" in algorithm.name.lower() else "Computation"
