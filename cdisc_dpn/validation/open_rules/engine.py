"""Run Open Rules on a study: scope -> Match Datasets -> Operations -> Check tree -> hits.

Every (rule, dataset) pair ends in one of: hits (possibly none), skipped with the reason (a
variable the check needs is absent, as CORE does), or an error with its message. Nothing is
dropped silently: callers count skips and errors beside the hits.

Cost grows with distinct values, not rows: run_rules takes one dataset at a time and runs every rule
on it; what the rules share there (each column's codes into its distinct values and what is worked
out from them, keyed joins as row positions, value-check views, metadata views) lives in
study.merged until the dataset is done, then is dropped. A joined column takes its source column's
distinct values with its rows, so nothing is factorized twice.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cdisc_dpn.validation.open_rules.operations import OPERATIONS
from cdisc_dpn.validation.open_rules.operators import OPERATORS
from cdisc_dpn.validation.open_rules.rulebook import OpenRule
from cdisc_dpn.validation.open_rules.study import StudyData, StudyDataset
from cdisc_dpn.validation.open_rules.view import (Absent, Columns, Distinct, RuleNotApplicable, View, column_of,
                                                  map_distinct, share, text_of)

RULE_TYPES = ("Record Data", "Dataset Metadata Check", "Variable Metadata Check", "Domain Presence Check",
              "Value Check with Variable Metadata", "Value Check with Dataset Metadata")
VALUE_CHECKS = ("Value Check with Variable Metadata", "Value Check with Dataset Metadata")
#: operators that compare rows with each other (a check using one cannot run on distinct values)
ACROSS_ROWS = {"is_unique_set", "is_not_unique_set", "is_unique_relationship", "is_not_unique_relationship",
               "is_inconsistent_across_dataset", "present_on_multiple_rows_within",
               "not_present_on_multiple_rows_within", "does_not_have_next_corresponding_record",
               "empty_within_except_last_row", "non_empty_within_except_last_row", "target_is_sorted_by",
               "target_is_not_sorted_by", "contains_all", "not_contains_all", "is_ordered_subset_of",
               "is_not_ordered_subset_of", "shares_no_elements_with"}


def _match_keys(view, match: dict) -> tuple[list[str], list[str]]:
    """A Match Datasets entry's keys as (this dataset's columns, the other dataset's columns); a key is
    one name for both sides or a {Left, Right} pair."""
    left, right = [], []
    for k in match.get("Keys") or []:
        if isinstance(k, dict):
            left.append(view.resolve(k["Left"]))
            right.append(k["Right"])
        else:
            left.append(view.resolve(k))
            right.append(k)
    return left, right


def _operators(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["operator"]] if "operator" in node else []
        for k in ("all", "any"):
            for child in node.get(k) or []:
                out += _operators(child)
        return out + (_operators(node["not"]) if "not" in node else [])
    return []


@dataclass(frozen=True)
class Hit:
    rule_id: str
    dataset: str
    record: int | None                  # 1-based record of the dataset; None for a dataset-level finding
    values: tuple[tuple[str, str], ...]  # output variables and their values


@dataclass
class RuleRun:
    rule: OpenRule
    status: str                          # ran | unsupported | not applicable
    reason: str = ""
    hits: list[Hit] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)        # datasets the rule was evaluated on
    skipped: dict[str, str] = field(default_factory=dict)    # dataset -> why not evaluated
    errors: dict[str, str] = field(default_factory=dict)     # dataset -> engine error


# ----------------------------------------------------------------------------- scope
def _class_matches(rule: OpenRule, cls: str) -> bool:
    aliases = {cls, "FINDINGS"} if cls == "FINDINGS ABOUT" else {cls}
    if rule.classes_exclude and aliases & set(rule.classes_exclude):
        return False
    return "ALL" in rule.classes_include or bool(aliases & set(rule.classes_include))


def in_scope(rule: OpenRule, ds: StudyDataset) -> bool:
    tokens = {ds.name, ds.domain}
    if ds.name.startswith("SUPP"):
        tokens.add("SUPP--")
    if ds.domain.startswith("AP"):
        tokens.add("AP--")
    if tokens & set(rule.domains_exclude):
        return False
    if "ALL" not in rule.domains_include and not tokens & set(rule.domains_include):
        return False
    return _class_matches(rule, ds.dataset_class)


# ----------------------------------------------------------------------------- merges
def _match_frame(study: StudyData, name: str) -> pd.DataFrame:
    parts = [d.frame for d in study.datasets.values() if d.name == name or d.domain == name]
    if not parts:
        raise RuleNotApplicable(f"Match Datasets: {name} is not in the study")
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _supp_wide(parent: pd.DataFrame, supp: pd.DataFrame) -> pd.DataFrame:
    """Parent rows with one column per QNAM, joined on USUBJID (+ IDVAR = IDVARVAL when given)."""
    out = pd.DataFrame(index=parent.index)
    if not {"USUBJID", "QNAM", "QVAL"} <= set(supp.columns):
        return out
    idvar = supp["IDVAR"].astype(str) if "IDVAR" in supp.columns else pd.Series("", index=supp.index)
    idval = map_distinct(supp["IDVARVAL"], text_of) if "IDVARVAL" in supp.columns else \
        pd.Series("", index=supp.index)
    for var in pd.unique(idvar):
        part = supp[idvar == var]
        left = parent[["USUBJID"]].astype(object).copy()
        keys = ["USUBJID"]
        if var.strip() and var in parent.columns:
            left["__id"] = _text_key(parent[var])
            part = part.assign(__id=idval[idvar == var])
            keys.append("__id")
        elif var.strip():
            continue
        wide = part.pivot_table(index=keys, columns="QNAM", values="QVAL", aggfunc="first")
        joined = left.merge(wide, how="left", left_on=keys, right_index=True)
        for q in wide.columns:
            out[q] = joined[q].combine_first(out[q]) if q in out.columns else joined[q]
    return out


def _merge(view: View, rule: OpenRule) -> View:
    """The view joined with the rule's Match Datasets. Many rules share a join (DM on USUBJID): plain
    keyed joins are kept per (dataset, Match Datasets) as row positions, each rule taking only the
    columns it names; other joins are kept per study with the columns they carry."""
    needed = _referenced_columns(rule, view)
    if needed is not None:
        key = ("keyed join", view.ds.name, repr(rule.match_datasets), "**" in str(rule.check))
        plan = view.study.merged.get(key)
        if plan is None:
            try:
                plan = _KeyedJoin.of(view, rule)
            except (Absent, RuleNotApplicable) as exc:
                plan = exc
            view.study.merged[key] = plan
        if isinstance(plan, Exception):
            raise plan
        if plan is not _NOT_KEYED:
            return View(view.ds, plan.frame(needed), plan.rows, view.study, view.values, view.wildcard, plan)
    key = (view.ds.name, _effective(rule, view.ds), "**" in str(rule.check), needed)
    cached = view.study.merged.get(key)
    if cached is None:
        if needed is not None:          # plain keyed joins: only the columns the rule names are carried
            view = View(view.ds, view.frame[[c for c in view.frame.columns if c in needed]], view.rows,
                        view.study, view.values, view.wildcard)
        try:
            frame, rows, wildcard = _join(view, rule, needed)
            cached = (frame, rows, wildcard, Columns(frame))
        except (Absent, RuleNotApplicable) as exc:
            cached = exc
        view.study.merged[key] = cached
    if isinstance(cached, Exception):
        raise cached
    frame, rows, wildcard, columns = cached
    return View(view.ds, frame, rows, view.study, view.values, wildcard, columns)


def _effective(rule: OpenRule, ds: StudyDataset) -> str:
    """The rule's Match Datasets as they act on `ds` (Child entries naming another dataset do
    nothing), so rules joining the same way share the join. A RELREC join keeps the key it had
    (its columns depend on the check of the first rule that built it, see _join_related)."""
    if any(str(m["Name"]).upper() == "RELREC" and not m.get("Keys") and not m.get("Child")
           for m in rule.match_datasets):
        return repr(rule.match_datasets)
    return repr([m for m in rule.match_datasets if not m.get("Child") or _child_applies(ds, str(m["Name"]).upper())])


_NOT_KEYED = object()


class _KeyedJoin(Columns):
    """Plain keyed Match Datasets (inner or left joins) as row positions into each joined frame; the
    joined frame of a rule is taken from them, only the columns it names, each column taken once.
    Same rows, order, columns and values as merging the frames (`_join`)."""

    def __init__(self, sources: list[pd.DataFrame], positions: list[np.ndarray],
                 columns: list[tuple[str, int, str, str]], base: Columns | None = None):
        self.sources = sources              # the view's frame, converted key columns, each Match Dataset
        self.positions = positions          # per source: its row for each joined row (-1: none)
        self.order = columns                # (joined name, source, source column, name that `needed` filters)
        self.where = {c[0]: c for c in columns}
        self.base = base                    # the shared columns of the view's frame (source 0)
        self._series = {}
        self._distinct: dict[tuple[int, str], Distinct | None] = {}

    @property
    def rows(self) -> np.ndarray:
        return self.positions[0]

    def get(self, name: str) -> pd.Series:
        s = self._series.get(name)
        if s is None:
            _, src, col, _ = self.where[name]
            source = self.sources[src][col]
            values = source.array if isinstance(source.dtype, pd.api.extensions.ExtensionDtype) else \
                source.to_numpy()
            pos = self.positions[src]
            fill = bool((pos < 0).any())
            taken = pd.api.extensions.take(values, pos, allow_fill=fill)
            distinct = self._taken_distinct(src, col, source, pos, fill) if taken.dtype == source.dtype else None
            s = self._series[name] = share(pd.Series(taken, name=name, dtype=taken.dtype, copy=False), distinct)
        return s

    def _taken_distinct(self, src: int, col: str, source: pd.Series, pos: np.ndarray, fill: bool) -> Distinct | None:
        """The taken column's distinct values from its source's (no factorize of the joined rows):
        taking rows keeps the values, a row without a match is NaN. Only where the null kept as the
        one null value cannot differ (str and float columns, or no null at all)."""
        if (src, col) not in self._distinct:
            shared = self.base.get(col) if src == 0 and self.base is not None else None
            if shared is not None:
                self._distinct[(src, col)] = column_of(shared).distinct(shared)
            else:
                self._distinct[(src, col)] = Distinct.of(source)
        d = self._distinct[(src, col)]
        if d is None or (d.null.any() and not (isinstance(source.dtype, pd.StringDtype) or source.dtype == np.float64)):
            return None
        if not fill:
            return Distinct(d.codes[pos], d.uniques, d.null)
        nulls = np.flatnonzero(d.null)
        uniques, null = d.uniques, d.null
        if len(nulls):
            if not isinstance(uniques[nulls[0]], float):
                return None
            fill_code = nulls[0]
        else:
            uniques = np.append(uniques, np.array([np.nan], dtype=object))
            null = np.append(null, True)
            fill_code = len(uniques) - 1
        codes = np.where(pos < 0, fill_code, d.codes[np.maximum(pos, 0)]).astype(d.codes.dtype, copy=False)
        return Distinct(codes, uniques, null)

    def frame(self, needed: frozenset[str]) -> pd.DataFrame:
        names = [c[0] for c in self.order if c[3] in needed]
        return pd.DataFrame({n: self.get(n) for n in names}, columns=names, copy=False) if names else \
            pd.DataFrame(index=pd.RangeIndex(len(self.rows)))

    @classmethod
    def of(cls, view: View, rule: OpenRule) -> "_KeyedJoin | object":
        if any(m.get("Child") or not m.get("Keys") or (m.get("Join Type") or "inner") not in ("inner", "left")
               for m in rule.match_datasets):
            return _NOT_KEYED
        sources = [view.frame]
        positions = [np.asarray(view.rows)]
        columns = [(c, 0, c, c) for c in view.frame.columns]
        n = len(view.frame)
        for m in rule.match_datasets:
            name = str(m["Name"]).upper()
            other = _match_frame(view.study, name)
            left_keys, right_keys = _match_keys(view, m)
            where = {c[0]: c for c in columns}
            for k in left_keys:
                if k not in where:
                    raise Absent(k)
            for k in right_keys:
                if k not in other.columns:
                    raise RuleNotApplicable(f"Match Datasets: {name} has no {k}")
            renamed = {c: (f"__key_{c}" if c in right_keys else f"{name}.{c}") for c in other.columns}
            added = [renamed[c] for c in other.columns if c not in right_keys] + \
                [c for c in other.columns if c not in right_keys and c not in where]
            if len(set(added)) != len(added) or set(added) & set(where) or len(set(right_keys)) != len(right_keys):
                return _NOT_KEYED                 # names the merge would suffix: the general join
            plan = cls(sources, positions, columns, view.columns)
            left = pd.DataFrame({f"__l{i}": plan.get(k) for i, k in enumerate(left_keys)} | {"__lp": np.arange(n)})
            right = pd.DataFrame({f"__r{i}": other[k] for i, k in enumerate(right_keys)} |
                                 {"__rp": np.arange(len(other))})
            converted = {}
            for i, lk in enumerate(left_keys):
                a, b = left[f"__l{i}"], right[f"__r{i}"]
                if pd.api.types.is_numeric_dtype(a.dtype) != pd.api.types.is_numeric_dtype(b.dtype):
                    left[f"__l{i}"] = converted[lk] = map_distinct(a, text_of)
                    right[f"__r{i}"] = map_distinct(b, text_of)
            shared = plan.get(left_keys[0]) if len(left_keys) == 1 and not converted else left["__l0"]
            lp, rp = _matches(left, right, len(left_keys), m.get("Join Type") or "inner", shared)
            positions = [pos[lp] for pos in positions]
            for lk, values in converted.items():       # the merged frame holds the converted key
                sources.append(pd.DataFrame({lk: values}))
                positions.append(lp)
                columns = [(c, len(sources) - 1, lk, c) if c == lk else (c, src, col, f) for c, src, col, f in columns]
            sources.append(other)
            positions.append(np.where(np.isnan(rp), -1, np.nan_to_num(rp, nan=-1)).astype(np.intp))
            src = len(sources) - 1
            columns = columns + [(renamed[c], src, c, c) for c in other.columns if c not in right_keys] + \
                [(c, src, c, c) for c in other.columns if c not in right_keys and c not in where]
            n = len(lp)
        return cls(sources, positions, columns, view.columns)


def _referenced_columns(rule: OpenRule, view: View) -> frozenset[str] | None:
    """The variables a rule with plain keyed Match Datasets names (check, operations, keys, outputs),
    both sides' spellings; None when it cannot be told (child, SUPP-- or RELREC joins, $ column lists)."""
    names: set[str] = set()
    for m in rule.match_datasets:
        if m.get("Child") or not m.get("Keys") or str(m["Name"]).upper().startswith("SUPP") or \
                str(m["Name"]).upper() == "RELREC":
            return None
        for k in m["Keys"]:
            names.update((k["Left"], k["Right"]) if isinstance(k, dict) else (k,))

    def add(value: Any, as_columns: bool = False) -> bool:
        if isinstance(value, str):
            if value.startswith("$"):
                return not as_columns          # a $list used as columns: cannot tell
            names.add(value)
        elif isinstance(value, list):
            return all(add(v, True) if isinstance(v, str) else add(v.get("name", ""), True)
                       if isinstance(v, dict) else True for v in value)
        return True

    def walk(node: Any) -> bool:
        if isinstance(node, dict):
            ok = all(walk(c) for k in ("all", "any") for c in node.get(k) or [])
            ok = ok and (walk(node["not"]) if "not" in node else True)
            for k in ("name", "value", "within", "ordering"):
                if k in node:
                    ok = ok and add(node[k], k in ("within",) or isinstance(node[k], list))
            return ok
        return True
    if not walk(rule.check):
        return None
    for op in rule.operations:
        if not (add(op.get("name", "")) and add(list(op.get("group") or []))):
            return None
        names.update((op.get("filter") or {}).keys())
    names.update(rule.output_variables)
    resolved = {view.resolve(n) for n in names if n}
    resolved |= {n.split(".", 1)[1] for n in resolved if "." in n}
    return frozenset(resolved | {"USUBJID", "DOMAIN"})


def _join(view: View, rule: OpenRule, needed: frozenset[str] | None = None
          ) -> tuple[pd.DataFrame, np.ndarray, tuple[str, str] | None]:
    frame = view.frame.assign(__row=view.rows)
    for m in rule.match_datasets:
        name = str(m["Name"]).upper()
        if m.get("Child"):
            if _child_applies(view.ds, name):
                frame = _join_parent(view, frame)
            continue
        if name == "RELREC" and not m.get("Keys"):
            frame = _join_related(view, frame, str(m.get("Wildcard") or "**"), rule)
            continue
        if name.startswith("SUPP") and not view.ds.name.startswith("SUPP"):
            supp = _match_frame(view.study, name if name != "SUPP--" else "SUPP" + view.ds.domain)
            wide = _supp_wide(frame, supp)
            frame = pd.concat([frame, wide[[c for c in wide.columns if c not in frame.columns]]], axis=1)
            continue
        other = _match_frame(view.study, name)
        left_keys, right_keys = _match_keys(view, m)
        for k in left_keys:
            if k not in frame.columns:
                raise Absent(k)
        for k in right_keys:
            if k not in other.columns:
                raise RuleNotApplicable(f"Match Datasets: {name} has no {k}")
        if needed is not None:
            other = other[[c for c in other.columns if c in needed or c in right_keys]]
        renamed = {}
        for c in other.columns:
            if c in right_keys:
                renamed[c] = f"__key_{c}"
            else:
                renamed[c] = f"{name}.{c}"
        right = other.rename(columns=renamed)
        for c in other.columns:
            if c not in right_keys and c not in frame.columns:
                right[c] = right[f"{name}.{c}"]
        rk = [renamed[k] for k in right_keys]
        left = frame.copy()
        for lk, r in zip(left_keys, rk):
            if pd.api.types.is_numeric_dtype(left[lk].dtype) != pd.api.types.is_numeric_dtype(right[r].dtype):
                left[lk] = map_distinct(left[lk], text_of)
                right[r] = map_distinct(right[r], text_of)
        with warnings.catch_warnings():          # int/float key columns: values compare numerically
            warnings.simplefilter("ignore", UserWarning)
            frame = left.merge(right, how=m.get("Join Type") or "inner", left_on=left_keys, right_on=rk)
        frame = frame.drop(columns=rk)
    frame = frame.reset_index(drop=True)
    return frame.drop(columns="__row"), frame["__row"].to_numpy(), view.wildcard


def _matches(left: pd.DataFrame, right: pd.DataFrame, keys: int, how: str,
             key: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(left row, right row or NaN) of each row the merge of the key frames gives, in its order. One
    key variable (`key`, left's __l0 as a shared column when it is one): its distinct values are
    merged, then each left row takes its value's matches."""
    left_on, right_on = [f"__l{i}" for i in range(keys)], [f"__r{i}" for i in range(keys)]
    key = key if keys == 1 else None
    distinct = None
    if key is not None:
        col = column_of(key)
        distinct = col.distinct(key) if col is not None else Distinct.of(key)
    with warnings.catch_warnings():          # int/float key columns: values compare numerically
        warnings.simplefilter("ignore", UserWarning)
        if distinct is None:
            joined = left.merge(right, how=how, left_on=left_on, right_on=right_on)
            return joined["__lp"].to_numpy(), joined["__rp"].to_numpy(dtype=float, na_value=np.nan)
        values = pd.DataFrame({"__l0": pd.Series(distinct.uniques, dtype=key.dtype),
                               "__u": np.arange(len(distinct.uniques))})
        joined = values.merge(right, how=how, left_on=left_on, right_on=right_on)
    u = joined["__u"].to_numpy()
    order = np.argsort(u, kind="stable")
    matched = joined["__rp"].to_numpy(dtype=float, na_value=np.nan)[order]
    counts = np.bincount(u, minlength=len(distinct.uniques))
    starts = np.cumsum(counts) - counts
    per_row = counts[distinct.codes]
    lp = np.repeat(np.arange(len(key)), per_row)
    first = np.repeat(np.cumsum(per_row) - per_row, per_row)
    return lp, matched[np.repeat(starts[distinct.codes], per_row) + np.arange(len(lp)) - first]


def _child_applies(ds: StudyDataset, name: str) -> bool:
    """A `Child: true` entry names the child dataset (SUPP--, CO, RELREC) the rule is evaluated on."""
    return name == ds.name or (name == "SUPP--" and ds.name.startswith("SUPP"))


def _join_parent(view: View, frame: pd.DataFrame) -> pd.DataFrame:
    """Child-to-parent join: each SUPP--/CO/RELREC record gets the columns of its parent record
    (dataset named by RDOMAIN, same USUBJID, parent[IDVAR] = IDVARVAL); a left join, so records
    without a parent keep empty parent columns."""
    need = {"RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL"}
    if not need <= set(frame.columns):
        raise Absent(sorted(need - set(frame.columns))[0])
    rdomain = map_distinct(frame["RDOMAIN"], lambda x: _text_value(x).upper())
    idvar = _text_key(frame["IDVAR"])
    idval = _text_key(frame["IDVARVAL"])
    parts = []
    for (dom, var), rows in frame.groupby([rdomain, idvar], sort=False).groups.items():
        child = frame.loc[rows]
        parent = view.study.by_domain(dom) if dom else None
        if parent is None or not var or var not in parent.frame.columns or "USUBJID" not in parent.frame.columns:
            parts.append(child)
            continue
        cols = [c for c in parent.frame.columns if c not in child.columns or c == var]
        right = parent.frame[["USUBJID"] + [c for c in cols if c != "USUBJID"]]
        right = right.assign(__key=_text_key(right[var]))
        right = right.drop_duplicates(["USUBJID", "__key"])
        if var in child.columns:
            right = right.drop(columns=[var])
        left = child.assign(__key=idval.loc[rows], __usubjid=child["USUBJID"])
        joined = left.merge(right.rename(columns={"USUBJID": "__usubjid"}), how="left", on=["__usubjid", "__key"])
        joined.index = child.index
        parts.append(joined.drop(columns=["__key", "__usubjid"]))
    return pd.concat(parts).sort_index() if parts else frame


def _text_value(x: Any) -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) else text_of(x).strip()


def _text_key(s: pd.Series) -> pd.Series:
    return map_distinct(s, _text_value)


def _join_related(view: View, frame: pd.DataFrame, wildcard: str, rule: OpenRule) -> pd.DataFrame:
    """Records related through RELREC: each record of the view joined with every record of another
    domain that shares a RELID with it. Record-level links name the records (USUBJID, IDVAR =
    IDVARVAL); dataset-level links (IDVARVAL empty) relate records whose IDVAR values agree within a
    subject. Parent columns come as RELREC.<var> and RELREC.<wildcard><suffix> (suffix: the name
    without its domain prefix); names the check uses but no parent has are empty columns.
    Joins are merges per (IDVAR, related domain, related IDVAR), never a loop over records."""
    relrec = view.study.by_domain("RELREC")
    if relrec is None or not {"RDOMAIN", "IDVAR", "RELID"} <= set(relrec.frame.columns):
        raise RuleNotApplicable("RELREC is not in the study")
    rel = pd.DataFrame({c: _text_key(relrec.frame[c]) if c in relrec.frame.columns else ""
                        for c in ("RDOMAIN", "IDVAR", "RELID", "USUBJID", "IDVARVAL")})
    rel["RDOMAIN"] = rel["RDOMAIN"].str.upper()
    mine, others = rel[rel["RDOMAIN"] == view.ds.domain], rel[rel["RDOMAIN"] != view.ds.domain]
    links = mine.merge(others, on="RELID", suffixes=("_m", "_o"))
    links = links[(links["USUBJID_m"] == links["USUBJID_o"]) | (links["USUBJID_m"] == "") |
                  (links["USUBJID_o"] == "")].drop_duplicates()
    subject = _text_key(frame["USUBJID"]) if "USUBJID" in frame.columns else pd.Series("", index=frame.index)
    pieces = []
    for (var_m, dom_o, var_o), group in links.groupby(["IDVAR_m", "RDOMAIN_o", "IDVAR_o"], sort=True):
        parent = view.study.by_domain(dom_o)
        if var_m not in frame.columns or parent is None or var_o not in parent.frame.columns:
            continue
        pf = parent.frame
        right = pd.DataFrame({"__u": _text_key(pf["USUBJID"]) if "USUBJID" in pf.columns else "",
                              "__ko": _text_key(pf[var_o])})
        prefix = parent.domain[:2]
        extra = {}
        for c in pf.columns:
            extra[f"RELREC.{c}"] = pf[c].to_numpy()
            if c.startswith(prefix) and len(c) > 2:
                extra[f"RELREC.{wildcard}{c[2:]}"] = pf[c].to_numpy()
        right = pd.concat([right, pd.DataFrame(extra, index=pf.index)], axis=1)
        left = frame.assign(__u=subject.to_numpy(), __km=_text_key(frame[var_m]).to_numpy())
        record_level = group[group["IDVARVAL_m"] != ""]
        if len(record_level):
            # the view's record (USUBJID, IDVAR_m = IDVARVAL_m) -> related record (IDVAR_o = IDVARVAL_o)
            keys = record_level.rename(columns={"IDVARVAL_m": "__km", "IDVARVAL_o": "__ko"})
            keys["__u"] = keys["USUBJID_m"].where(keys["USUBJID_m"] != "", keys["USUBJID_o"])
            named = keys[keys["__u"] != ""][["__u", "__km", "__ko"]].drop_duplicates()
            any_subject = keys[keys["__u"] == ""][["__km", "__ko"]].drop_duplicates()   # link without USUBJID
            step = pd.concat([left.merge(named, on=["__u", "__km"]), left.merge(any_subject, on="__km")],
                             ignore_index=True)
            pieces.append(step.merge(right, on=["__u", "__ko"]))
        if (group["IDVARVAL_m"] == "").any():
            # dataset-level: records whose IDVAR values agree within a subject
            both = left[left["__km"] != ""].merge(right[right["__ko"] != ""], left_on=["__u", "__km"],
                                                   right_on=["__u", "__ko"])
            pieces.append(both)
    pieces = [p.drop(columns=[c for c in ("__u", "__km", "__ko") if c in p.columns]) for p in pieces]
    if not pieces or not sum(len(p) for p in pieces):
        raise RuleNotApplicable("no record of this dataset is related through RELREC")
    out = pd.concat(pieces, ignore_index=True)
    for name in _names(rule.check):
        if name.startswith("RELREC.") and name not in out.columns:
            out[name] = np.nan
    return out


def _names(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [v for k, v in node.items() if k in ("name", "value") and isinstance(v, str)]
        for k in ("all", "any"):
            for child in node.get(k) or []:
                out += _names(child)
        if "not" in node:
            out += _names(node["not"])
        return out
    return []


# ----------------------------------------------------------------------------- check tree
def evaluate(node: dict, view: View) -> np.ndarray:
    if "all" in node:
        mask = np.ones(view.n, dtype=bool)
        for child in node["all"]:
            mask &= evaluate(child, view)
            if not mask.any():
                return mask
        return mask
    if "any" in node:
        masks, absent = [], None
        for child in node["any"]:
            try:
                masks.append(evaluate(child, view))
            except Absent as exc:
                absent = exc
        if not masks:
            raise absent
        return np.logical_or.reduce(masks)
    if "not" in node:
        return ~evaluate(node["not"], view)
    return np.asarray(OPERATORS[node["operator"]](view, node), dtype=bool)


def _metadata_view(rule: OpenRule, ds: StudyDataset, study: StudyData) -> View:
    """One row per variable (Variable Metadata Check) or one row for the dataset; the frame is shared
    by the dataset's metadata rules (operations add their columns to a rule's own copy)."""
    sized = rule.rule_type != "Variable Metadata Check" and "dataset_size" in repr(rule.check) + repr(rule.operations)
    key = ("metadata", ds.name, rule.rule_type == "Variable Metadata Check", sized)
    if key not in study.merged:
        if rule.rule_type == "Variable Metadata Check":
            cols = list(ds.frame.columns)
            frame = pd.DataFrame({
                "variable_name": cols,
                "variable_label": [ds.labels.get(c, "") for c in cols],
                "variable_data_type": [ds.types.get(c, "Char") for c in cols],
                "variable_size": [float(ds.lengths[c]) if c in ds.lengths else np.nan for c in cols],
                "variable_order_number": [float(i + 1) for i in range(len(cols))]})
        else:
            frame = pd.DataFrame({"dataset_name": [ds.name], "dataset_label": [ds.label]})
            if sized:                                                   # measured only when asked for
                frame["dataset_size"] = [ds.size]
        study.merged[key] = (frame, Columns(frame))
    frame, columns = study.merged[key]
    return View(ds, frame, np.arange(len(frame)), study, columns=columns)


def _base_view(ds: StudyDataset, study: StudyData) -> View:
    """The dataset's own records; its columns are shared by every rule run on it."""
    key = ("columns", ds.name)
    if key not in study.merged:
        study.merged[key] = Columns(ds.frame)
    return View(ds, ds.frame, np.arange(len(ds.frame)), study, columns=study.merged[key])


def _outputs(rule: OpenRule, view: View, i: int) -> tuple[tuple[str, str], ...]:
    out = []
    for name in rule.output_variables:
        try:
            v = view.column(name).iloc[i]
        except (Absent, IndexError, KeyError):
            continue
        out.append((view.resolve(name), "" if v is None or (isinstance(v, float) and np.isnan(v)) else
                    text_of(v) if not isinstance(v, (list, set, frozenset, tuple)) else ", ".join(map(str, v))))
    return tuple(out)


def _value_frame(ds: StudyDataset, c: str, column: np.ndarray) -> pd.DataFrame:
    m = len(column)
    return pd.DataFrame({"variable_name": _repeated(c, m), "variable_value": column,
                         "variable_data_type": _repeated(ds.types.get(c, "Char"), m),
                         "variable_label": _repeated(ds.labels.get(c, ""), m),
                         "dataset_name": _repeated(ds.name, m), "dataset_label": _repeated(ds.label, m)})


def _repeated(text: str, m: int) -> pd.Series:
    """`text` m times as the column a frame makes of np.repeat(text, m), without checking each copy."""
    one = pd.Series(np.repeat(text, 1))
    return pd.Series(one.array.take(np.zeros(m, dtype=np.intp)), dtype=one.dtype)


def _value_view(ds: StudyDataset, c: str, study: StudyData) -> tuple[np.ndarray, View]:
    """One row per distinct value of variable `c` (codes: each record's row), shared by the value-check
    rules run on the dataset, so each works out what it needs of a value once."""
    key = ("distinct values", ds.name, c)
    if key not in study.merged:
        shared = _base_view(ds, study).column(c)
        d = column_of(shared).distinct(shared)
        if d is None:
            codes, uniques = pd.factorize(ds.frame[c], use_na_sentinel=False)
        else:
            codes, uniques = d.codes, d.uniques
        column = np.asarray(uniques, dtype=object if ds.types.get(c) != "Num" else float)
        frame = _value_frame(ds, c, column)
        columns = Columns(frame)
        values = frame["variable_value"].to_numpy(dtype=object)       # one row per value already
        columns.know("variable_value", Distinct(np.arange(len(frame)), values, pd.isna(values).astype(bool)))
        study.merged[key] = (codes, View(ds, frame, np.arange(len(frame)), study, columns=columns))
    return study.merged[key]


def _value_checks(rule: OpenRule, ds: StudyDataset, study: StudyData) -> list[Hit]:
    """Value checks with metadata: the check sees one (record, variable) pair per row, evaluated one
    variable at a time (columns in, mask out), so no long table of every value is built."""
    n = len(ds.frame)
    base = _base_view(ds, study)
    values = base.values
    for op in rule.operations:
        result = OPERATIONS[op["operator"]](base, op)
        values[op["id"]] = list(result) if isinstance(result, pd.Series) else result
    per_value = not (set(_operators(rule.check)) & ACROSS_ROWS)
    flagged: dict[int, tuple] = {}
    for c in ds.frame.columns:
        if per_value:      # each distinct value once: the check reads nothing but the value and metadata
            codes, view = _value_view(ds, c, study)
            view = View(ds, view.frame, view.rows, study, values, columns=view.columns)
        else:
            codes, column = np.arange(n), ds.frame[c].to_numpy()
            view = View(ds, _value_frame(ds, c, column), np.arange(n), study, values)
        try:
            mask = evaluate(rule.check, view)
        except Absent:
            continue
        if not mask.any():
            continue
        for i in np.flatnonzero(mask[codes]):
            flagged.setdefault(int(i), _outputs(rule, view, int(codes[i])))
    if not flagged:
        return []
    if rule.sensitivity == "Dataset":
        return [Hit(rule.id, ds.name, None, next(iter(flagged.values())))]
    return [Hit(rule.id, ds.name, i + 1, out) for i, out in sorted(flagged.items())]


def run_rule_on(rule: OpenRule, ds: StudyDataset, study: StudyData) -> list[Hit]:
    """Hits of one rule on one dataset; raises Absent / RuleNotApplicable when it cannot be evaluated."""
    if rule.rule_type in VALUE_CHECKS:
        return _value_checks(rule, ds, study)
    if rule.rule_type in ("Dataset Metadata Check", "Variable Metadata Check"):
        view = _metadata_view(rule, ds, study)
    else:
        view = _base_view(ds, study)
        if rule.match_datasets:
            view = _merge(view, rule)
    for op in rule.operations:
        result = OPERATIONS[op["operator"]](view, op)
        if isinstance(result, pd.Series):
            view.frame = view.frame.assign(**{op["id"]: result.to_numpy()})
        else:
            view.values[op["id"]] = result
    mask = evaluate(rule.check, view)
    flagged = np.flatnonzero(mask)
    if not len(flagged):
        return []
    if rule.sensitivity == "Dataset":
        return [Hit(rule.id, ds.name, None, _outputs(rule, view, int(flagged[0])))]
    hits, seen = [], set()
    for i in flagged:
        rec = int(view.rows[i])
        if rec in seen:
            continue
        seen.add(rec)
        hits.append(Hit(rule.id, ds.name, rec + 1, _outputs(rule, view, int(i))))
    return hits


def run_rule(rule: OpenRule, study: StudyData) -> RuleRun:
    if rule.unsupported:
        return RuleRun(rule, "unsupported", rule.unsupported)
    if rule.rule_type == "Domain Presence Check":
        return _presence_run(rule, study)
    run = RuleRun(rule, "ran")
    for name in sorted(study.datasets):
        _run_on(run, study.datasets[name], study)
    return run


def _presence_run(rule: OpenRule, study: StudyData) -> RuleRun:
    ds = StudyDataset("STUDY", pd.DataFrame({"__": [0]}))
    try:
        mask = evaluate(rule.check, View(ds, ds.frame, np.array([-1]), study))
    except Absent as exc:
        return RuleRun(rule, "ran", skipped={"STUDY": f"{exc.name} not present"})
    run = RuleRun(rule, "ran", datasets=["STUDY"])
    if mask.any():
        run.hits.append(Hit(rule.id, "STUDY", None, ()))
    return run


def _run_on(run: RuleRun, ds: StudyDataset, study: StudyData) -> None:
    """One rule on one dataset in scope: its hits, or why it was skipped, or the engine error."""
    rule, name = run.rule, ds.name
    if not in_scope(rule, ds):
        return
    try:
        hits = run_rule_on(rule, ds, study)
    except Absent as exc:
        run.skipped[name] = f"variable {exc.name} not in the dataset"
        return
    except RuleNotApplicable as exc:
        run.skipped[name] = str(exc)
        return
    except Exception as exc:        # an engine defect must surface as a reported error, not a traceback
        run.errors[name] = f"{type(exc).__name__}: {exc}"
        return
    run.datasets.append(name)
    run.hits.extend(hits)


def run_rules(rules: list[OpenRule], study: StudyData) -> list[RuleRun]:
    """Every rule on the study, one dataset at a time: the work rules share on a dataset (its columns'
    distinct values, joins) is kept while its rules run and dropped when they are done. Same runs as
    run_rule one rule at a time."""
    runs = [RuleRun(r, "unsupported", r.unsupported) if r.unsupported else
            _presence_run(r, study) if r.rule_type == "Domain Presence Check" else RuleRun(r, "ran") for r in rules]
    per_dataset = [run for run in runs if run.status == "ran" and run.rule.rule_type != "Domain Presence Check"]
    for name in sorted(study.datasets):
        ds = study.datasets[name]
        for run in per_dataset:
            _run_on(run, ds, study)
        for key in [k for k in study.merged if k[1] == name or k[0] == name]:
            del study.merged[key]
    return runs


def message_of(rule: OpenRule, hit: Hit) -> str:
    values = ", ".join(f"{k}={v!r}" for k, v in hit.values)
    return f"{rule.message}" + (f" ({values})" if values else "")


def as_dict(hit: Hit) -> dict[str, Any]:
    return {"dataset": hit.dataset, "record": hit.record, "values": dict(hit.values)}
