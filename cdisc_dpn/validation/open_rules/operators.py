"""Check operators of the CORE rule language (docs/check_operator.md): columns in, boolean mask out.

Each operator is a function (view, node) -> numpy bool array with one entry per row of the view.
Per-value work (regex, dates, string parts) runs once per distinct value (view.per_value).
Null semantics follow the CORE engine: equal_to is False when either side is null,
not_equal_to is False only when both are null; regex and string operators are False on nulls.
"""
from __future__ import annotations

import operator as _op
import re
from typing import Any, Callable

import numpy as np
import pandas as pd

from cdisc_dpn.validation.open_rules.view import (Absent, View, as_text, is_empty, map_distinct, norm_text,
                                                  per_distinct, per_value, text_of)

Operator = Callable[[View, dict], np.ndarray]
OPERATORS: dict[str, Operator] = {}


def operator(*names: str):
    def register(fn: Operator) -> Operator:
        for n in names:
            OPERATORS[n] = fn
        return fn
    return register


def _negate(name: str, base: str) -> None:
    OPERATORS[name] = lambda view, node: ~OPERATORS[base](view, node)


def _mask(view: View, value: Any) -> np.ndarray:
    if isinstance(value, (bool, np.bool_)):
        return np.full(view.n, bool(value))
    return np.asarray(value, dtype=bool)


def _target(view: View, node: dict) -> pd.Series:
    return view.column(node["name"])


def _comparator(view: View, node: dict) -> Any:
    return view.operand(node.get("value"), literal=bool(node.get("value_is_literal")))


# ----------------------------------------------------------------------------- presence
@operator("exists")
def _exists(view: View, node: dict) -> np.ndarray:
    name = node["name"]
    if view.has(name):
        return np.ones(view.n, dtype=bool)
    # Domain Presence Check style: a dataset name
    return np.full(view.n, view.study.by_domain(name) is not None if re_domain.match(name) else False)


re_domain = re.compile(r"^[A-Z]{2}[A-Z0-9]{0,6}$")
_negate("not_exists", "exists")


@operator("empty")
def _empty(view: View, node: dict) -> np.ndarray:
    return is_empty(_target(view, node))


_negate("non_empty", "empty")


# ----------------------------------------------------------------------------- equality
def _eq_values(t: pd.Series, c: Any, *, type_insensitive: bool, case_insensitive: bool) -> np.ndarray:
    if isinstance(c, pd.Series):
        tn, cn = pd.api.types.is_numeric_dtype(t.dtype), pd.api.types.is_numeric_dtype(c.dtype)
        if type_insensitive or case_insensitive or tn != cn:
            if tn != cn and not type_insensitive and not case_insensitive:
                a, b = pd.to_numeric(t, errors="coerce"), pd.to_numeric(c, errors="coerce")
                return (a.to_numpy() == b.to_numpy())
            a = map_distinct(t, norm_text) if type_insensitive else as_text(t)
            b = map_distinct(c, norm_text) if type_insensitive else as_text(c)
            if case_insensitive:
                a = map_distinct(a, lambda x: x.lower() if isinstance(x, str) else x)
                b = map_distinct(b, lambda x: x.lower() if isinstance(x, str) else x)
            return (a.to_numpy(dtype=object) == b.to_numpy(dtype=object)).astype(bool)
        return (t.to_numpy() == c.to_numpy()).astype(bool)
    if isinstance(c, (list, set, tuple)):
        return np.zeros(len(t), dtype=bool)
    if isinstance(c, (bool, np.bool_)):
        return (t.to_numpy(dtype=object) == bool(c)).astype(bool)
    if type_insensitive:
        cv = norm_text(c)
        return per_value(t.astype(object), lambda u: np.array([norm_text(x) == cv for x in u], dtype=bool))
    if isinstance(c, (int, float, np.integer, np.floating)):
        return (pd.to_numeric(t, errors="coerce").to_numpy() == float(c))
    if pd.api.types.is_numeric_dtype(t.dtype):
        try:
            return t.to_numpy() == float(c)
        except (TypeError, ValueError):
            return np.zeros(len(t), dtype=bool)
    if case_insensitive:
        cl = str(c).lower()
        return per_value(t.astype(object), lambda u: np.array([isinstance(x, str) and x.lower() == cl for x in u],
                                                              dtype=bool))
    if isinstance(c, str):               # each distinct value compared once
        return per_value(t, lambda u: np.array([x == c for x in u], dtype=bool))
    return (t.astype(object).to_numpy() == c).astype(bool)


def _empty_operand(c: Any, n: int) -> np.ndarray:
    if isinstance(c, pd.Series):
        return is_empty(c)
    if isinstance(c, (list, set, tuple)):
        return np.full(n, len(c) == 0)
    return np.full(n, c is None or (isinstance(c, float) and np.isnan(c)) or (isinstance(c, str) and c.strip() == ""))


def _by_reference(view: View, node: dict) -> pd.Series:
    """value_is_reference: each row's comparator is the column named by the `value` column."""
    ref = view.column(node["value"]).astype(object)
    out = pd.Series([np.nan] * view.n, index=view.frame.index, dtype=object)
    for col in pd.unique(ref.dropna()):
        if isinstance(col, str) and col in view.frame.columns:
            hit = (ref == col).to_numpy()
            out[hit] = view.frame[col][hit].astype(object)
    return out


def _equality(view: View, node: dict, case_insensitive: bool) -> tuple[np.ndarray, np.ndarray]:
    t = _target(view, node)
    c = _by_reference(view, node) if node.get("value_is_reference") else _comparator(view, node)
    if node.get("round_values"):
        t = pd.to_numeric(t, errors="coerce").round()
        c = pd.to_numeric(c, errors="coerce").round() if isinstance(c, pd.Series) else c
    eq = _eq_values(t, c, type_insensitive=bool(node.get("type_insensitive")), case_insensitive=case_insensitive)
    te, ce = is_empty(t), _empty_operand(c, view.n)
    return eq & ~(te | ce), te & ce


@operator("equal_to")
def _equal_to(view: View, node: dict) -> np.ndarray:
    return _equality(view, node, False)[0]


@operator("not_equal_to")
def _not_equal_to(view: View, node: dict) -> np.ndarray:
    eq, both_null = _equality(view, node, False)
    return ~eq & ~both_null


@operator("equal_to_case_insensitive")
def _equal_ci(view: View, node: dict) -> np.ndarray:
    return _equality(view, node, True)[0]


@operator("not_equal_to_case_insensitive")
def _not_equal_ci(view: View, node: dict) -> np.ndarray:
    eq, both_null = _equality(view, node, True)
    return ~eq & ~both_null


def _numeric_compare(op: Callable) -> Operator:
    def compare(view: View, node: dict) -> np.ndarray:
        t = pd.to_numeric(_target(view, node), errors="coerce").to_numpy(dtype=float)
        c = _comparator(view, node)
        c = pd.to_numeric(c, errors="coerce").to_numpy(dtype=float) if isinstance(c, pd.Series) else \
            pd.to_numeric(pd.Series([c]), errors="coerce").iloc[0]
        with np.errstate(invalid="ignore"):
            return np.asarray(op(t, c), dtype=bool) & ~np.isnan(t) & ~np.isnan(np.asarray(c, dtype=float))
    return compare


OPERATORS["less_than"] = _numeric_compare(np.less)
OPERATORS["less_than_or_equal_to"] = _numeric_compare(np.less_equal)
OPERATORS["greater_than"] = _numeric_compare(np.greater)
OPERATORS["greater_than_or_equal_to"] = _numeric_compare(np.greater_equal)


# ----------------------------------------------------------------------------- sets
_COLLECTIONS = (list, set, tuple, frozenset)


def _collections(c: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(codes, distinct collections) when every value of `c` is a collection (a grouped operation's
    result per row), else None. Equal collections share a code."""
    if not len(c) or not isinstance(c.iloc[0], _COLLECTIONS):
        return None
    try:
        codes, uniques = pd.factorize(c.to_numpy(dtype=object), use_na_sentinel=False)
    except TypeError:                                    # lists or sets: one code per object
        if not c.map(lambda x: isinstance(x, _COLLECTIONS)).all():
            return None
        codes, _ = pd.factorize(c.map(id))
        firsts = pd.Series(np.arange(len(c))).groupby(codes).first()
        uniques = np.empty(len(firsts), dtype=object)
        uniques[:] = [c.iloc[int(i)] for i in firsts.to_numpy()]
        return codes, uniques
    if not all(isinstance(x, _COLLECTIONS) for x in uniques):
        return None
    return codes, uniques


def _contained(t: pd.Series, c: Any, case_insensitive: bool = False) -> np.ndarray:
    if isinstance(c, pd.Series):
        per_row = _collections(c)
        if per_row is not None:
            return _contained_per_row(t, *per_row, case_insensitive)
        c = list(pd.unique(c.dropna()))
    if isinstance(c, str):
        c = [c]
    if not isinstance(c, (list, set, tuple, frozenset)):
        c = [c]
    values = list(c)
    if pd.api.types.is_numeric_dtype(t.dtype):
        nums = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").dropna().unique()
        return t.isin(nums).to_numpy()
    texts = {text_of(v) for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))}
    if case_insensitive:
        texts = {v.lower() for v in texts}
        return per_value(t, lambda u: np.array([isinstance(x, str) and x.lower() in texts for x in u], dtype=bool))
    return per_value(t, lambda u: np.array([text_of(x) in texts for x in u], dtype=bool))


def _contained_per_row(t: pd.Series, codes: np.ndarray, collections: np.ndarray, case_insensitive: bool) -> np.ndarray:
    """Membership in per-row collections (grouped operation results): each row's value and collection
    as a pair of codes, looked up among the (collection, member) pairs of the distinct collections."""
    texts = map_distinct(as_text(t), lambda x: x.lower() if case_insensitive and isinstance(x, str) else x)
    t_codes, t_uniques = pd.factorize(texts.to_numpy(dtype=object), use_na_sentinel=True)
    position = {v: i for i, v in enumerate(t_uniques)}
    m = max(len(t_uniques), 1)
    pairs = {code * m + position[text] for code, members in enumerate(collections) for v in members
             if (text := text_of(v).lower() if case_insensitive else text_of(v)) in position}
    keys = codes.astype(np.int64) * m + t_codes
    return (t_codes >= 0) & np.isin(keys, np.fromiter(pairs, dtype=np.int64, count=len(pairs)))


@operator("is_contained_by")
def _is_contained_by(view: View, node: dict) -> np.ndarray:
    return _contained(_target(view, node), _comparator(view, node))


_negate("is_not_contained_by", "is_contained_by")


@operator("is_contained_by_case_insensitive")
def _is_contained_by_ci(view: View, node: dict) -> np.ndarray:
    return _contained(_target(view, node), _comparator(view, node), case_insensitive=True)


_negate("is_not_contained_by_case_insensitive", "is_contained_by_case_insensitive")


def _part(view: View, node: dict, kind: str) -> pd.Series:
    t = as_text(_target(view, node))
    n = int(node.get(kind) or node.get("prefix") or node.get("suffix") or 0)
    return map_distinct(t, lambda x: (x[:n] if kind == "prefix" else x[-n:]) if isinstance(x, str) else np.nan)


@operator("prefix_is_contained_by")
def _prefix_contained(view: View, node: dict) -> np.ndarray:
    return _contained(_part(view, node, "prefix"), _comparator(view, node))


@operator("suffix_is_contained_by")
def _suffix_contained(view: View, node: dict) -> np.ndarray:
    return _contained(_part(view, node, "suffix"), _comparator(view, node))


_negate("prefix_is_not_contained_by", "prefix_is_contained_by")
_negate("suffix_is_not_contained_by", "suffix_is_contained_by")


@operator("prefix_equal_to")
def _prefix_equal(view: View, node: dict) -> np.ndarray:
    c = _comparator(view, node)
    if node.get("value") == "DOMAIN" and not isinstance(c, pd.Series):
        c = view.prefix
    return _eq_values(_part(view, node, "prefix"), c, type_insensitive=False, case_insensitive=False)


@operator("suffix_equal_to")
def _suffix_equal(view: View, node: dict) -> np.ndarray:
    return _eq_values(_part(view, node, "suffix"), _comparator(view, node), type_insensitive=False,
                      case_insensitive=False)


_negate("prefix_not_equal_to", "prefix_equal_to")
_negate("suffix_not_equal_to", "suffix_equal_to")


@operator("contains")
def _contains(view: View, node: dict) -> np.ndarray:
    t = _target(view, node)
    c = _comparator(view, node)
    if isinstance(c, pd.Series):
        return np.array([isinstance(a, str) and isinstance(b, str) and b in a
                         for a, b in zip(as_text(t), as_text(c))], dtype=bool)
    needle = text_of(c)
    return per_value(t.astype(object), lambda u: np.array(
        [(needle in x) if isinstance(x, str) else (isinstance(x, (list, set, tuple)) and c in x) for x in u],
        dtype=bool))


_negate("does_not_contain", "contains")


@operator("contains_all")
def _contains_all(view: View, node: dict) -> np.ndarray:
    t = _target(view, node)
    want = _comparator(view, node)
    want = set(want) if isinstance(want, (list, set, tuple)) else {want}
    have = set()
    for v in t.dropna():
        have |= set(v) if isinstance(v, (list, set, tuple)) else {v}
    return np.full(view.n, want <= have)


_negate("not_contains_all", "contains_all")


@operator("shares_no_elements_with")
def _shares_no(view: View, node: dict) -> np.ndarray:
    t = _target(view, node)
    other = _comparator(view, node)
    other = set(other) if isinstance(other, (list, set, tuple)) else {other}
    return np.array([not (set(v) & other) if isinstance(v, (list, set, tuple)) else v not in other
                     for v in t], dtype=bool)


@operator("is_ordered_subset_of")
def _ordered_subset(view: View, node: dict) -> np.ndarray:
    t = _target(view, node)
    ref = list(_comparator(view, node) or [])
    pos = {v: i for i, v in enumerate(ref)}

    def ok(items: Any) -> bool:
        idx = [pos[v] for v in items if v in pos]
        return idx == sorted(idx)
    return np.array([ok(v) if isinstance(v, (list, tuple)) else True for v in t], dtype=bool)


_negate("is_not_ordered_subset_of", "is_ordered_subset_of")


# ----------------------------------------------------------------------------- strings
def _regex(view: View, node: dict, part: str | None) -> np.ndarray:
    pattern = re.compile(str(node.get("value")))
    t = as_text(_target(view, node))
    n = int(node.get(part) or 0) if part else 0

    def test(u: np.ndarray) -> np.ndarray:
        out = []
        for x in u:
            if not isinstance(x, str):
                out.append(False)
            elif part == "prefix":
                out.append(pattern.search(x[:n]) is not None)
            elif part == "suffix":
                out.append(pattern.search(x[-n:]) is not None)
            else:
                out.append(pattern.match(x) is not None)
        return np.array(out, dtype=bool)
    return per_value(t, test)


def _not_null_text(view: View, node: dict) -> np.ndarray:
    return ~_target(view, node).isna().to_numpy()


OPERATORS["matches_regex"] = lambda v, n: _regex(v, n, None)
OPERATORS["not_matches_regex"] = lambda v, n: ~_regex(v, n, None) & _not_null_text(v, n)
OPERATORS["prefix_matches_regex"] = lambda v, n: _regex(v, n, "prefix")
OPERATORS["not_prefix_matches_regex"] = lambda v, n: ~_regex(v, n, "prefix") & _not_null_text(v, n)
OPERATORS["suffix_matches_regex"] = lambda v, n: _regex(v, n, "suffix")
OPERATORS["not_suffix_matches_regex"] = lambda v, n: ~_regex(v, n, "suffix") & _not_null_text(v, n)


@operator("starts_with")
def _starts_with(view: View, node: dict) -> np.ndarray:
    c = text_of(_comparator(view, node))
    return per_value(as_text(_target(view, node)), lambda u: np.array([isinstance(x, str) and x.startswith(c)
                                                                        for x in u], dtype=bool))


@operator("ends_with")
def _ends_with(view: View, node: dict) -> np.ndarray:
    c = text_of(_comparator(view, node))
    return per_value(as_text(_target(view, node)), lambda u: np.array([isinstance(x, str) and x.endswith(c)
                                                                        for x in u], dtype=bool))


def _lengths(view: View, node: dict) -> tuple[np.ndarray, Any]:
    t = as_text(_target(view, node))
    lens = map_distinct(t, lambda x: len(x) if isinstance(x, str) else np.nan).to_numpy(dtype=float)
    c = _comparator(view, node)
    if isinstance(c, pd.Series):
        c = map_distinct(as_text(c), lambda x: len(x) if isinstance(x, str) else np.nan).to_numpy(dtype=float)
    else:
        c = float(c)
    return lens, c


@operator("longer_than")
def _longer_than(view: View, node: dict) -> np.ndarray:
    lens, c = _lengths(view, node)
    with np.errstate(invalid="ignore"):
        return np.greater(lens, c)


@operator("longer_than_or_equal_to")
def _longer_eq(view: View, node: dict) -> np.ndarray:
    lens, c = _lengths(view, node)
    with np.errstate(invalid="ignore"):
        return np.greater_equal(lens, c)


_negate("shorter_than", "longer_than_or_equal_to")
_negate("shorter_than_or_equal_to", "longer_than")


@operator("equals_string_part")
def _equals_string_part(view: View, node: dict) -> np.ndarray:
    c = _comparator(view, node)
    pattern = re.compile(str(node.get("regex") or "(.*)"))

    def part(x: Any) -> Any:
        if not isinstance(x, str):
            return np.nan
        m = pattern.search(x)
        return (m.group(1) if m.groups() else m.group(0)) if m else np.nan
    if isinstance(c, pd.Series):
        c = map_distinct(as_text(c), part)
    else:
        c = part(text_of(c))
    t = _target(view, node)
    eq = _eq_values(t, c, type_insensitive=True, case_insensitive=False)
    return eq & ~is_empty(t) & ~_empty_operand(c, view.n)


_negate("does_not_equal_string_part", "equals_string_part")


# ----------------------------------------------------------------------------- dates
_DATE = re.compile(r"^(\d{4})(-(\d{2})(-(\d{2})(T(\d{2})(:(\d{2})(:(\d{2})(\.\d+)?)?)?)?)?)?$")
_COMPONENTS = ["year", "month", "day", "hour", "minute", "second"]


def _date_parts(x: Any) -> tuple | None:
    if not isinstance(x, str):
        return None
    m = _DATE.match(x.strip())
    if not m:
        return None
    groups = (m.group(1), m.group(3), m.group(5), m.group(7), m.group(9), m.group(11))
    return tuple(int(g) if g is not None else None for g in groups)


def date_key(x: Any, component: str | None) -> Any:
    p = _date_parts(x)
    if p is None:
        return None
    if component in _COMPONENTS:
        return p[_COMPONENTS.index(component)]
    # full comparison: missing parts as the earliest value (dateutil isoparse behaviour)
    return tuple(v if v is not None else (1 if i in (1, 2) else 0) for i, v in enumerate(p))


_NOT_A_DATE = (-2,) * 6


def _parts_table(values: np.ndarray, known: dict[str, tuple] | None = None) -> np.ndarray:
    """One row per value: its six date parts (-1 where absent); all -2 when it is not a date.
    `known`: parts of text already parsed (a dataset's dates recur in its joins)."""
    known = {} if known is None else known
    rows = []
    for x in values:
        if isinstance(x, str):
            row = known.get(x)
            if row is None:
                row = known[x] = _common_date(x) or _parts_row(_date_parts(x))
        else:
            row = _NOT_A_DATE
        rows.append(row)
    return np.array(rows, dtype=np.int64).reshape(len(values), 6)


def _parts_row(p: tuple | None) -> tuple:
    return _NOT_A_DATE if p is None else tuple(-1 if v is None else v for v in p)


def _common_date(x: str) -> tuple | None:
    """YYYY-MM-DD and YYYY-MM-DDThh:mm in ASCII digits without the regex (same parts as _date_parts);
    None for any other text."""
    n = len(x)
    if n not in (10, 16) or x[4] != "-" or x[7] != "-":
        return None
    digits = x[:4] + x[5:7] + x[8:10]
    if n == 16:
        if x[10] != "T" or x[13] != ":":
            return None
        digits += x[11:13] + x[14:16]
    if not (digits.isascii() and digits.isdecimal()):
        return None
    if n == 10:
        return int(x[:4]), int(x[5:7]), int(x[8:10]), -1, -1, -1
    return int(x[:4]), int(x[5:7]), int(x[8:10]), int(x[11:13]), int(x[14:16]), -1


def _known_dates(view: View) -> dict[str, tuple]:
    return view.study.merged.setdefault(("date parts", view.ds.name), {})


def _date_keys(s: pd.Series, component: str | None, known: dict[str, tuple]) -> tuple[np.ndarray, np.ndarray]:
    """Per row: date_key as an integer (parts in fixed decimal places, so integer order is date_key's
    tuple order) and whether there is one; the parts are found once per distinct value of a column."""
    codes, parts = per_distinct(s, "date parts", lambda u: _parts_table(u, known))
    if component in _COMPONENTS:
        key = parts[:, _COMPONENTS.index(component)]
        ok = key >= 0
    else:
        ok = parts[:, 0] >= 0
        filled = np.where(parts < 0, np.array([0, 1, 1, 0, 0, 0]), parts)
        key = filled @ np.array([10 ** 10, 10 ** 8, 10 ** 6, 10 ** 4, 10 ** 2, 1], dtype=np.int64)
    return key[codes], ok[codes]


def _date_compare(op: Callable) -> Operator:
    """Compare ISO 8601 dates (or one component of them): each side's distinct values parsed once."""
    def compare(view: View, node: dict) -> np.ndarray:
        comp = node.get("date_component")
        t = as_text(_target(view, node))
        c = _comparator(view, node)
        known = _known_dates(view)
        a, a_ok = _date_keys(t, comp, known)          # nulls, like any value that is not a date, never compare
        if isinstance(c, pd.Series):
            b, b_ok = _date_keys(as_text(c), comp, known)
        else:
            single = date_key(text_of(c), comp)
            if single is None:
                return np.zeros(view.n, dtype=bool)
            b_ok = np.ones(view.n, dtype=bool)
            b = np.full(view.n, single if comp in _COMPONENTS else
                        sum(v * 10 ** (10 - 2 * i) for i, v in enumerate(single)), dtype=np.int64)
        return np.asarray(op(a, b), dtype=bool) & a_ok & b_ok
    return compare


OPERATORS["date_equal_to"] = _date_compare(_op.eq)
OPERATORS["date_not_equal_to"] = _date_compare(_op.ne)
OPERATORS["date_less_than"] = _date_compare(_op.lt)
OPERATORS["date_less_than_or_equal_to"] = _date_compare(_op.le)
OPERATORS["date_greater_than"] = _date_compare(_op.gt)
OPERATORS["date_greater_than_or_equal_to"] = _date_compare(_op.ge)


@operator("is_complete_date")
def _is_complete_date(view: View, node: dict) -> np.ndarray:
    known = _known_dates(view)
    codes, parts = per_distinct(as_text(_target(view, node)), "date parts", lambda u: _parts_table(u, known))
    return (parts[:, 2] >= 0)[codes]


_negate("is_incomplete_date", "is_complete_date")

_ISO_PARTIAL = re.compile(
    r"^(\d{4}|-)(-(\d{2}|-)(-(\d{2}|-)(T(\d{2}|-)(:(\d{2}|-)(:(\d{2}(\.\d+)?|-))?)?)?)?)?$")


def _valid_date(x: str) -> bool:
    x = x.strip()
    if "/" in x:
        parts = x.split("/")
        return len(parts) == 2 and all(_valid_date(p) for p in parts if p)
    if not _ISO_PARTIAL.match(x) or x.startswith("-") and not x.startswith("--"):
        return False
    p = _date_parts(x)
    if p is None:
        return "-" in x      # uncertain parts (e.g. 2003---15) checked by the pattern only
    y, mo, d, h, mi, s = p
    if mo is not None and not 1 <= mo <= 12:
        return False
    if d is not None:
        import calendar
        if not 1 <= d <= calendar.monthrange(y, mo)[1]:
            return False
    return (h is None or h < 24) and (mi is None or mi < 60) and (s is None or s < 60)


@operator("invalid_date")
def _invalid_date(view: View, node: dict) -> np.ndarray:
    t = as_text(_target(view, node))
    return per_value(t, lambda u: np.array([isinstance(x, str) and x.strip() != "" and not _valid_date(x)
                                            for x in u], dtype=bool))


_DURATION = re.compile(r"^(-)?P(?=\d|T\d)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
                       r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$")


@operator("invalid_duration")
def _invalid_duration(view: View, node: dict) -> np.ndarray:
    allow_negative = node.get("negative", True) is not False

    def invalid(u: np.ndarray) -> np.ndarray:
        out = []
        for x in u:
            if not isinstance(x, str) or not x.strip():
                out.append(False)
                continue
            m = _DURATION.match(x.strip())
            out.append(m is None or (m.group(1) is not None and not allow_negative))
        return np.array(out, dtype=bool)
    return per_value(as_text(_target(view, node)), invalid)


# ----------------------------------------------------------------------------- uniqueness & groups
def _columns(view: View, names: Any) -> list[str]:
    names = names if isinstance(names, list) else [names]
    out = []
    for n in names:
        got = view.operand(n) if isinstance(n, str) and n.startswith("$") else view.resolve(n)
        for g in (got if isinstance(got, (list, tuple, set)) else [got]):
            if isinstance(g, str) and g in view.frame.columns and g not in out:
                out.append(g)
    return out


def _group_keys(frame: pd.DataFrame, cols: list[str], regex: str | None = None) -> pd.DataFrame:
    sub = frame[cols].astype(object).where(frame[cols].notna(), "\0null")
    if regex:
        pattern = re.compile(regex)
        for c in cols:
            sample = sub[c][sub[c] != "\0null"]
            if len(sample) and isinstance(sample.iloc[0], str) and pattern.match(sample.iloc[0]):
                sub[c] = map_distinct(sub[c], lambda x: (m.group(0) if (m := pattern.match(x)) else x)
                                    if isinstance(x, str) and x != "\0null" else x)
    for c in sub.columns:
        sub[c] = map_distinct(sub[c], lambda x: text_of(x) if isinstance(x, float) else x)
    return sub


def _key_values(uniques: np.ndarray, pattern: "re.Pattern | None") -> np.ndarray:
    """_group_keys's value for each distinct value: nulls as one value, the regex's match when the
    column's first value matches it, numbers as text."""
    keys = np.empty(len(uniques), dtype=object)
    keys[:] = ["\0null" if pd.isna(u) is True else u for u in uniques]
    if pattern is not None:
        first = next((k for k in keys if not (isinstance(k, str) and k == "\0null")), None)
        if isinstance(first, str) and pattern.match(first):
            keys[:] = [(m.group(0) if (m := pattern.match(k)) else k) if isinstance(k, str) and k != "\0null" else k
                       for k in keys]
    keys[:] = [text_of(k) if isinstance(k, float) else k for k in keys]
    return pd.factorize(keys)[0]


def _group_codes(view: View, cols: list[str], regex: str | None = None) -> pd.DataFrame:
    """The grouping of _group_keys as integer codes (equal codes: equal keys), worked out on each
    column's distinct values (kept with a shared column), so grouping runs on integers."""
    if len(set(cols)) != len(cols):
        return _group_keys(view.frame, cols, regex)
    pattern = re.compile(regex) if regex else None
    out = {}
    for c in cols:
        s = view.real_column(c)
        try:
            codes, keys = per_distinct(s, f"group key {regex!r}", lambda u: _key_values(u, pattern))
        except TypeError:
            return _group_keys(view.frame, cols, regex)
        out[c] = keys[codes]
    return pd.DataFrame(out, index=view.frame.index)


@operator("is_unique_set")
def _is_unique_set(view: View, node: dict) -> np.ndarray:
    cols = _columns(view, [node["name"]] + (node.get("value") if isinstance(node.get("value"), list)
                                            else ([node["value"]] if node.get("value") else [])))
    if not cols:
        raise Absent(view.resolve(node["name"]))
    keys = _group_codes(view, cols, node.get("regex"))
    sizes = keys.groupby(cols, sort=False, dropna=False)[cols[0]].transform("size")
    return (sizes <= 1).to_numpy()


_negate("is_not_unique_set", "is_unique_set")


@operator("is_not_unique_relationship")
def _not_unique_relationship(view: View, node: dict) -> np.ndarray:
    t_name = view.resolve(node["name"])
    comp = node.get("value")
    c_names = [view.resolve(c) for c in (comp if isinstance(comp, list) else [comp])]
    for c in [t_name] + c_names:
        if c not in view.frame.columns:
            raise Absent(c)
    frame = view.frame
    t_null = is_empty(view.real_column(t_name))
    c_null = np.zeros(view.n, dtype=bool)
    for c in c_names:
        c_null |= is_empty(view.real_column(c))
    keys = _group_codes(view, [t_name] + c_names)
    t_key = keys[t_name]
    c_key = keys.groupby(c_names, sort=False, dropna=False).ngroup() if len(c_names) > 1 else keys[c_names[0]]
    pairs = pd.DataFrame({"t": t_key, "c": c_key, "tn": t_null, "cn": c_null})
    # a non-null target mapping to >1 distinct comparator values (null counts as one), and vice versa
    t_multi = pairs[~pairs.tn].groupby("t")["c"].nunique()
    c_multi = pairs[~pairs.cn].groupby("c")["t"].nunique()
    bad_t = set(t_multi[t_multi > 1].index)
    bad_c = set(c_multi[c_multi > 1].index)
    return ((t_key.isin(bad_t).to_numpy() & ~t_null) | (c_key.isin(bad_c).to_numpy() & ~c_null))


_negate("is_unique_relationship", "is_not_unique_relationship")


@operator("is_inconsistent_across_dataset")
def _inconsistent(view: View, node: dict) -> np.ndarray:
    target = view.resolve(node["name"])
    if target not in view.frame.columns:
        raise Absent(target)
    groups = _columns(view, node.get("value"))
    keys = _group_codes(view, groups + [target])
    # every record of a group holding more than one value (null counts as a value), as the published
    # results of CORE-000612/000699 expect (docs/check_operator.md now describes flagging only the
    # minority records, which CORE-000142's results follow: the two cannot both pass)
    nunique = keys.groupby(groups, dropna=False)[target].transform("nunique")
    return (nunique > 1).to_numpy()


@operator("present_on_multiple_rows_within")
def _multiple_rows(view: View, node: dict) -> np.ndarray:
    target = view.resolve(node["name"])
    within = _columns(view, node.get("within"))
    if target not in view.frame.columns or not within:
        raise Absent(target)
    keys = _group_codes(view, within + [target])
    sizes = keys.groupby(within + [target], dropna=False)[target].transform("size")
    return (sizes > int(node.get("value") or 1)).to_numpy()


_negate("not_present_on_multiple_rows_within", "present_on_multiple_rows_within")


def _sort_key(s: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s
    num = pd.to_numeric(s, errors="coerce")
    return num if num.notna().sum() == s.notna().sum() and s.notna().any() else s.astype(str)


@operator("does_not_have_next_corresponding_record")
def _no_next_record(view: View, node: dict) -> np.ndarray:
    target, comp = view.resolve(node["name"]), view.resolve(node["value"])
    within, ordering = view.resolve(node["within"]), view.resolve(node["ordering"])
    for c in (target, comp, within, ordering):
        if c not in view.frame.columns:
            raise Absent(c)
    f = pd.DataFrame({"t": view.frame[target].astype(object), "c": view.frame[comp].astype(object),
                      "w": view.frame[within].astype(object), "o": _sort_key(view.frame[ordering])})
    f = f.sort_values(["o"], kind="stable")
    nxt = f.groupby("w", sort=False)["c"].shift(-1)
    last = f.groupby("w", sort=False).cumcount(ascending=False) == 0
    ok = last | (f["t"].to_numpy() == nxt.to_numpy())
    return ~ok.reindex(view.frame.index).to_numpy(dtype=bool)


@operator("empty_within_except_last_row")
def _empty_except_last(view: View, node: dict) -> np.ndarray:
    target = view.resolve(node["name"])
    group = _columns(view, node.get("value"))
    ordering = view.resolve(node.get("ordering") or "")
    if target not in view.frame.columns or not group:
        raise Absent(target)
    f = view.frame
    order = [*group] + ([ordering] if ordering in f.columns else [])
    sorted_idx = f.sort_values(order, kind="stable").index
    last = pd.Series(False, index=f.index)
    last.loc[f.loc[sorted_idx].groupby(group, sort=False).tail(1).index] = True
    empty = pd.Series(is_empty(f[target]), index=f.index)
    # CORE reports, for every row except the last of its group, whether the value is empty
    return (empty & ~last).to_numpy()


_negate("non_empty_within_except_last_row", "empty_within_except_last_row")


@operator("target_is_sorted_by")
def _target_sorted(view: View, node: dict) -> np.ndarray:
    """Within each group, the target's order (numeric) is the order of the `value` sort keys."""
    target = view.resolve(node["name"])
    within = _columns(view, node.get("within"))
    f = view.frame
    if target not in f.columns:
        raise Absent(target)
    by, asc = [], []
    for spec in node.get("value") or []:
        col = view.resolve(spec["name"])
        if col not in f.columns:
            raise Absent(col)
        by.append(col)
        asc.append(spec.get("sort_order", "asc") == "asc")
    work = pd.DataFrame({"__t": pd.to_numeric(f[target], errors="coerce").to_numpy()}, index=f.index)
    for c in within:
        work[c] = f[c].astype(object).where(f[c].notna(), "")
    for i, c in enumerate(by):
        work[f"__k{i}"] = f[c].where(~pd.Series(is_empty(f[c]), index=f.index))
    keys = [f"__k{i}" for i in range(len(by))]
    expected = work.sort_values(within + keys, ascending=[True] * len(within) + asc, kind="stable",
                                na_position="last")
    actual = work.sort_values(within + ["__t"], kind="stable", na_position="last")
    exp_pos = expected.groupby(within, sort=False).cumcount() if within else pd.Series(
        np.arange(len(expected)), index=expected.index)
    act_pos = actual.groupby(within, sort=False).cumcount() if within else pd.Series(
        np.arange(len(actual)), index=actual.index)
    ok = (exp_pos.reindex(f.index) == act_pos.reindex(f.index)).to_numpy().copy()
    for c in by:
        ok &= ~_overlapping_dates(f[c], work[within] if within else None)
    return ok


def _overlapping_dates(values: pd.Series, groups: pd.DataFrame | None) -> np.ndarray:
    """Rows whose date cannot be ordered against another of its group: a partial date (2005-10) and a
    more precise one inside it (2005-10-08) are both flagged (docs/check_operator.md)."""
    text = as_text(values).where(lambda x: map_distinct(x, lambda v: isinstance(v, str) and v != "").astype(bool))
    g = groups.astype(str).agg("\x1f".join, axis=1) if groups is not None and len(groups.columns) else \
        pd.Series("", index=values.index)
    rows = pd.DataFrame({"g": g, "v": text}).dropna()
    partial = rows[rows["v"].str.fullmatch(r"\d{4}(-\d{2})?")]
    if partial.empty:
        return np.zeros(len(values), dtype=bool)
    pairs = partial.reset_index().merge(rows.reset_index(), on="g", suffixes=("_p", "_o"))
    inside = pd.Series(False, index=pairs.index)
    for n in (4, 7):                                       # YYYY and YYYY-MM partial dates
        sel = pairs["v_p"].str.len() == n
        inside[sel] = pairs.loc[sel, "v_o"].str[:n] == pairs.loc[sel, "v_p"]
    hit = pairs[(pairs["v_o"] != pairs["v_p"]) & inside]
    flagged = set(hit["index_p"]) | set(hit["index_o"])
    return values.index.isin(list(flagged))


_negate("target_is_not_sorted_by", "target_is_sorted_by")
