"""Operations of the CORE rule language (docs/operations.md): values derived before the Check runs.

An operation returns either a value for the whole dataset (scalar or list, kept in view.values) or
one value per row (a column named by its `$id`, joined on its `group` variables).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from cdisc_dpn.standards.sdtmig import load_sdtmig
from cdisc_dpn.validation.open_rules.operators import date_key
from cdisc_dpn.validation.open_rules.view import (Absent, RuleNotApplicable, View, column_of, derived, is_empty,
                                                  map_distinct)

Operation = Callable[[View, dict], Any]
OPERATIONS: dict[str, Operation] = {}


def operation(name: str):
    def register(fn: Operation) -> Operation:
        OPERATIONS[name] = fn
        return fn
    return register


def _source(view: View, op: dict) -> pd.DataFrame:
    """The frame an operation reads: its `domain` (all datasets of that domain) or the view's own."""
    domain = op.get("domain")
    if not domain:
        # the view's own records; a metadata view (one row per variable) reads its dataset's records
        name = view.resolve(op.get("name") or "")
        frame = view.frame if name in view.frame.columns or name not in view.ds.frame.columns else view.ds.frame
    else:
        parts = [d.frame for d in view.study.datasets.values() if d.name == domain.upper() or d.domain == domain.upper()]
        if not parts:
            raise RuleNotApplicable(f"dataset {domain} is not in the study")
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    for var, val in (op.get("filter") or {}).items():
        var = view.resolve(var)
        if var not in frame.columns:
            raise Absent(var)
        frame = frame[frame[var].astype(object) == val]
    return frame


def _per_group(view: View, op: dict, series_by_group: pd.Series, fill: Any = np.nan) -> pd.Series:
    """Join a result indexed by the group variables back to the view's rows."""
    group = [view.resolve(g) for g in op["group"]]
    for g in group:
        if g not in view.frame.columns:
            raise Absent(g)
    result = series_by_group.rename("__value").reset_index()
    result[group] = result[group].astype(object)
    shared = view.real_column(group[0]) if len(group) == 1 else None
    distinct = column_of(shared).distinct(shared) if column_of(shared) is not None else None
    if distinct is not None:          # one group variable: its distinct values joined, spread to the rows
        keys = pd.DataFrame({group[0]: pd.Series(distinct.uniques, dtype=object)})
        out = keys.merge(result, how="left", on=group)["__value"].take(distinct.codes)
    else:
        out = view.frame[group].astype(object).merge(result, how="left", on=group)["__value"]
    out.index = view.frame.index
    if not isinstance(fill, float) or not np.isnan(fill):
        out = out.where(out.notna(), fill)
    return out


@operation("distinct")
def _distinct(view: View, op: dict) -> Any:
    if op.get("value_is_reference"):
        return _parent_variables(view)
    frame = _source(view, op)
    name = view.resolve(op["name"])
    if name not in frame.columns:
        raise Absent(name)
    col = frame[name]
    keep = ~is_empty(col)
    if op.get("group"):
        group = [view.resolve(g) for g in op["group"]]
        key = ("distinct sets", str(op.get("domain") or "").upper(), name, tuple(group),
               repr(sorted((view.resolve(k), repr(v)) for k, v in (op.get("filter") or {}).items())))
        sets = view.study.merged.get(key) if op.get("domain") else None    # another domain: same for every view
        if sets is None:
            sub = frame.loc[keep, group + [name]]
            sets = sub.groupby(group, dropna=False)[name].agg(lambda s: frozenset(s))
            if op.get("domain"):
                view.study.merged[key] = sets
        return _per_group(view, op, sets, frozenset())
    return list(pd.unique(col[keep]))


def _dates(frame: pd.DataFrame, name: str) -> pd.Series:
    col = frame[name].astype(object)
    return map_distinct(col, lambda x: date_key(x, None) if isinstance(x, str) else None)


def _extreme_date(view: View, op: dict, pick: str) -> Any:
    frame = _source(view, op)
    name = view.resolve(op["name"])
    if name not in frame.columns:
        raise Absent(name)
    keys = _dates(frame, name)
    ok = keys.notna()
    data = pd.DataFrame({"text": frame[name].astype(object), "key": keys})[ok]
    if op.get("group"):
        group = [view.resolve(g) for g in op["group"]]
        for g in group:
            data[g] = frame.loc[ok, g].astype(object)
        data = data.assign(__order=map_distinct(data["key"], lambda k: "".join(f"{v:04d}" for v in k)))
        data = data.sort_values("__order", kind="stable")
        chosen = data.groupby(group, dropna=False)["text"].agg("first" if pick == "min" else "last")
        return _per_group(view, op, chosen, "")
    if not len(data):
        return ""
    ordered = sorted(zip(data["key"], data["text"]))
    return ordered[0][1] if pick == "min" else ordered[-1][1]


OPERATIONS["min_date"] = lambda v, op: _extreme_date(v, op, "min")
OPERATIONS["max_date"] = lambda v, op: _extreme_date(v, op, "max")


@operation("record_count")
def _record_count(view: View, op: dict) -> Any:
    if not op.get("domain") and op.get("group") and not op.get("filter"):
        # records of the view's own dataset sharing the row's group values (a regex trims values
        # first, e.g. datetimes to their date); a $list in `group` stands for its variables
        from cdisc_dpn.validation.open_rules.operators import _columns, _group_codes

        cols = _columns(view, list(op["group"]))
        if not cols:
            raise Absent(view.resolve(op["group"][0]))
        keys = _group_codes(view, cols, op.get("regex"))
        return keys.groupby(cols, sort=False, dropna=False)[cols[0]].transform("size").astype(float)
    if op.get("regex"):
        raise RuleNotApplicable("record_count with regex on another dataset is not implemented")
    frame = _source(view, op)
    if op.get("group"):
        group = [view.resolve(g) for g in op["group"]]
        for g in group:
            if g not in frame.columns:
                raise Absent(g)
        counts = frame.groupby(group, dropna=False).size()
        return _per_group(view, op, counts, 0)
    return int(len(frame))


@operation("dy")
def _dy(view: View, op: dict) -> pd.Series:
    """Study day of `name` against RFSTDTC (no day 0)."""
    name = view.resolve(op["name"])
    for c in (name, "RFSTDTC"):
        if c not in view.frame.columns:
            raise Absent(c)
    d, r = _calendar_day(view.real_column(name)), _calendar_day(view.real_column("RFSTDTC"))
    days = (d - r).dt.days
    return (days + (days >= 0)).astype(float)


def _calendar_day(s: pd.Series) -> pd.Series:
    """The date of each value's first 10 characters (NaT when not YYYY-MM-DD), parsed once per
    distinct value of a shared column."""
    def parse(values: pd.Series) -> pd.Series:
        return pd.to_datetime(values.astype(str).str[:10], format="%Y-%m-%d", errors="coerce")
    col = column_of(s)
    distinct = col.distinct(s) if col is not None else None
    if distinct is None:
        return parse(s)

    def make() -> pd.Series:
        days = parse(pd.Series(distinct.uniques, dtype=s.dtype))
        return pd.Series(days.to_numpy()[distinct.codes], index=s.index, name=s.name)
    return derived(s, "calendar day", make)


@operation("study_domains")
def _study_domains(view: View, op: dict) -> list[str]:
    return sorted({d.domain for d in view.study.datasets.values()})


@operation("dataset_names")
def _dataset_names(view: View, op: dict) -> list[str]:
    return sorted(view.study.datasets)


@operation("domain_label")
def _domain_label(view: View, op: dict) -> str:
    md = load_sdtmig().get(view.ds.domain)
    return md.label if md is not None else view.ds.label


@operation("variable_count")
def _variable_count(view: View, op: dict) -> int:
    name = op["name"]
    count = 0
    for ds in view.study.datasets.values():
        prefix = ds.domain[:2]
        if (prefix + name[2:] if name.startswith("--") else name) in ds.frame.columns:
            count += 1
    return count


@operation("variable_exists")
def _variable_exists(view: View, op: dict) -> bool:
    return view.resolve(op["name"]) in view.ds.frame.columns


@operation("extract_metadata")
def _extract_metadata(view: View, op: dict) -> Any:
    key = op.get("name")
    if key == "dataset_name":
        return view.ds.name
    if key == "dataset_label":
        return view.ds.label
    raise RuleNotApplicable(f"extract_metadata {key} is not implemented")


@operation("get_column_order_from_dataset")
def _column_order(view: View, op: dict) -> list[str]:
    return list(view.ds.frame.columns)


def _library_variables(view: View, core: set[str]) -> list[str]:
    md = load_sdtmig().get(view.ds.domain)
    if md is None:
        raise RuleNotApplicable(f"{view.ds.domain} is not an SDTMIG 3.4 domain")
    return [v.name for v in md.variables if v.core in core]


OPERATIONS["required_variables"] = lambda v, op: _library_variables(v, {"Req"})
OPERATIONS["expected_variables"] = lambda v, op: _library_variables(v, {"Exp"})


@operation("domain_is_custom")
def _domain_is_custom(view: View, op: dict) -> bool:
    return view.ds.domain not in load_sdtmig() and not view.ds.name.startswith("SUPP")


def _parent_variables(view: View) -> pd.Series:
    """distinct + value_is_reference on a SUPP--/CO/RELREC record: the variables of the dataset its
    RDOMAIN names (the values IDVAR may take), one collection per row."""
    if "RDOMAIN" not in view.frame.columns:
        raise Absent("RDOMAIN")
    by_domain: dict[str, frozenset] = {}
    for ds in view.study.datasets.values():
        if not ds.name.startswith("SUPP") and ds.name not in ("RELREC", "CO"):
            by_domain.setdefault(ds.domain, frozenset())
            by_domain[ds.domain] = by_domain[ds.domain] | frozenset(ds.frame.columns)
    rdomain = map_distinct(view.frame["RDOMAIN"], lambda x: x.strip().upper() if isinstance(x, str) else "")
    return map_distinct(rdomain, lambda d: by_domain.get(d, frozenset()))


@operation("get_parent_model_column_order")
def _parent_model_variables(view: View, op: dict) -> list[str]:
    """For a SUPP-- dataset: every variable its parent domain may hold (SDTMIG domain variables plus
    the SDTM model identifiers, timing and class variables with the domain prefix)."""
    from cdisc_dpn.standards.sdtmig import model_variable_names

    parent = view.ds.name[4:] if view.ds.name.startswith("SUPP") else view.ds.domain
    return _allowed_variables(parent, None)


def _allowed_variables(domain: str, dataset_class: str | None) -> list[str]:
    from cdisc_dpn.standards.sdtmig import model_variable_names

    md = load_sdtmig().get("SUPPQUAL" if domain.startswith("SUPP") else domain)
    if md is None and not dataset_class:
        raise RuleNotApplicable(f"{domain} is not an SDTMIG 3.4 domain and its class is unknown")
    names = [v.name for v in md.variables] if md is not None else []
    cls = md.dataset_class if md is not None else dataset_class
    extra = sorted(model_variable_names(cls, domain[:2]) - set(names))
    return names + extra


@operation("get_model_column_order")
def _model_variables(view: View, op: dict) -> list[str]:
    """Variables the dataset's domain may hold: SDTMIG domain variables plus the SDTM model ones
    (an associated-persons domain APxx: those of xx plus the associated-persons identifiers)."""
    domain = view.ds.domain
    if domain.startswith("AP") and len(domain) == 4:
        return ["STUDYID", "DOMAIN", "APID", "RSUBJID", "RDEVID", "SREL"] + \
            _allowed_variables(domain[2:], view.ds.dataset_class.title())
    return _allowed_variables(domain, view.ds.dataset_class.title())


def _role(domain: str, variable: str) -> str:
    """SDTMIG role of a variable of a domain, else the SDTM model role of its --name."""
    md = load_sdtmig().get(domain)
    for v in (md.variables if md is not None else ()):
        if v.name == variable:
            return v.role
    generic = "--" + variable[2:] if variable.startswith(domain[:2]) else variable
    for row in _model_rows():
        if row["Variable Name"] in (variable, generic):
            return row.get("Role") or ""
    return ""


_MODEL_ROWS: list[dict[str, str]] = []


def _model_rows() -> list[dict[str, str]]:
    if not _MODEL_ROWS:
        from cdisc_dpn.standards.sdtmig import _read

        _MODEL_ROWS.extend(_read("sdtm-2.0-variables.csv"))
    return _MODEL_ROWS


@operation("get_dataset_filtered_variables")
def _filtered_variables(view: View, op: dict) -> list[str]:
    """The dataset's variables whose metadata `key_name` (only role is known) equals `key_value`."""
    if op.get("key_name") != "role":
        raise RuleNotApplicable(f"get_dataset_filtered_variables on {op.get('key_name')} is not implemented")
    want = str(op.get("key_value") or "")
    return [c for c in view.ds.frame.columns if _role(view.ds.domain, c) == want]


@operation("get_model_filtered_variables")
def _model_filtered_variables(view: View, op: dict) -> list[str]:
    """Variables the domain may hold (SDTMIG + SDTM model) whose role equals `key_value`."""
    if op.get("key_name") != "role":
        raise RuleNotApplicable(f"get_model_filtered_variables on {op.get('key_name')} is not implemented")
    want = str(op.get("key_value") or "")
    domain = view.ds.domain
    return [v for v in _allowed_variables(domain, view.ds.dataset_class.title()) if _role(domain, v) == want]
