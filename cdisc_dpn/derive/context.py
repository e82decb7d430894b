"""What an algorithm may see while a dataset is mapped: source rows, SDTM so far, other datasets."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cdisc_dpn.distinct import on_distinct
from cdisc_dpn.errors import Finding, Severity
from cdisc_dpn.frames import DomainFrame
from cdisc_dpn.raw.table import SOURCE_FILE, SOURCE_ROW, RawTable
from cdisc_dpn.spec.model import AlgorithmCall, DatasetSpec, Specs
from cdisc_dpn.terminology import Terminology


def suggest_columns(missing: str, available) -> str:
    """ " (did you mean 'X'?)" for a near or differently-cased column name, else ""."""
    import difflib

    names = [str(c) for c in available if not str(c).startswith("__")]
    same_case = [c for c in names if c.upper() == missing.upper()]
    close = same_case or difflib.get_close_matches(missing, names, n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def _stripped_text(values: pd.Series) -> pd.Series:
    return values.astype(str).str.strip().where(values.notna(), "")


class MappingProblem(Exception):
    """A spec/data mismatch that stops this variable (e.g. a named column does not exist)."""

    def __init__(self, message: str, fix: str | None = None):
        super().__init__(message)
        self.fix = fix


class InputUnavailable(MappingProblem):
    """An input dataset could not be built; the variable or dataset reading it follows from that cause."""

    def __init__(self, dataset: str, cause: str):
        super().__init__(f"its input dataset {dataset} could not be built")
        self.dataset = dataset
        self.cause = cause


@dataclass
class RunSettings:
    """Run-level facts algorithms may need; never the wall clock."""

    data_cutoff: str = ""          # ISO date; dates after it are "in the future"
    seed: int | None = None


@dataclass
class MappingContext:
    specs: Specs
    terminology: Terminology
    dataset: DatasetSpec
    raw: dict[str, RawTable]
    domains: dict[str, DomainFrame]           # finished datasets (phase B dependencies)
    rows: dict[str, pd.DataFrame]             # every dataset's phase-A frame (row-level variables)
    src: pd.DataFrame                         # this dataset's working frame
    out: pd.DataFrame                         # this dataset's SDTM variables so far (aligned with src)
    settings: RunSettings = field(default_factory=RunSettings)
    findings: list[Finding] = field(default_factory=list)
    call: AlgorithmCall | None = None
    variable_name: str = ""
    unavailable: dict[str, str] = field(default_factory=dict)   # dataset not built -> its root cause key
    stripped: dict[str, tuple[pd.DataFrame, pd.Series]] = field(default_factory=dict, repr=False)
    memo: dict[tuple, tuple[pd.DataFrame, Any]] = field(default_factory=dict, repr=False)   # per context
    source_columns: list[str] | None = None   # src's columns before unread ones were left out (for messages)

    # ---------------------------------------------------------------- inputs
    def column(self, name: str) -> pd.Series:
        """A raw column of the working frame, stripped of surrounding blanks."""
        if name not in self.src.columns:
            src = self.dataset.source
            forms = ([src.form] if src.form else [m.form for m in src.stack]) + [j.form for j in src.joins]
            columns = self.source_columns if self.source_columns is not None else list(self.src.columns)
            names = [c for c in columns if not c.startswith("__") and not c.endswith(
                ("__source_file", "__source_row"))]
            known = ", ".join(names[:12]) + (f", ... ({len(names)} columns)" if len(names) > 12 else "")
            raise MappingProblem(
                f"raw column {name!r} is in none of the forms this dataset reads "
                f"({', '.join(repr(f) for f in forms) or 'none'}){suggest_columns(name, columns)}, "
                f"so {self.variable_name or 'the variable'} cannot be derived (columns there: {known})",
                fix="correct the column name in the spec (raw names are case-sensitive; a joined form's column is "
                    "written <form>.<COLUMN>) or re-export the form with that column")
        cached = self.stripped.get(name)
        if cached is None or cached[0] is not self.src:      # stripped once per working frame and column
            cached = (self.src, on_distinct(self.src[name], _stripped_text))
            self.stripped[name] = cached
        return cached[1].copy()

    def variable(self, name: str) -> pd.Series:
        if name not in self.out.columns:
            raise MappingProblem(f"variable {name!r} is not computed yet; list it before {self.variable_name} "
                                 f"or use a dataset-phase algorithm")
        return self.out[name]

    def value(self, params: dict[str, Any]) -> pd.Series:
        """The input series named by params: `column` (raw) or `variable` (SDTM so far)."""
        if "column" in params:
            return self.column(str(params["column"]))
        if "variable" in params:
            return self.variable(str(params["variable"]))
        raise MappingProblem("give `column:` (raw) or `variable:` (SDTM) as input")

    def dataset_frame(self, name: str) -> pd.DataFrame:
        if name in self.unavailable:
            raise InputUnavailable(name, self.unavailable[name])
        if name in self.domains:
            return self.domains[name].frame
        if name in self.rows:
            return self.rows[name]
        raise MappingProblem(f"dataset {name!r} is not available (not in the study's datasets, or not built yet)")

    def blank(self, value: Any = "") -> pd.Series:
        return pd.Series([value] * len(self.src), index=self.src.index, dtype=object)

    # ---------------------------------------------------------------- findings
    def report(self, code: str, severity: Severity, message: str, mask: pd.Series | None = None,
               values: pd.Series | None = None, fix: str | None = None, column: str | None = None,
               limit: int | None = None) -> None:
        """One finding per affected row (all of them unless `limit`), with the value, raw file/row and spec line."""
        where = self.call.where if self.call else self.dataset.where
        rows = self.src.index if mask is None else self.src.index[mask.reindex(self.src.index, fill_value=False)]
        usubjid = self.out["USUBJID"] if "USUBJID" in self.out.columns else None
        for n, idx in enumerate(rows):
            if limit is not None and n >= limit:
                self.findings.append(Finding(code, severity, f"{message} (and {len(rows) - limit} more rows)",
                                             stage="map", dataset=self.dataset.name, variable=self.variable_name,
                                             spec_file=where.file, spec_line=where.line, fix=fix))
                break
            self.findings.append(Finding(
                code, severity, message, stage="map", dataset=self.dataset.name, variable=self.variable_name,
                usubjid=None if usubjid is None else str(usubjid.get(idx, "")) or None,
                value=None if values is None else str(values.get(idx, "")),
                file=str(self.src.at[idx, SOURCE_FILE]) if SOURCE_FILE in self.src.columns else None,
                source_row=int(self.src.at[idx, SOURCE_ROW]) if SOURCE_ROW in self.src.columns
                and pd.notna(self.src.at[idx, SOURCE_ROW]) and self.src.at[idx, SOURCE_ROW] != "" else None,
                column=column, spec_line=where.line, spec_file=where.file, fix=fix))
