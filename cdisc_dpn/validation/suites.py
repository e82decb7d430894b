"""Great Expectations 1.x suites generated from a DatasetSpec (declaring the checks, not running them).

A suite is a JSON-able dict in the GX 1.x layout: {"name", "expectations": [{"type", "kwargs",
"meta"}], "meta"}. Every expectation's meta carries rule_id, severity, variable, spec_file,
spec_line, a key unique within the suite, and the placeholders of its message template (params).
Severity and wording come from the catalogue (validation/rules.yaml).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from cdisc_dpn.atomic import write_atomic
from cdisc_dpn.spec.model import DatasetSpec, Specs, SpecLocation, ValueLevelSpec, VariableSpec
from cdisc_dpn.standards.kinds import (  # noqa: F401  (ISO8601_*: the patterns the suites use)
    ISO8601_DTC, ISO8601_DUR, NUMBER_PATTERN, is_datetime_name, is_duration_name,
)
from cdisc_dpn.terminology.ct import Terminology
from cdisc_dpn.validation.catalogue import Catalogue, load_catalogue

SUITE_FORMAT = "great_expectations-1.x"

BLANK = r"^\s*$"
INTEGER_TEXT = r"^\s*$|^\s*[-+]?[0-9]+\s*$"
FLOAT_TEXT = rf"^\s*$|^\s*{NUMBER_PATTERN}\s*$"
NUMERIC_DTYPES = ["Float32", "Float64", "Int16", "Int32", "Int64", "Int8", "float16", "float32", "float64",
                  "int16", "int32", "int64", "int8", "uint16", "uint32", "uint64", "uint8"]


class _SuiteBuilder:
    def __init__(self, spec: DatasetSpec, catalogue: Catalogue):
        self.spec = spec
        self.catalogue = catalogue
        self.expectations: list[dict[str, Any]] = []

    def add(self, rule_id: str, type_: str, kwargs: dict[str, Any], *, variable: str | None,
            where: SpecLocation, params: Mapping[str, Any] | None = None,
            condition_columns: Sequence[str] = (), severity: str | None = None) -> None:
        rule = self.catalogue.expectation(rule_id)
        meta: dict[str, Any] = {
            "key": f"{self.spec.name}-{len(self.expectations) + 1:04d}",
            "rule_id": rule_id,
            "severity": severity or rule.severity.value,
            "spec_file": where.file if where.file != "<none>" else (self.spec.file or self.spec.where.file),
            "spec_line": where.line,
        }
        if variable:
            meta["variable"] = variable
        if params:
            meta["params"] = dict(params)
        if condition_columns:
            meta["condition_columns"] = sorted(set(condition_columns))
        self.expectations.append({"type": type_, "kwargs": kwargs, "meta": meta})


def _condition(vl: ValueLevelSpec) -> tuple[str, str, list[str]]:
    """pandas query text, human text and columns of a value-level where clause."""
    parts, text, columns = [], [], []
    for cond in vl.where_clause:
        values = [str(v) for v in cond.values]
        columns.append(cond.variable)
        comparator = cond.comparator.upper()
        if comparator in ("EQ", "NE") and len(values) == 1:
            op = "==" if comparator == "EQ" else "!="
            parts.append(f"{cond.variable} {op} {json.dumps(values[0])}")
            text.append(f"{cond.variable} {'=' if op == '==' else '≠'} {values[0]}")
        else:
            op = "not in" if comparator in ("NE", "NOTIN") else "in"
            parts.append(f"{cond.variable} {op} {json.dumps(values)}")
            text.append(f"{cond.variable} {op} ({', '.join(values)})")
    return " and ".join(parts), (" (when " + " and ".join(text) + ")") if text else "", columns


def _unit_variable(spec: DatasetSpec, name: str) -> str | None:
    if name.endswith("ORRES"):
        candidate = name + "U"
    elif name.endswith(("STRESC", "STRESN")):
        candidate = name[:-6] + "STRESU"
    elif name.endswith("U"):
        candidate = name
    else:
        return None
    return candidate if spec.variable(candidate) is not None else None


def _codelist_expectation(b: _SuiteBuilder, terminology: Terminology, var_name: str, codelist: str,
                          where: SpecLocation, extra: dict[str, Any] | None = None, condition: str = "",
                          condition_columns: Sequence[str] = ()) -> None:
    cl = terminology.get(codelist)
    if cl is None:
        return
    rule_id = "DPN-GX-CT-EXT" if cl.extensible else "DPN-GX-CT"
    kwargs: dict[str, Any] = {"column": var_name, "value_set": sorted(set(cl.values()) | {""})}
    kwargs.update(extra or {})
    label = cl.code if cl.submission_name in ("", cl.code) else f"{cl.submission_name} ({cl.code})"
    b.add(rule_id, "expect_column_values_to_be_in_set", kwargs, variable=var_name, where=where,
          params={"codelist": label, "condition": condition}, condition_columns=condition_columns)


def build_suite(spec: DatasetSpec, terminology: Terminology, *, lengths: Mapping[str, int] | None = None,
                column_order: Sequence[str] | None = None, catalogue: Catalogue | None = None) -> dict:
    """The GX suite of one dataset, as a deterministic JSON-able dict.

    `lengths` (variable -> declared XPT length) is used for Char variables whose spec length is
    not fixed; `column_order` replaces the spec's full variable list in the column-order check
    (used when validating another tool's files against SDTMIG metadata).
    """
    catalogue = catalogue or load_catalogue()
    b = _SuiteBuilder(spec, catalogue)
    variables = sorted(spec.variables, key=lambda v: v.order)
    lengths = lengths or {}
    ordered = list(column_order) if column_order is not None else [v.name for v in variables]
    # Against SDTMIG metadata alone (another tool's files) the order is advisory: SDTM model variables
    # a sponsor adds have no fixed position in the IG, so a different order is a warning there.
    b.add("DPN-GX-COL-ORDER", "expect_table_columns_to_match_ordered_list", {"column_list": ordered},
          variable=None, where=spec.where, severity="warning" if column_order is not None else None)
    for v in variables:
        if v.core == "Req":
            b.add("DPN-GX-REQ-VAR", "expect_column_to_exist", {"column": v.name}, variable=v.name, where=v.where)
        elif v.core == "Exp":
            b.add("DPN-GX-EXP-VAR", "expect_column_to_exist", {"column": v.name}, variable=v.name, where=v.where)
    for v in variables:
        _variable_expectations(b, spec, v, terminology, lengths.get(v.name))
    _key_expectations(b, spec)
    for vl in spec.value_level:
        _value_level_expectations(b, spec, vl, terminology)
    return {
        "name": spec.name,
        "expectations": b.expectations,
        "meta": {"dataset": spec.name, "format": SUITE_FORMAT, "generator": "cdisc-dpn",
                 "spec_file": spec.file or spec.where.file, "ct_version": terminology.version},
    }


def _variable_expectations(b: _SuiteBuilder, spec: DatasetSpec, v: VariableSpec, terminology: Terminology,
                           declared_length: int | None) -> None:
    col = {"column": v.name}
    if v.type == "Num":
        b.add("DPN-GX-TYPE-NUM", "expect_column_values_to_be_in_type_list",
              {**col, "type_list": NUMERIC_DTYPES}, variable=v.name, where=v.where)
    else:
        b.add("DPN-GX-TYPE-CHAR", "expect_column_values_to_be_in_type_list", {**col, "type_list": ["str"]},
              variable=v.name, where=v.where)
    if v.core == "Req":
        b.add("DPN-GX-REQ-NULL", "expect_column_values_to_not_be_null", dict(col), variable=v.name, where=v.where)
        if v.type != "Num":
            b.add("DPN-GX-REQ-EMPTY", "expect_column_values_to_not_match_regex", {**col, "regex": BLANK},
                  variable=v.name, where=v.where)
    if v.type == "Num":
        return
    if v.codelist:
        _codelist_expectation(b, terminology, v.name, v.codelist, v.where)
    max_length = v.length or declared_length
    if max_length:
        b.add("DPN-GX-LENGTH", "expect_column_value_lengths_to_be_between", {**col, "max_value": int(max_length)},
              variable=v.name, where=v.where, params={"max_length": int(max_length)})
    if is_datetime_name(v.name):
        b.add("DPN-GX-ISO8601-DTC", "expect_column_values_to_match_regex", {**col, "regex": ISO8601_DTC},
              variable=v.name, where=v.where)
    elif is_duration_name(v.name):
        b.add("DPN-GX-ISO8601-DUR", "expect_column_values_to_match_regex", {**col, "regex": ISO8601_DUR},
              variable=v.name, where=v.where)


def _key_expectations(b: _SuiteBuilder, spec: DatasetSpec) -> None:
    names = {v.name for v in spec.variables}
    seq = f"{spec.domain}SEQ"
    seq_keys: list[str] = []
    if "USUBJID" in names and seq in names:
        seq_keys = ["USUBJID", seq]
        seq_var = spec.variable(seq)
        b.add("DPN-GX-SEQ-UNIQUE", "expect_compound_columns_to_be_unique",
              {"column_list": seq_keys, "ignore_row_if": "any_value_is_missing"}, variable=seq,
              where=seq_var.where if seq_var else spec.where)
    keys = [k for k in spec.keys if k in names]
    # keys that include USUBJID + --SEQ are unique whenever USUBJID + --SEQ is
    redundant = bool(seq_keys) and set(seq_keys) <= set(keys)
    if keys and not redundant:
        b.add("DPN-GX-KEY-UNIQUE", "expect_compound_columns_to_be_unique",
              {"column_list": keys, "ignore_row_if": "all_values_are_missing"}, variable=None, where=spec.where,
              params={"keys": ", ".join(keys)})


def _value_level_expectations(b: _SuiteBuilder, spec: DatasetSpec, vl: ValueLevelSpec,
                              terminology: Terminology) -> None:
    target = spec.variable(vl.variable)
    if target is None or not vl.where_clause:
        return
    query, text, columns = _condition(vl)
    if any(spec.variable(c) is None for c in columns):
        return
    cond = {"row_condition": query, "condition_parser": "pandas"}
    where = vl.where
    if vl.unit:
        unit_var = _unit_variable(spec, vl.variable)
        if unit_var:
            units = sorted({u.strip() for u in vl.unit.split("|") if u.strip()})
            b.add("DPN-GX-VL-UNIT", "expect_column_values_to_be_in_set",
                  {"column": unit_var, "value_set": units, **cond}, variable=unit_var, where=where,
                  params={"units": " or ".join(units), "condition": text}, condition_columns=columns)
    if target.type != "Num" and vl.data_type in ("integer", "float"):
        regex = INTEGER_TEXT if vl.data_type == "integer" else FLOAT_TEXT
        b.add("DPN-GX-VL-NUMERIC", "expect_column_values_to_match_regex",
              {"column": vl.variable, "regex": regex, **cond}, variable=vl.variable, where=where,
              params={"data_type": "an integer" if vl.data_type == "integer" else "a number", "condition": text},
              condition_columns=columns)
    if vl.codelist and target.type != "Num":
        _codelist_expectation(b, terminology, vl.variable, vl.codelist, where, cond, text, columns)
    if vl.length and target.type != "Num":
        b.add("DPN-GX-LENGTH", "expect_column_value_lengths_to_be_between",
              {"column": vl.variable, "max_value": int(vl.length), **cond}, variable=vl.variable, where=where,
              params={"max_length": int(vl.length), "condition": text}, condition_columns=columns)
    if vl.mandatory:
        if target.type == "Num":
            b.add("DPN-GX-VL-REQ", "expect_column_values_to_not_be_null", {"column": vl.variable, **cond},
                  variable=vl.variable, where=where, params={"condition": text}, condition_columns=columns)
        else:
            b.add("DPN-GX-VL-REQ", "expect_column_values_to_not_match_regex",
                  {"column": vl.variable, "regex": BLANK, **cond}, variable=vl.variable, where=where,
                  params={"condition": text}, condition_columns=columns)


def suite_json(suite: Mapping[str, Any]) -> str:
    return json.dumps(suite, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    write_atomic(path, text)


def write_suites(specs: Specs | Iterable[DatasetSpec], terminology: Terminology, out_dir: Path) -> list[Path]:
    """Write validation/suites/<dataset>.json for every dataset spec; returns the paths, sorted."""
    datasets = specs.datasets if isinstance(specs, Specs) else tuple(specs)
    catalogue = load_catalogue()
    paths = []
    for spec in sorted(datasets, key=lambda d: d.name):
        path = Path(out_dir) / f"{spec.name.lower()}.json"
        _write_atomic(path, suite_json(build_suite(spec, terminology, catalogue=catalogue)))
        paths.append(path)
    return paths


def load_suite(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
