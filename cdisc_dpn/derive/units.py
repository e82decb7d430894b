"""Standard results and units for findings, from the study's unit conversion table (mappings/units.yaml).

STRESC keeps qualifiers such as "<0.5" (converted: "<" + converted number) and text results;
STRESN is numeric only for plain numbers. Ranges convert with the same factors.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdisc_dpn.distinct import first_rows, joint_codes, on_distinct, value_codes
from cdisc_dpn.errors import Severity
from cdisc_dpn.derive.context import MappingContext
from cdisc_dpn.spec.model import StudyTerminology
from cdisc_dpn.terminology import normalise

_QUALIFIED = re.compile(r"^\s*(<=|>=|<|>)\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*$")
_DECIMAL_COMMA = re.compile(r"^\s*(<=|>=|<|>)?\s*[+-]?\d+,\d+\s*$")
_NUMBER_WITH_UNIT = re.compile(r"^\s*[+-]?\d+(\.\d+)?\s*[A-Za-z%/\u00b5\u00b0][A-Za-z0-9%/.^*\u00b5\u00b0 ]*$")
_PLAIN = re.compile(r"^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$")


def _is_molar(unit: str) -> bool:
    return "MOL" in normalise(unit)


def effective_factor(factor: float, molecular_weight: float | None, from_unit: str, to_unit: str) -> float:
    """The multiplier of a conversion with the molecular weight folded in.

    Mass to molar units (mg/dL -> mmol/L) divide by the molecular weight (g/mol), molar to
    mass units multiply by it; `factor` carries only the prefix and volume scaling (mg/dL ->
    mmol/L: 10, mg/dL -> umol/L: 10000). Without a molar side the weight is not used.
    """
    if not molecular_weight:
        return factor
    if _is_molar(to_unit) and not _is_molar(from_unit):
        return factor / molecular_weight
    if _is_molar(from_unit) and not _is_molar(to_unit):
        return factor * molecular_weight
    return factor


class UnitTable:
    """Conversions testcd x unit -> standard unit: value * factor + offset (molecular weight folded in)."""

    def __init__(self, terms: StudyTerminology):
        self.standard = {k.upper(): v for k, v in terms.standard_units.items()}
        self._conv: dict[tuple[str, str], tuple[float, float]] = {}
        for c in terms.unit_conversions:
            factor = effective_factor(c.factor, c.molecular_weight, c.from_unit, c.to_unit)
            self._conv[(c.testcd.upper(), normalise(c.from_unit))] = (factor, c.offset)

    def standard_unit(self, testcd: str) -> str | None:
        return self.standard.get(str(testcd).upper())

    def conversion(self, testcd: str, unit: str) -> tuple[float, float] | None:
        std = self.standard_unit(testcd)
        if std is not None and normalise(unit) == normalise(std):
            return (1.0, 0.0)
        return self._conv.get((str(testcd).upper(), normalise(unit)))


def format_number(x: float, digits: int = 4) -> str:
    """Deterministic text for a converted number: up to `digits` decimals, no trailing zeros."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    text = f"{round(x, digits):.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class ConversionProblem:
    """Why a result has no standard value: the kind decides the finding code, the text explains it."""

    kind: str       # "unit": no conversion for the test and unit; "number": the result is not a number
    text: str


def convert_result(value: str, testcd: str, unit: str, table: UnitTable,
                   digits: int = 4) -> tuple[str, float, ConversionProblem | None]:
    """(STRESC, STRESN, problem or None) for one original result."""
    text = str(value or "").strip()
    if not text:
        return "", np.nan, None
    plain, qualified = _PLAIN.match(text), _QUALIFIED.match(text)
    if not plain and not qualified:
        if _DECIMAL_COMMA.match(text):
            return "", np.nan, ConversionProblem("number", "decimal comma in a numeric result")
        if _NUMBER_WITH_UNIT.match(text):
            return "", np.nan, ConversionProblem("number", "unit written in the result cell")
        return text.upper(), np.nan, None        # text result (POSITIVE, NEGATIVE...) kept as is
    conv = table.conversion(testcd, unit)
    if conv is None:
        return "", np.nan, ConversionProblem("unit", f"no conversion from {unit!r} to the standard unit of {testcd}")
    factor, offset = conv
    number = float(text if plain else qualified.group(2)) * factor + offset
    if not math.isfinite(number):            # "1E310": beyond any double, not a measurement
        return "", np.nan, ConversionProblem("number", "result too large to be a number")
    if plain:
        return format_number(number, digits), float(format_number(number, digits)), None
    return f"{qualified.group(1)}{format_number(number, digits)}", np.nan, None


def _inputs(ctx: MappingContext, params: dict):
    return (ctx.variable(params.get("result", "")), ctx.variable(params["testcd"]),
            ctx.variable(params["unit"]) if params.get("unit") else ctx.blank())


def _converted(ctx: MappingContext, params: dict):
    """(STRESC, STRESN, problems, results): each distinct (result, test, unit) converted once, and
    once per working frame for all the variables that read the same inputs (--STRESC, --STRESN)."""
    digits = int(params.get("digits", 4))
    key = ("units", params.get("result", ""), params["testcd"], params.get("unit") or "", digits)
    memo = ctx.memo.get(key)
    if memo is not None and memo[0] is ctx.src:
        return tuple(x.copy() for x in memo[1])
    table = UnitTable(ctx.specs.terminology)
    values, tests, units = _inputs(ctx, params)
    codes = joint_codes([value_codes(values), value_codes(tests), value_codes(units)], len(values))
    first = first_rows(codes)
    triples = [convert_result(*k, table, digits)
               for k in zip(values.iloc[first], tests.iloc[first], units.iloc[first])]
    stresc = pd.Series(np.asarray([t[0] for t in triples], dtype=object)[codes], index=values.index, dtype=object)
    stresn = pd.Series(np.asarray([t[1] for t in triples], dtype=float)[codes], index=values.index, dtype=float)
    texts = np.asarray([t[2].text if t[2] else "" for t in triples], dtype=object)
    problems = pd.Series(texts[codes], index=values.index, dtype=object)
    kinds = {t[2].text: t[2].kind for t in triples if t[2]}
    result = (stresc, stresn, problems, values, kinds)
    ctx.memo[key] = (ctx.src, result)
    return tuple(x.copy() for x in result)


def standard_result_char(ctx: MappingContext, params: dict, var) -> pd.Series:
    """--STRESC: the result converted to the test's standard unit; "<0.5" stays qualified; text kept."""
    stresc, _n, problems, values, kinds = _converted(ctx, params)
    for problem in sorted(set(problems) - {""}):
        if kinds[problem] == "unit":
            _v, tests, units = _inputs(ctx, params)
            shown = values.astype(str) + " " + units.astype(str) + " (test " + tests.astype(str) + ")"
            ctx.report("MAP-UNIT", Severity.ERROR, "no unit conversion for this test and unit",
                       mask=problems == problem, values=shown,
                       fix="add the conversion to units.yaml (factor, molecular weight) or correct the unit")
        else:
            ctx.report("MAP-NUMBER", Severity.ERROR, f"result is not a number ({problem})",
                       mask=problems == problem, values=values,
                       fix="correct the result in the EDC: a point as decimal separator, the unit in its own column")
    return stresc


def standard_result_num(ctx: MappingContext, params: dict, var) -> pd.Series:
    """--STRESN: numeric standard result, empty for qualified ("<0.5") and text results."""
    return _converted(ctx, params)[1]


def standard_unit(ctx: MappingContext, params: dict, var) -> pd.Series:
    """--STRESU: the test's one standard unit from units.yaml (empty when there is no result)."""
    table = UnitTable(ctx.specs.terminology)
    tests = ctx.variable(params["testcd"])
    units = on_distinct(tests, lambda s: s.map(lambda t: table.standard_unit(t) or ""))
    if params.get("result"):
        has = on_distinct(ctx.variable(params["result"]), lambda s: s.astype(str).str.strip()) != ""
        units = units.where(has, "")
    return units


def standard_range(ctx: MappingContext, params: dict, var) -> pd.Series:
    """--STNRLO / --STNRHI: a reference range limit converted like the result (numeric)."""
    return _converted(ctx, {**params, "result": params["limit"]})[1]


def reference_indicator(ctx: MappingContext, params: dict, var) -> pd.Series:
    """--NRIND: LOW / HIGH / NORMAL from the numeric standard result and the standard range."""
    value = pd.to_numeric(ctx.variable(params["result"]), errors="coerce")
    low = pd.to_numeric(ctx.variable(params["low"]), errors="coerce") if params.get("low") else np.nan
    high = pd.to_numeric(ctx.variable(params["high"]), errors="coerce") if params.get("high") else np.nan
    out = pd.Series("", index=value.index, dtype=object)
    known = value.notna() & (pd.Series(low, index=value.index).notna() | pd.Series(high, index=value.index).notna())
    out = out.mask(known, "NORMAL")
    out = out.mask(value < low, "LOW")
    out = out.mask(value > high, "HIGH")
    return out
