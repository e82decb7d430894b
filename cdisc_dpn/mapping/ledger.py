"""The record ledger: every raw row read is in an SDTM dataset or excluded with a reason.

A row counts as mapped when an SDTM record carries its provenance (primary or stacked form)
or when a joined form's row contributed to a dataset. Rows a filter or unpivot removed carry
the spec's reason; forms declared with `exclude_reason` are excluded whole. Anything else is
unaccounted for, and the run fails on it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdisc_dpn.errors import Finding, Severity
from cdisc_dpn.mapping.engine import MappingResult
from cdisc_dpn.raw.table import SOURCE_FILE, SOURCE_ROW, RawTable
from cdisc_dpn.spec.model import Specs

MAPPED = "mapped"
EXCLUDED = "excluded"
UNACCOUNTED = "unaccounted"


@dataclass
class Ledger:
    rows: pd.DataFrame          # form, file, row, status, datasets, reason

    def summary(self) -> list[dict]:
        out = []
        for form, group in self.rows.groupby("form", sort=True, dropna=False):
            counts = group["status"].value_counts()
            out.append({"form": form, "file": str(group["file"].iloc[0]), "rows": int(len(group)),
                        MAPPED: int(counts.get(MAPPED, 0)), EXCLUDED: int(counts.get(EXCLUDED, 0)),
                        UNACCOUNTED: int(counts.get(UNACCOUNTED, 0))})
        return out

    def by_form(self) -> list[dict]:
        """Per form: rows, mapped (and into which datasets), excluded and unaccounted with their reasons."""
        out = self.summary()
        for entry in out:
            group = self.rows[self.rows["form"] == entry["form"]]
            cells = group.loc[group["status"] == MAPPED, "datasets"].unique()       # each distinct list once
            datasets = sorted({d for cell in cells for d in cell.split(",") if d})
            reasons = group[group["status"] != MAPPED].groupby(["status", "reason"], sort=True).size()
            entry["datasets"] = datasets
            entry["reasons"] = [{"status": status, "reason": reason, "rows": int(n)}
                                for (status, reason), n in reasons.items()]
        return out


COLUMNS = ["form", "file", "row", "status", "datasets", "reason"]


def _mapped_rows(raw: dict[str, RawTable], result: MappingResult) -> dict[str, dict[str, np.ndarray]]:
    """form -> dataset -> raw rows (unique) that reached the dataset, from provenance and joins."""
    by_file = {t.path.name: name for name, t in raw.items()}
    parts: dict[str, dict[str, list[np.ndarray]]] = {}
    for name, dom in result.domains.items():
        prov = dom.provenance
        if prov.empty:
            continue
        forms = prov[SOURCE_FILE].astype(str).map(by_file).to_numpy()
        rows = prov[SOURCE_ROW].astype(int).to_numpy()
        keep = (rows > 0) & pd.notna(forms)
        for form in pd.unique(forms[keep]):
            parts.setdefault(form, {}).setdefault(name, []).append(rows[keep & (forms == form)])
    for use in result.join_uses:
        parts.setdefault(use.form, {}).setdefault(use.dataset, []).append(np.asarray(use.rows, dtype=np.int64))
    return {form: {ds: np.unique(np.concatenate(chunks)) for ds, chunks in by_ds.items()}
            for form, by_ds in parts.items()}


def _excluded_reasons(result: MappingResult) -> dict[str, pd.Series]:
    """form -> reason by raw row (the first exclusion of a row wins)."""
    parts: dict[str, list[pd.Series]] = {}
    for ex in result.exclusions:
        rows = np.asarray(ex.rows, dtype=np.int64)
        parts.setdefault(ex.form, []).append(pd.Series(f"{ex.dataset}: {ex.reason}", index=rows, dtype=object))
    out = {}
    for form, series in parts.items():
        reasons = pd.concat(series)
        out[form] = reasons[~reasons.index.duplicated(keep="first")]
    return out


def _form_ledger(name: str, table: RawTable, mapped: dict[str, np.ndarray], excluded: pd.Series | None,
                 whole_reason: str | None) -> pd.DataFrame:
    rows = table.frame[SOURCE_ROW].astype(int).to_numpy()
    datasets = np.full(len(rows), "", dtype=object)
    is_mapped = np.zeros(len(rows), dtype=bool)
    for ds in sorted(mapped):                       # names joined in sorted order
        member = np.isin(rows, mapped[ds])
        datasets[member & is_mapped] = datasets[member & is_mapped] + "," + ds
        datasets[member & ~is_mapped] = ds
        is_mapped |= member
    reason = np.full(len(rows), "", dtype=object)
    status = np.full(len(rows), UNACCOUNTED, dtype=object)
    status[is_mapped] = MAPPED
    rest = ~is_mapped
    if excluded is not None:
        found = pd.Series(rows).map(excluded).to_numpy()
        hit = rest & pd.notna(found)
        status[hit], reason[hit] = EXCLUDED, found[hit]
        rest &= ~hit
    if whole_reason:
        status[rest], reason[rest] = EXCLUDED, whole_reason
    else:
        reason[rest] = "not used by any dataset spec"
    return pd.DataFrame({"form": np.full(len(rows), name, dtype=object),
                         "file": np.full(len(rows), table.path.name, dtype=object),
                         "row": rows.astype(np.int64), "status": status, "datasets": datasets, "reason": reason})


def build_ledger(specs: Specs, raw: dict[str, RawTable], result: MappingResult) -> tuple[Ledger, list[Finding]]:
    """Each raw row's fate, by set operations on row numbers (an anti-join of the raw rows with
    the rows the datasets carry), not a lookup per row."""
    mapped = _mapped_rows(raw, result)
    excluded = _excluded_reasons(result)
    parts = []
    for name, table in raw.items():
        form_spec = specs.study.form(name)
        whole_reason = form_spec.exclude_reason if form_spec else None
        parts.append(_form_ledger(name, table, mapped.get(name, {}), excluded.get(name), whole_reason))
    parts = [p for p in parts if len(p)]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame([], columns=COLUMNS)
    findings = []
    lost = frame[frame["status"] == UNACCOUNTED]
    for form, group in lost.groupby("form", sort=True, dropna=False):
        rows = group["row"].tolist()
        shown = ", ".join(str(r) for r in rows[:20]) + (" ..." if len(rows) > 20 else "")
        findings.append(Finding(
            "LEDGER-UNACCOUNTED", Severity.ERROR,
            f"{len(rows)} raw row(s) of form {form!r} reached no SDTM dataset and no exclusion (rows {shown})",
            stage="ledger", file=str(group["file"].iloc[0]), source_row=int(rows[0]),
            fix="map the form in a dataset spec, add a filter with a reason, or set exclude_reason for the form",
            extra={"form": str(form), "rows": len(rows)}))
    return Ledger(frame), findings
