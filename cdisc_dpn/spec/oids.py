"""OID conventions shared by the Dataset-JSON writer and the Define-XML builder."""
from __future__ import annotations


def item_group_oid(dataset: str) -> str:
    return f"IG.{dataset.upper()}"


def item_oid(dataset: str, variable: str) -> str:
    return f"IT.{dataset.upper()}.{variable.upper()}"


def value_item_oid(dataset: str, variable: str, testcd: str) -> str:
    return f"IT.{dataset.upper()}.{variable.upper()}.{testcd.upper()}"


def codelist_oid(codelist_id: str) -> str:
    return f"CL.{codelist_id}"


def method_oid(dataset: str, variable: str) -> str:
    return f"MT.{dataset.upper()}.{variable.upper()}"
