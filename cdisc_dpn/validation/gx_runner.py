"""Runs generated suites with Great Expectations 1.x (one ephemeral context per validation run)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping

import pandas as pd

TABLE_LEVEL = frozenset({"expect_table_columns_to_match_ordered_list", "expect_column_to_exist"})


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
        from great_expectations.core import ExpectationSuite
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        columns = set(frame.columns)
        runnable = [e for e in suite["expectations"]
                    if e["type"] in TABLE_LEVEL or _columns_needed(e) <= columns]
        if not runnable:
            return [], 0
        by_key = {e["meta"]["key"]: e for e in runnable}
        distinct: dict[str, set] = {}
        gx_suite = ExpectationSuite(name=suite["name"], expectations=[
            ExpectationConfiguration(type=e["type"], kwargs=_runtime_kwargs(e, frame, distinct),
                                     meta={"key": e["meta"]["key"]}).to_domain_obj()
            for e in runnable])
        batch = self.batch_definition.get_batch(batch_parameters={"dataframe": frame})
        # Pass 1 decides success only (cheap); pass 2 collects the failing rows of the failures.
        first = batch.validate(gx_suite, result_format="BOOLEAN_ONLY")
        failed = {(r.expectation_config.meta or {}).get("key") for r in first.results if not r.success}
        results = {(r.expectation_config.meta or {}).get("key"): r for r in first.results}
        if failed:
            retry = ExpectationSuite(name=suite["name"], expectations=[
                e for e in gx_suite.expectations if (e.meta or {}).get("key") in failed])
            for r in batch.validate(retry, result_format="COMPLETE").results:
                results[(r.expectation_config.meta or {}).get("key")] = r
        outcomes = []
        for key, r in results.items():
            declared = by_key.get(key)
            if declared is None:
                continue
            info = r.exception_info or {}
            raised = info.get("raised_exception") if isinstance(info, dict) else False
            outcomes.append(Outcome(declared["type"], declared["kwargs"], declared["meta"], bool(r.success),
                                    dict(r.result or {}), str(info.get("exception_message")) if raised else None))
        outcomes.sort(key=lambda o: o.meta["key"])
        return outcomes, len(runnable)
