"""General mapping algorithms: take, set, recode, convert, combine and look up collected values.

Each takes (ctx, params, var) and returns a Series aligned with the working frame. Problems in
the data become findings with the raw file and row; the value is then left empty, never guessed.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from cdisc_dpn.derive.dates import DEFAULT_FORMATS, combine_datetime, parse_date, parse_time
from cdisc_dpn.distinct import first_rows, joint_codes, on_distinct, on_distinct_each, value_codes
from cdisc_dpn.errors import Severity
from cdisc_dpn.derive.context import MappingContext, MappingProblem
from cdisc_dpn.standards.kinds import NUMBER_PATTERN

_INPUT = ("column", "variable")


def assign(ctx: MappingContext, params: dict, var) -> pd.Series:
    """The collected value as it is (surrounding blanks removed; `upper: true` for upper case)."""
    values = ctx.value(params)
    return values.str.upper() if params.get("upper") else values


def constant(ctx: MappingContext, params: dict, var) -> pd.Series:
    """The same value on every record (e.g. AGEU = YEARS)."""
    value = params["value"]
    return ctx.blank(value if var.type == "Num" else str(value))


def study_id(ctx: MappingContext, params: dict, var) -> pd.Series:
    """STUDYID from study.yaml."""
    return ctx.blank(ctx.specs.study.studyid)


def domain(ctx: MappingContext, params: dict, var) -> pd.Series:
    """The dataset's domain abbreviation (DOMAIN, RDOMAIN)."""
    return ctx.blank(ctx.dataset.domain)


def _recode_series(ctx: MappingContext, values: pd.Series, codelist: str, extra: dict[str, str],
                   unknown: str) -> pd.Series:
    extra_norm = {" ".join(str(k).split()).upper(): str(v) for k, v in extra.items()}
    cache: dict[str, str | None] = {}
    for raw in values.unique():
        text = str(raw)
        if not text.strip():
            cache[text] = ""
            continue
        key = " ".join(text.split()).upper()
        cache[text] = extra_norm[key] if key in extra_norm else ctx.terminology.recode(codelist, text)
    mapped = values.map(cache)
    bad = mapped.isna()
    if bad.any():
        cl = ctx.terminology.get(codelist)
        severity = Severity.WARNING if (cl is not None and cl.extensible and unknown == "keep") else Severity.ERROR
        ctx.report("MAP-TERM", severity,
                   f"collected value not in codelist {codelist}" + (f" ({cl.name})" if cl else ""),
                   mask=bad, values=values, column=ctx.call.params.get("column") if ctx.call else None,
                   fix="add it to collected_values in terminology.yaml, or to the variable's `map:`")
        mapped = mapped.where(~bad, values.str.upper() if unknown == "keep" else "")
    return mapped.astype(object)


def recode(ctx: MappingContext, params: dict, var) -> pd.Series:
    """Collected answer to the CDISC submission value via the codelist, its synonyms and study maps.

    `map:` adds study-specific collected values; `unknown: keep` keeps an unmapped value
    (upper-cased) with a warning for extensible codelists instead of an error.
    """
    codelist = params.get("codelist") or var.codelist
    if not codelist:
        raise MappingProblem("recode needs a codelist (on the variable or as params.codelist)")
    return _recode_series(ctx, ctx.value(params), codelist, params.get("map") or {}, params.get("unknown", "error"))


def map_values(ctx: MappingContext, params: dict, var) -> pd.Series:
    """A study-specific value map (no codelist), e.g. site codes to country; unmapped -> default or error."""
    table = {" ".join(str(k).split()).upper(): v for k, v in params["map"].items()}
    values = ctx.value(params)
    lookup = {v: (table.get(" ".join(str(v).split()).upper()) if str(v).strip() else "") for v in values.unique()}
    mapped = values.map(lookup)
    bad = mapped.isna()
    if bad.any():
        if "default" in params:
            mapped = mapped.where(~bad, params["default"])
        else:
            ctx.report("MAP-VALUE", Severity.ERROR, "value not in the spec's map", mask=bad, values=values,
                       fix="add the value to the variable's map: in the spec")
            mapped = mapped.where(~bad, "")
    if var.type == "Num":
        return pd.to_numeric(mapped, errors="coerce")
    return mapped.astype(str)


def _formats(ctx: MappingContext, params: dict) -> tuple[str, ...]:
    if params.get("formats"):
        return tuple(params["formats"])
    return tuple(ctx.specs.study.date_formats) or DEFAULT_FORMATS


def _dates(ctx: MappingContext, params: dict, column_key: str = "column") -> pd.Series:
    formats = _formats(ctx, params)
    values = ctx.column(params[column_key]) if column_key in params else ctx.value(params)
    cache = {v: parse_date(v, formats) for v in values.unique()}
    parsed, problems = on_distinct_each(values, [lambda s: s.map(lambda v: cache[v].iso),
                                                 lambda s: s.map(lambda v: cache[v].problem)])
    bad = problems != ""
    if bad.any():
        ctx.report("MAP-DATE", Severity.ERROR, "date cannot be converted to ISO 8601", mask=bad, values=values,
                   column=params.get(column_key), fix="correct the date in the EDC (or its format in date_formats)")
    cutoff = ctx.settings.data_cutoff
    if cutoff:
        future = parsed.str.len().ge(4) & (parsed.str.slice(0, 10) > cutoff[: 10])
        if future.any():
            ctx.report("MAP-DATE-FUTURE", Severity.WARNING, f"date is after the data cut-off {cutoff}", mask=future,
                       values=values, column=params.get(column_key), fix="check the date in the EDC")
    return parsed


def iso_date(ctx: MappingContext, params: dict, var) -> pd.Series:
    """EDC date text to ISO 8601 date; partial dates stay partial ("UN/03/2026" -> "2026-03")."""
    return _dates(ctx, params)


def iso_datetime(ctx: MappingContext, params: dict, var) -> pd.Series:
    """Date and time columns to ISO 8601 datetime; a time on a partial date is dropped (ISO forbids it)."""
    dates = _dates(ctx, params, "date")
    if not params.get("time"):
        return dates
    times = ctx.column(params["time"])
    iso_times, bad = on_distinct_each(times, [lambda s: s.map(lambda v: parse_time(v)[0]),
                                              lambda s: s.map(lambda v: parse_time(v)[1] != "")])
    if bad.any():
        ctx.report("MAP-TIME", Severity.ERROR, "time cannot be converted to ISO 8601", mask=bad, values=times,
                   column=params["time"], fix="correct the time (HH:MM) in the EDC")
    pairs = joint_codes([value_codes(dates), value_codes(iso_times)], len(dates))
    first = first_rows(pairs)                    # each distinct (date, time) combined once
    combined = [combine_datetime(d, t) for d, t in zip(dates.iloc[first], iso_times.iloc[first])]
    return pd.Series(np.asarray(combined, dtype=object)[pairs], index=dates.index, dtype=object)


def concat(ctx: MappingContext, params: dict, var) -> pd.Series:
    """Join columns, variables and literal text: parts [{column: X}, {variable: Y}, {text: "-"}]."""
    sep = str(params.get("separator", ""))
    pieces = []
    for part in params["parts"]:
        if isinstance(part, dict) and "text" in part:
            pieces.append(ctx.blank(str(part["text"])))
        elif isinstance(part, dict):
            pieces.append(ctx.value(part).astype(str))
        else:
            raise MappingProblem(f"concat part {part!r} must be {{column: ..}}, {{variable: ..}} or {{text: ..}}")
    if not pieces:
        return ctx.blank()
    skip = params.get("skip_empty", True)
    result = pieces[0].astype(str)
    for piece in pieces[1:]:
        piece = piece.astype(str)
        joined = result + sep + piece
        if skip:
            joined = joined.where(piece != "", result).where(result != "", piece)
        result = joined
    return result.astype(object)


_NUMBER = re.compile(rf"^{NUMBER_PATTERN}$")


def parse_numbers(values: pd.Series, decimal_comma: bool = False) -> tuple[pd.Series, pd.Series]:
    """Strict number parsing: returns (numbers, problem text per value; "" when fine or empty)."""
    codes = value_codes(values)
    first = first_rows(codes)
    if len(first) == len(values):
        return _parse_numbers(values, decimal_comma)
    numbers, problem = _parse_numbers(values.iloc[first], decimal_comma)      # once per distinct value
    return numbers.take(codes).set_axis(values.index), problem.take(codes).set_axis(values.index)


def _parse_numbers(values: pd.Series, decimal_comma: bool) -> tuple[pd.Series, pd.Series]:
    text = values.astype(str).str.strip()
    fixed = text.str.replace(",", ".", regex=False) if decimal_comma else text
    ok = fixed.str.match(_NUMBER) | (fixed == "")
    numbers = pd.to_numeric(fixed.where(ok & (fixed != ""), np.nan), errors="coerce")
    problem = pd.Series("", index=values.index, dtype=object)
    comma = text.str.match(r"^[+-]?\d+,\d+$")
    unit_in_cell = text.str.match(r"^[+-]?\d+(\.\d+)?\s*[A-Za-zµ%/]+")
    problem = problem.mask(~ok & comma, "decimal comma")
    problem = problem.mask(~ok & unit_in_cell, "unit written in the value cell")
    problem = problem.mask(~ok & (problem == ""), "not a number")
    return numbers, problem


def numeric(ctx: MappingContext, params: dict, var) -> pd.Series:
    """Text to number; decimal commas, units in the cell and other text are findings, not guesses.

    `on_text: ignore` leaves non-numeric results (e.g. "<0.5") empty without a finding, for
    --STRESN where the text result is kept in --STRESC.
    """
    values = ctx.value(params)
    numbers, problem = parse_numbers(values, bool(params.get("decimal_comma")))
    if params.get("on_text") != "ignore":
        for kind in sorted(set(problem) - {""}):
            ctx.report("MAP-NUMBER", Severity.ERROR, f"value is not a number ({kind})", mask=problem == kind,
                       values=values, column=params.get("column"),
                       fix="correct the value in the EDC; for a decimal comma set decimal_comma: true")
    return numbers.astype(float)


def lookup(ctx: MappingContext, params: dict, var) -> pd.Series:
    """A value from another form matched on a key (e.g. the randomization date by subject).

    `key`: column(s) of the other form; `on`: the working frame's column(s) to match (default: same names).
    """
    form = str(params["form"])
    table = ctx.raw.get(form)
    if table is None:
        raise MappingProblem(f"form {form!r} was not read; declare it in study.yaml")
    keys = [params["key"]] if isinstance(params["key"], str) else list(params["key"])
    on = params.get("on", keys)
    on = [on] if isinstance(on, str) else list(on)
    other = table.frame
    for k in keys + [params["value"]]:
        if k not in other.columns:
            raise MappingProblem(f"form {form!r} has no column {k!r}")
    right = other[keys + [params["value"]]].fillna("").astype(str).apply(lambda s: s.str.strip())
    # An empty key matches nothing (pandas would pair "" with ""); duplicates: the first row wins.
    right = right[(right[keys] != "").all(axis=1)].drop_duplicates(subset=keys, keep="first")
    left = pd.DataFrame({f"k{i}": ctx.column(c).values for i, c in enumerate(on)}, index=ctx.src.index)
    right.columns = [f"k{i}" for i in range(len(keys))] + ["__value"]
    merged = left.merge(right, how="left", on=list(left.columns), sort=False)
    merged.index = ctx.src.index
    return merged["__value"].fillna("").astype(object)


def coalesce(ctx: MappingContext, params: dict, var) -> pd.Series:
    """The first non-empty of several inputs: inputs [{column: A}, {variable: B}]."""
    result = ctx.blank()
    for inp in reversed(params["inputs"]):
        values = ctx.value(inp)
        result = values.where(values.astype(str) != "", result)
    return result


def _upper_text(values: pd.Series) -> pd.Series:
    return values.where(values.notna(), "").astype(str).str.strip().str.upper()   # NaN is empty, not "NAN"


def when(ctx: MappingContext, params: dict, var) -> pd.Series:
    """First matching case wins: cases [{column|variable: X, equals|in|not_empty: ..., value: V}]."""
    result = ctx.blank(params.get("default", "") if var.type != "Num" else np.nan)
    decided = pd.Series(False, index=ctx.src.index)
    upper: dict[tuple[str, str], pd.Series] = {}      # cases often test the same input
    for case in params["cases"]:
        key = ("column", str(case["column"])) if "column" in case else ("variable", str(case.get("variable")))
        if key not in upper or "variable" not in case and "column" not in case:
            upper[key] = on_distinct(ctx.value(case), _upper_text)
        values = upper[key]
        if "equals" in case:
            hit = values == str(case["equals"]).upper()
        elif "in" in case:
            hit = values.isin([str(v).upper() for v in case["in"]])
        elif case.get("not_empty"):
            hit = values != ""
        elif case.get("empty"):
            hit = values == ""
        else:
            raise MappingProblem("each case needs equals:, in:, not_empty: true or empty: true")
        hit = hit & ~decided
        if "value" in case:
            out = case["value"]
            result = result.mask(hit, out)
        else:
            src = ctx.value(case["take"]) if "take" in case else values
            result = result.mask(hit, src)
        decided |= hit
    return result


def text_unless_number(ctx: MappingContext, params: dict, var) -> pd.Series:
    """The value when it is not a plain number (e.g. --DOSTXT "1-2" or "UNKNOWN"), else empty.

    Pairs with `numeric` + `on_text: ignore` on the numeric variable, so a collected dose goes to
    --DOSE when it is a number and to --DOSTXT when it is text, never to both, never lost.
    """
    values = ctx.value(params)
    _numbers, problem = parse_numbers(values)
    return values.where(problem != "", "")
