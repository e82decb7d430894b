"""Combine the raw forms a dataset spec names into one working frame (form, stack, join, filter, unpivot).

Column naming in the working frame: the primary form's (or stack aliases') columns bare,
joined forms' columns as "<form>.<COLUMN>", unpivot aliases bare. Rows removed by a filter or
an unpivot are returned as ledger exclusions with the spec's reason.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdisc_dpn.errors import Finding, Severity
from cdisc_dpn.raw.table import SOURCE_FILE, SOURCE_ROW, RawTable
from cdisc_dpn.derive.context import suggest_columns
from cdisc_dpn.spec.model import DatasetSpec, FilterSpec, JoinSpec, SourceSpec, UnpivotSpec


@dataclass(frozen=True)
class Exclusion:
    """Raw rows a dataset's source deliberately leaves out, and why."""

    form: str
    rows: tuple[int, ...]
    reason: str
    dataset: str


@dataclass(frozen=True)
class JoinUse:
    """Raw rows of a joined form that contributed to a dataset."""

    form: str
    rows: tuple[int, ...]
    dataset: str


class SourceProblem(Exception):
    def __init__(self, finding: Finding):
        super().__init__(finding.message)
        self.finding = finding


def _problem(ds: DatasetSpec, message: str, where, fix: str) -> SourceProblem:
    return SourceProblem(Finding("MAP-SOURCE", Severity.ERROR, message, stage="map", dataset=ds.name,
                                 file=getattr(where, "file", None), spec_line=getattr(where, "line", None), fix=fix))


def _get_table(ds: DatasetSpec, raw: dict[str, RawTable], form: str, where) -> RawTable:
    table = raw.get(form)
    if table is None:
        raise _problem(ds, f"form {form!r} was not read, so {ds.name} cannot be built", where,
                       "declare the form under forms: in study.yaml (or correct the form name)")
    return table


def _need_columns(ds: DatasetSpec, frame: pd.DataFrame, columns, form: str, where, purpose: str = "") -> None:
    """`form` says whose columns these are; `purpose` what the spec wanted them for."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        hints = "".join(suggest_columns(c, frame.columns) for c in missing)
        names = ", ".join(repr(c) for c in missing)
        raise _problem(ds, f"{purpose + ': ' if purpose else ''}{form} has no column {names}{hints}; "
                       f"{ds.name} cannot be built", where,
                       "correct the column name in the spec (raw names are case-sensitive) or re-export the "
                       "form with that column")


def _mask(frame: pd.DataFrame, f: FilterSpec) -> pd.Series:
    col = frame[f.column].astype(str).str.strip()
    values = {v.strip().upper() for v in f.values}
    upper = col.str.upper()
    if f.op == "not_empty":
        return col != ""
    if f.op == "empty":
        return col == ""
    if f.op in ("equals", "in"):
        return upper.isin(values)
    if f.op in ("not_equals", "not_in"):
        return ~upper.isin(values)
    raise ValueError(f.op)


def _apply_filters(ds: DatasetSpec, frame: pd.DataFrame, filters, form_of_row: str,
                   exclusions: list[Exclusion]) -> pd.DataFrame:
    for f in filters:
        _need_columns(ds, frame, [f.column], f"form {form_of_row!r}", f.where,
                      f"filter on {f.column}")
        keep = _mask(frame, f)
        dropped = frame.loc[~keep]
        if len(dropped):
            for form, rows in dropped.groupby("__form", sort=True, dropna=False)[SOURCE_ROW]:
                exclusions.append(Exclusion(str(form), tuple(int(r) for r in rows),
                                            f.reason or f"filtered out by {f.column} {f.op} {list(f.values)}", ds.name))
        frame = frame.loc[keep]
    return frame


def _primary(ds: DatasetSpec, src: SourceSpec, raw: dict[str, RawTable], exclusions: list[Exclusion]) -> pd.DataFrame:
    if src.stack:
        parts = []
        for member in src.stack:
            table = _get_table(ds, raw, member.form, member.where)
            frame = table.frame
            _need_columns(ds, frame, member.columns.values(), f"form {member.form!r}", member.where,
                          "stacked columns")
            part = pd.DataFrame({alias: frame[col].values for alias, col in member.columns.items()}, index=frame.index)
            for alias, value in member.constants.items():
                part[alias] = value
            part[SOURCE_FILE] = frame[SOURCE_FILE].values
            part[SOURCE_ROW] = frame[SOURCE_ROW].values
            part["__form"] = member.form
            # Member filters (and variables) may also name the member's own raw columns.
            for col in frame.columns:
                if col not in part.columns:
                    part[col] = frame[col].values
            part = _apply_filters(ds, part, member.filters, member.form, exclusions)
            parts.append(part)
        frame = pd.concat(parts, ignore_index=True, sort=False).fillna("")
        return frame
    if not src.form:
        raise _problem(ds, "source has neither form nor stack nor generate", src.where, "add `form: <form name>`")
    table = _get_table(ds, raw, src.form, src.where)
    frame = table.frame.copy(deep=False)      # copy-on-write: the raw table's columns are shared, never changed
    frame["__form"] = src.form
    return frame


def _join(ds: DatasetSpec, frame: pd.DataFrame, j: JoinSpec, raw: dict[str, RawTable],
          uses: list[JoinUse]) -> pd.DataFrame:
    table = _get_table(ds, raw, j.form, j.where)
    right = table.frame
    purpose = f"join with form {j.form!r} on {', '.join(j.on.keys())}"
    _need_columns(ds, frame, j.on.keys(), _left_side(ds.source, j), j.where, purpose)
    _need_columns(ds, right, j.on.values(), f"form {j.form!r}", j.where, purpose)
    right = right.rename(columns={c: f"{j.form}.{c}" for c in right.columns})
    right_keys = [f"{j.form}.{c}" for c in j.on.values()]
    for k in right_keys:
        right[k] = right[k].where(right[k].notna(), "").astype(str).str.strip()
    # An empty key matches nothing (SQL null semantics): pandas would pair "" with "" and NaN with NaN.
    right = right[(right[right_keys] != "").all(axis=1)]
    if j.first:
        right = right.drop_duplicates(subset=right_keys, keep="first")
    left = frame.copy()
    left_keys = []
    for i, k in enumerate(j.on.keys()):
        key = f"__joinkey{i}"
        left[key] = left[k].where(left[k].notna(), "").astype(str).str.strip()
        left_keys.append(key)
    merged = left.merge(right, how=j.how, left_on=left_keys, right_on=right_keys, sort=False)
    merged = merged.drop(columns=left_keys)
    used = merged[f"{j.form}.{SOURCE_ROW}"].dropna()
    uses.append(JoinUse(j.form, tuple(sorted(int(r) for r in used.unique())), ds.name))
    obj_cols = [c for c in merged.columns if c.startswith(f"{j.form}.") and c != f"{j.form}.{SOURCE_ROW}"]
    merged[obj_cols] = merged[obj_cols].fillna("")
    return merged


def _left_side(src: SourceSpec, join: JoinSpec | None = None) -> str:
    """Whose columns are looked up: the primary form and the joins before `join` (all joins if None)."""
    first = f"form {src.form!r}" if src.form else "the stacked forms"
    joins = list(src.joins)
    before = [j.form for j in (joins[: joins.index(join)] if join in joins else joins)]
    return first + (f" (with {', '.join(repr(b) for b in before)} joined before)" if before else "")


def _unpivot(ds: DatasetSpec, frame: pd.DataFrame, u: UnpivotSpec, exclusions: list[Exclusion],
             needed: set[str] | None = None) -> pd.DataFrame:
    """One row per (raw row, item), in that order: the wide frame is repeated once by position
    (not copied per item) and each alias filled from its item's column or constant. With `needed`,
    only those wide columns (and provenance) are repeated: the others are read by nothing."""
    for item in u.items:
        _need_columns(ds, frame, item.columns.values(), _left_side(ds.source), u.where, "unpivot item")
    rows, items = len(frame), len(u.items)
    aliases = list(dict.fromkeys(a for item in u.items for a in (*item.columns, *item.constants)))
    wide = frame if needed is None else frame[[c for c in frame.columns if c in needed or "__" in c]]
    long = wide.take(np.repeat(np.arange(rows), items)).reset_index(drop=True)
    for a in aliases:
        long[a] = _unpivot_alias(frame, u.items, a, rows)
    if u.keep_if_any:
        present = [a for a in u.keep_if_any if a in long.columns]
        keep = long[present].astype(str).apply(lambda s: s.str.strip() != "").any(axis=1)
        # A raw row is excluded only when none of its items survive.
        survived = set(long.loc[keep, SOURCE_ROW].astype(int)) if keep.any() else set()
        dropped_rows = long.loc[~keep]
        for form, rows in dropped_rows.groupby("__form", sort=True, dropna=False)[SOURCE_ROW]:
            lost = tuple(sorted({int(r) for r in rows} - survived))
            if lost:
                exclusions.append(Exclusion(str(form), lost, u.reason, ds.name))
        long = long.loc[keep]
    return long


def _unpivot_alias(frame: pd.DataFrame, items, alias: str, rows: int) -> np.ndarray:
    """An alias's values, item by item within each raw row ("" where an item does not set it)."""
    values = np.empty((rows, len(items)), dtype=object)
    for order, item in enumerate(items):
        if alias in item.columns:
            column = frame[item.columns[alias]]
            values[:, order] = column.where(column.notna(), "").to_numpy(dtype=object)
        elif alias in item.constants:
            values[:, order] = item.constants[alias]
        elif alias in frame.columns:         # an item that does not set it keeps the raw column of that name
            column = frame[alias]
            values[:, order] = column.where(column.notna(), "").to_numpy(dtype=object)
        else:
            values[:, order] = ""
    return values.ravel()


def build_source_frame(ds: DatasetSpec, raw: dict[str, RawTable]) -> tuple[pd.DataFrame, list[Exclusion], list[JoinUse]]:
    """The rows a dataset is mapped from, in a deterministic order, with provenance columns."""
    frame, exclusions, uses, _columns = build_working_frame(ds, raw)
    return frame, exclusions, uses


def build_working_frame(ds: DatasetSpec, raw: dict[str, RawTable], needed: set[str] | None = None
                        ) -> tuple[pd.DataFrame, list[Exclusion], list[JoinUse], list[str]]:
    """`build_source_frame`, where an unpivot repeats only the `needed` raw columns; also returns
    every column the rows have before that (what messages about a missing column list)."""
    exclusions: list[Exclusion] = []
    uses: list[JoinUse] = []
    src = ds.source
    frame = _primary(ds, src, raw, exclusions)
    for j in src.joins:
        frame = _join(ds, frame, j, raw, uses)
    frame = _apply_filters(ds, frame, src.filters, src.form or "stack", exclusions)
    if src.unpivot:
        added = [a for item in src.unpivot.items for a in (*item.columns, *item.constants) if a not in frame.columns]
        columns = list(frame.columns) + list(dict.fromkeys(added))
        frame = _unpivot(ds, frame, src.unpivot, exclusions, needed)
    else:
        columns = list(frame.columns)
    return frame.reset_index(drop=True), exclusions, uses, columns
