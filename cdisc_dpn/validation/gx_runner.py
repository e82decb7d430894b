"""Runs generated suites with Great Expectations 1.x (one ephemeral context per process, made on first use).

Expectations that judge each value on its own (sets, patterns, lengths, types, nulls) run on the
distinct values of their columns, and the failing values are mapped back to every row that holds
them: the same findings (rows, counts, values) for a fraction of GX's per-value work.
"""
from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from cdisc_dpn.distinct import first_rows as sorted_first_rows, joint_codes, value_codes

UNIQUE = "expect_compound_columns_to_be_unique"
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
    positions: np.ndarray | None = None                    # the dataset row of each batch row (a row subset)

    def rows(self, expectation: Mapping[str, Any], unexpected: Sequence[int]) -> list[int]:
        if self.positions is not None:
            return self.positions[np.asarray([int(r) for r in unexpected], dtype=np.int64)].tolist()
        if self.codes is None:
            return [int(r) for r in unexpected]
        if isinstance(self.codes, dict):
            column = expectation["kwargs"]["column"]
            bad = np.asarray([int(i) for i in unexpected if int(i) < self.widths[column]], dtype=np.int64)
            codes = self.codes[column]
        else:
            bad, codes = np.asarray([int(i) for i in unexpected], dtype=np.int64), self.codes
        return np.flatnonzero(np.isin(codes, bad)).tolist()


def first_rows(codes: np.ndarray) -> np.ndarray:
    """Position of the first row of each code 0..k-1, in one pass when the codes are numbered in
    order of first appearance (as factorize numbers them): a code first appears exactly where the
    running maximum grows. Other numberings take the sorting way."""
    if len(codes) == 0:
        return np.zeros(0, dtype=np.int64)
    running = np.maximum.accumulate(codes)
    grows = np.empty(len(codes), dtype=bool)
    grows[0] = True
    np.greater(running[1:], running[:-1], out=grows[1:])
    first = np.flatnonzero(grows)
    if codes[0] == 0 and running[-1] == len(first) - 1:
        return first
    return sorted_first_rows(codes)


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


def _factorized(frame: pd.DataFrame, column: str, codes: Mapping[str, np.ndarray]) -> np.ndarray:
    """`pd.factorize` codes of a column, or its value_codes when they tell rows apart the same way:
    text columns that value_codes factorized (string dtype, or object strings it merged; not floats,
    which it tells apart by bits, nor objects it left unmerged)."""
    known = codes.get(column)
    if known is not None and len(known):
        dtype = frame[column].dtype
        if isinstance(dtype, pd.StringDtype) or (dtype == object and int(known.max()) < len(known) - 1):
            return known
    return pd.factorize(frame[column], use_na_sentinel=False)[0]


def _repeated_rows(frame: pd.DataFrame, column_lists: Sequence[Sequence[str]],
                   codes: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Rows whose values in one of the column lists also occur in another row, plus row 0.

    A uniqueness verdict on a row depends only on the rows holding the same values, and a row that
    is unique in the whole frame stays unique in any subset (whatever rows `ignore_row_if` then
    drops), so running GX on these rows flags exactly the rows it flags on the whole frame.
    Values are told apart as `DataFrame.duplicated` (GX's test) tells them: by `pd.factorize`."""
    keep = np.zeros(len(frame), dtype=bool)
    keep[0] = True
    for columns in column_lists:
        joint = joint_codes([_factorized(frame, c, codes or {}) for c in columns], len(frame))
        keep |= np.bincount(joint)[joint] > 1
    return np.flatnonzero(keep)


def _batches(expectations: list[dict], frame: pd.DataFrame,
             known: Mapping[str, np.ndarray] | None = None) -> list[_Batch]:
    """Group expectations by the frame they can run on: the padded distinct values (table-level and
    unconditional per-value ones), distinct combinations of a conditional one's columns, the rows
    whose keys repeat (uniqueness), or the needed columns of the whole frame (`mostly`).
    `known`: value_codes of some columns that the caller already has (the writer's), not made again."""
    if not frame.columns.is_unique or len(frame) == 0:
        return [_Batch(frame, expectations, None)]
    whole: list[dict] = []
    unique: list[dict] = []
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
        elif e["type"] == UNIQUE and "mostly" not in kwargs:
            unique.append(e)
        else:
            whole.append(e)
    codes: dict[str, np.ndarray] = {c: k for c, k in (known or {}).items() if c in frame.columns}

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
    if unique:
        needed = sorted(set().union(*(_columns_needed(e) for e in unique)))
        rows = _repeated_rows(frame, [list(e["kwargs"]["column_list"]) for e in unique], codes)
        subset = frame[[c for c in frame.columns if c in needed]].take(rows).reset_index(drop=True)
        batches.append(_Batch(subset, unique, None, positions=rows))
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


# --------------------------------------------------------------------------- plan
@dataclass
class Evaluation:
    """What GX said about one expectation of a batch (batch rows, not yet the dataset's)."""
    key: str
    success: bool
    result: dict
    exception: str | None = None


def plan(suite: Mapping[str, Any], frame: pd.DataFrame,
         codes: Mapping[str, np.ndarray] | None = None) -> tuple[list[_Batch], int]:
    """The batches GX runs for the expectations that apply to the frame's columns, and how many apply.
    Batch frames hold object strings; the frame is the dataset's (a RangeIndex: rows are positions).
    `codes`: `distinct.value_codes` of columns of this frame, when the caller has them already."""
    columns = set(frame.columns)
    runnable = [e for e in suite["expectations"]
                if e["type"] in TABLE_LEVEL or _columns_needed(e) <= columns]
    if not runnable:
        return [], 0
    batches = _batches(runnable, frame, codes)
    for batch in batches:
        batch.frame = object_strings(batch.frame)
    return batches, len(runnable)


def runtime_expectations(batch: _Batch) -> list[dict]:
    """The expectations of a batch as GX runs them (type, runtime kwargs, key)."""
    distinct: dict[str, set] = {}
    return [{"type": e["type"], "kwargs": _runtime_kwargs(e, batch.frame, distinct), "key": e["meta"]["key"]}
            for e in batch.expectations]


def failed_batch(expectations: Sequence[Mapping[str, Any]], error: str) -> list[Evaluation]:
    """Every expectation of a batch that could not run (the error goes to the VAL-GX-EXCEPTION finding)."""
    return [Evaluation(e["key"], False, {}, error) for e in expectations]


def assemble(batch: _Batch, evaluations: Sequence[Evaluation]) -> list[Outcome]:
    """Outcomes on the dataset's rows, in the batch's expectation order."""
    by_key = {e["meta"]["key"]: e for e in batch.expectations}
    outcomes = []
    for ev in evaluations:
        declared = by_key.get(ev.key)
        if declared is None:
            continue
        result = dict(ev.result)
        if ev.exception is None and result.get("unexpected_index_list") is not None:
            rows = batch.rows(declared, result["unexpected_index_list"])
            result["unexpected_index_list"] = rows
            result["unexpected_count"] = len(rows)
        outcomes.append(Outcome(declared["type"], declared["kwargs"], declared["meta"], ev.success, result,
                                ev.exception))
    return outcomes


def sorted_outcomes(outcomes: list[Outcome]) -> list[Outcome]:
    return sorted(outcomes, key=lambda o: o.meta["key"])


# --------------------------------------------------------------------------- GX
@contextmanager
def _configurations_cached() -> Iterator[None]:
    """GX rebuilds an expectation's configuration (a pydantic dict, a regex on the class name) every
    time its property is read: about 75 times per expectation in one validate call, a third of the
    suites' time. Inside this block each expectation object builds it once; the cache holds the
    objects (their ids stay unique) and is dropped at the end. Our runner reads the configurations
    only; GX itself copies before it changes one (validator: deepcopy, then kwargs.update)."""
    from great_expectations.expectations.expectation import Expectation

    original = Expectation.__dict__["configuration"]
    cache: dict[int, tuple[Any, Any]] = {}

    def configuration(self):
        hit = cache.get(id(self))
        if hit is not None and hit[0] is self:
            return hit[1]
        made = original.fget(self)
        cache[id(self)] = (self, made)
        return made

    Expectation.configuration = property(configuration, doc=original.__doc__)
    try:
        yield
    finally:
        Expectation.configuration = original
        cache.clear()


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
        batches, ran = plan(suite, frame)
        outcomes = []
        for batch in batches:
            outcomes.extend(assemble(batch, self.evaluate(suite["name"], batch.frame, runtime_expectations(batch))))
        return sorted_outcomes(outcomes), ran

    def evaluate(self, name: str, frame: pd.DataFrame, expectations: Sequence[Mapping[str, Any]]) -> list[Evaluation]:
        """GX's verdicts on one batch frame. An error that stops the whole batch (GX catches most per
        expectation) makes every expectation of the batch an exception, never a crash of the run."""
        try:
            with _configurations_cached():
                return self._validate(name, frame, expectations)
        except Exception as exc:          # noqa: BLE001 - the library's failure becomes a finding
            return failed_batch(expectations, f"{type(exc).__name__}: {exc}")

    def _validate(self, name: str, frame: pd.DataFrame, expectations: Sequence[Mapping[str, Any]]) -> list[Evaluation]:
        from great_expectations.core import ExpectationSuite
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        gx_suite = ExpectationSuite(name=name, expectations=[
            ExpectationConfiguration(type=e["type"], kwargs=dict(e["kwargs"]), meta={"key": e["key"]}).to_domain_obj()
            for e in expectations])
        gx_batch = self.batch_definition.get_batch(batch_parameters={"dataframe": frame})
        # Pass 1 decides success only (cheap); pass 2 collects the failing rows of the failures.
        first = gx_batch.validate(gx_suite, result_format="BOOLEAN_ONLY")
        failed = {(r.expectation_config.meta or {}).get("key") for r in first.results if not r.success}
        results = {(r.expectation_config.meta or {}).get("key"): r for r in first.results}
        if failed:
            retry = ExpectationSuite(name=name, expectations=[
                e for e in gx_suite.expectations if (e.meta or {}).get("key") in failed])
            for r in gx_batch.validate(retry, result_format="COMPLETE").results:
                results[(r.expectation_config.meta or {}).get("key")] = r
        evaluations = []
        for key, r in results.items():
            info = r.exception_info or {}
            raised = info.get("raised_exception") if isinstance(info, dict) else False
            evaluations.append(Evaluation(key, bool(r.success), _plain(dict(r.result or {})),
                                          str(info.get("exception_message")) if raised else None))
        return evaluations


def _plain(result: dict) -> dict:
    """The parts of a GX result the findings use, as plain values (they cross a process boundary)."""
    out = {}
    for k in ("observed_value", "unexpected_index_list", "unexpected_count"):
        if k in result:
            v = result[k]
            out[k] = [int(i) for i in v] if k == "unexpected_index_list" and v is not None else v
    return out


@functools.lru_cache(maxsize=1)
def shared_runner() -> GxRunner:
    """The process's GX context, made on first use (making one costs seconds; it holds no run state)."""
    return GxRunner()
