"""Runs generated suites with Great Expectations 1.x (one ephemeral context per process, made on first use).

Expectations that judge each value on its own (sets, patterns, lengths, types, nulls) run on the
distinct values of their columns, and the failing values are mapped back to every row that holds
them: the same findings (rows, counts, values) for a fraction of GX's per-value work.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from cdisc_dpn.distinct import first_rows, joint_codes, value_codes

TABLE_LEVEL = frozenset({"expect_table_columns_to_match_ordered_list", "expect_column_to_exist"})
#: column map expectations whose verdict on a row depends only on that row's values
PER_VALUE = frozenset({
    "expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex",
    "expect_column_value_lengths_to_be_between", "expect_column_values_to_be_in_type_list",
    "expect_column_values_to_not_be_null", "expect_column_values_to_be_null",
})


@dataclass
class Outcome:
    type: str
    kwargs: Mapping[str, Any]
    meta: Mapping[str, Any]
    success: bool
    result: Mapping[str, Any]
    exception: str | None = None


def _columns_needed(expectation: Mapping[str, Any]) -> set[str]:
    kwargs = expectation.get("kwargs", {})
    needed = set(expectation.get("meta", {}).get("condition_columns", ()))
    if "column" in kwargs:
        needed.add(kwargs["column"])
    if expectation["type"] == "expect_compound_columns_to_be_unique":
        needed.update(kwargs.get("column_list", ()))
    return needed


def _runtime_kwargs(expectation: Mapping[str, Any], frame: pd.DataFrame, distinct: dict[str, set]) -> dict:
    """The kwargs GX runs with. A value_set (a whole codelist, often thousands of terms) is narrowed
    to the terms that occur in the column: the same values pass and fail, and GX, which copies its
    kwargs many times per expectation, runs an order of magnitude faster."""
    kwargs = dict(expectation["kwargs"])
    if expectation["type"] == "expect_column_values_to_be_in_set" and len(kwargs["value_set"]) > 16:
        column = kwargs["column"]
        if column not in distinct:
            distinct[column] = set(frame[column].dropna().unique().tolist())
        kept = [v for v in kwargs["value_set"] if v in distinct[column]]
        kwargs["value_set"] = kept or kwargs["value_set"][:1]
    return kwargs


# --------------------------------------------------------------------------- distinct values
@dataclass
class _Batch:
    """A frame GX runs on, with the expectations it runs there and how its rows map to the dataset's."""
    frame: pd.DataFrame
    expectations: list[dict]
    codes: dict[str, np.ndarray] | np.ndarray | None      # per column (padded frame), joint, or None (rows as is)
    widths: dict[str, int] | None = None                   # distinct values per column (padded frame)

    def rows(self, expectation: Mapping[str, Any], unexpected: Sequence[int]) -> list[int]:
        if self.codes is None:
            return [int(r) for r in unexpected]
        if isinstance(self.codes, dict):
            column = expectation["kwargs"]["column"]
            bad = np.asarray([int(i) for i in unexpected if int(i) < self.widths[column]], dtype=np.int64)
            codes = self.codes[column]
        else:
            bad, codes = np.asarray([int(i) for i in unexpected], dtype=np.int64), self.codes
        return np.flatnonzero(np.isin(codes, bad)).tolist()


def _padded_distinct(frame: pd.DataFrame, codes: dict[str, np.ndarray]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every column's distinct values, in order of first appearance, padded to one length by
    repeating its first value (a value the column holds, so no verdict changes); same dtypes."""
    firsts = {c: first_rows(codes[c]) for c in frame.columns}
    widths = {c: len(f) for c, f in firsts.items()}
    length = max(widths.values(), default=0)
    columns = {}
    for c, first in firsts.items():
        rows = np.concatenate([first, np.full(length - len(first), first[0] if len(first) else 0, dtype=np.int64)])
        columns[c] = frame[c].take(rows).reset_index(drop=True)
    return pd.DataFrame(columns, columns=frame.columns), widths


def _batches(expectations: list[dict], frame: pd.DataFrame) -> list[_Batch]:
    """Group expectations by the frame they can run on: the padded distinct values (table-level and
    unconditional per-value ones), distinct combinations of a conditional one's columns, or the
    needed columns of the whole frame (row-count dependent ones: uniqueness, `mostly`)."""
    if not frame.columns.is_unique or len(frame) == 0:
        return [_Batch(frame, expectations, None)]
    whole: list[dict] = []
    padded: list[dict] = []
    conditional: dict[tuple[str, ...], list[dict]] = {}
    for e in expectations:
        kwargs = e["kwargs"]
        if e["type"] in TABLE_LEVEL:
            padded.append(e)
        elif e["type"] in PER_VALUE and "mostly" not in kwargs:
            if "row_condition" in kwargs:
                conditional.setdefault(tuple(sorted(_columns_needed(e))), []).append(e)
            else:
                padded.append(e)
        else:
            whole.append(e)
    codes: dict[str, np.ndarray] = {}

    def code(c: str) -> np.ndarray:
        if c not in codes:
            codes[c] = value_codes(frame[c])
        return codes[c]

    batches = []
    if padded:
        for c in frame.columns:
            code(c)
        distinct, widths = _padded_distinct(frame, codes)
        batches.append(_Batch(distinct, padded, codes, widths))
    for columns, group in sorted(conditional.items()):
        for c in columns:
            code(c)
        joint = joint_codes([codes[c] for c in columns], len(frame))
        batches.append(_Batch(frame[list(columns)].take(first_rows(joint)).reset_index(drop=True), group, joint))
    if whole:
        needed = sorted(set().union(*(_columns_needed(e) for e in whole)))
        batches.append(_Batch(frame[[c for c in frame.columns if c in needed]], whole, None))
    return batches


def object_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """pandas string-dtype columns as object columns of str (GX checks value types on object columns)."""
    text_cols = [c for c in frame.columns if isinstance(frame[c].dtype, pd.StringDtype)]
    if not text_cols:
        return frame
    frame = frame.copy()
    for c in text_cols:
        frame[c] = frame[c].astype(object)
    return frame


# --------------------------------------------------------------------------- GX
class GxRunner:
    """An ephemeral GX context with one pandas data source, dataframe asset and batch definition."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig, InMemoryStoreBackendDefaults, ProgressBarsConfig)

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(), analytics_enabled=False,
                                   progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False))
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        source = self.context.data_sources.add_pandas("cdisc_dpn")
        self.batch_definition = source.add_dataframe_asset("sdtm").add_batch_definition_whole_dataframe("whole")

    def run(self, suite: Mapping[str, Any], frame: pd.DataFrame) -> tuple[list[Outcome], int]:
        """Outcomes of the expectations that apply to the frame's columns, and how many ran."""
        columns = set(frame.columns)
        runnable = [e for e in suite["expectations"]
                    if e["type"] in TABLE_LEVEL or _columns_needed(e) <= columns]
        if not runnable:
            return [], 0
        outcomes = []
        for batch in _batches(runnable, frame):
            batch.frame = object_strings(batch.frame)
            outcomes.extend(self._validate(suite["name"], batch))
        outcomes.sort(key=lambda o: o.meta["key"])
        return outcomes, len(runnable)

    def _validate(self, name: str, batch: _Batch) -> list[Outcome]:
        from great_expectations.core import ExpectationSuite
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        by_key = {e["meta"]["key"]: e for e in batch.expectations}
        distinct: dict[str, set] = {}
        gx_suite = ExpectationSuite(name=name, expectations=[
            ExpectationConfiguration(type=e["type"], kwargs=_runtime_kwargs(e, batch.frame, distinct),
                                     meta={"key": e["meta"]["key"]}).to_domain_obj()
            for e in batch.expectations])
        gx_batch = self.batch_definition.get_batch(batch_parameters={"dataframe": batch.frame})
        # Pass 1 decides success only (cheap); pass 2 collects the failing rows of the failures.
        first = gx_batch.validate(gx_suite, result_format="BOOLEAN_ONLY")
        failed = {(r.expectation_config.meta or {}).get("key") for r in first.results if not r.success}
        results = {(r.expectation_config.meta or {}).get("key"): r for r in first.results}
        if failed:
            retry = ExpectationSuite(name=name, expectations=[
                e for e in gx_suite.expectations if (e.meta or {}).get("key") in failed])
            for r in gx_batch.validate(retry, result_format="COMPLETE").results:
                results[(r.expectation_config.meta or {}).get("key")] = r
        outcomes = []
        for key, r in results.items():
            declared = by_key.get(key)
            if declared is None:
                continue
            info = r.exception_info or {}
            raised = info.get("raised_exception") if isinstance(info, dict) else False
            result = dict(r.result or {})
            if result.get("unexpected_index_list") is not None:
                rows = batch.rows(declared, result["unexpected_index_list"])
                result["unexpected_index_list"] = rows
                result["unexpected_count"] = len(rows)
            outcomes.append(Outcome(declared["type"], declared["kwargs"], declared["meta"], bool(r.success),
                                    result, str(info.get("exception_message")) if raised else None))
        return outcomes


@functools.lru_cache(maxsize=1)
def shared_runner() -> GxRunner:
    """The process's GX context, made on first use (making one costs seconds; it holds no run state)."""
    return GxRunner()
