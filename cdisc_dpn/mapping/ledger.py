"""The record ledger: every raw row read is in an SDTM dataset or excluded with a reason.

A row counts as mapped when an SDTM record carries its provenance (primary or stacked form)
or when a joined form's row contributed to a dataset. Rows a filter or unpivot removed carry
the spec's reason; forms declared with `exclude_reason` are excluded whole. Anything else is
unaccounted for, and the run fails on it.
"""
from __future__ import annotations

from dataclasses import dataclass

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
            datasets = sorted({d for cell in group.loc[group["status"] == MAPPED, "datasets"] for d in cell.split(",")
                               if d})
            reasons = group[group["status"] != MAPPED].groupby(["status", "reason"], sort=True).size()
            entry["datasets"] = datasets
            entry["reasons"] = [{"status": status, "reason": reason, "rows": int(n)}
                                for (status, reason), n in reasons.items()]
        return out


def build_ledger(specs: Specs, raw: dict[str, RawTable], result: MappingResult) -> tuple[Ledger, list[Finding]]:
    by_file = {t.path.name: name for name, t in raw.items()}
    mapped: dict[tuple[str, int], set[str]] = {}
    for name, dom in result.domains.items():
        prov = dom.provenance
        if prov.empty:
            continue
        files, rows = prov[SOURCE_FILE].astype(str).values, prov[SOURCE_ROW].astype(int).values
        for file, row in set(zip(files, rows)):
            form = by_file.get(file)
            if form is not None and row > 0:
                mapped.setdefault((form, int(row)), set()).add(name)
    for use in result.join_uses:
        for row in use.rows:
            mapped.setdefault((use.form, int(row)), set()).add(use.dataset)
    excluded: dict[tuple[str, int], str] = {}
    for ex in result.exclusions:
        for row in ex.rows:
            excluded.setdefault((ex.form, int(row)), f"{ex.dataset}: {ex.reason}")
    records = []
    for name, table in raw.items():
        form_spec = specs.study.form(name)
        whole_reason = form_spec.exclude_reason if form_spec else None
        for row in table.frame[SOURCE_ROW].astype(int):
            key = (name, int(row))
            if key in mapped:
                records.append((name, table.path.name, row, MAPPED, ",".join(sorted(mapped[key])), ""))
            elif key in excluded:
                records.append((name, table.path.name, row, EXCLUDED, "", excluded[key]))
            elif whole_reason:
                records.append((name, table.path.name, row, EXCLUDED, "", whole_reason))
            else:
                records.append((name, table.path.name, row, UNACCOUNTED, "", "not used by any dataset spec"))
    frame = pd.DataFrame(records, columns=["form", "file", "row", "status", "datasets", "reason"])
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
