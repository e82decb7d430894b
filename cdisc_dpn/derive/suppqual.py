"""Build a SUPP-- frame from the parent's qualifier values once --SEQ is final."""
from __future__ import annotations

import pandas as pd

from cdisc_dpn.errors import Finding
from cdisc_dpn.distinct import map_distinct, on_distinct
from cdisc_dpn.raw.table import SOURCE_FILE, SOURCE_ROW
from cdisc_dpn.spec.model import DatasetSpec
from cdisc_dpn.standards.kinds import number_text

SUPP_COLUMNS = ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL"]


def _idvarval(values: pd.Series) -> pd.Series:
    return map_distinct(values, lambda v: "" if pd.isna(v) else (number_text(v) if isinstance(v, float) else str(v)))


def build_supp_frame(parent_spec: DatasetSpec, parent: pd.DataFrame, qualifiers: pd.DataFrame,
                     provenance: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[Finding]]:
    """One SUPP record per non-empty qualifier value, linked by IDVAR/IDVARVAL (default --SEQ)."""
    parts, provs = [], []
    for q in parent_spec.supplemental:
        if q.qnam not in qualifiers.columns:
            continue
        values = on_distinct(qualifiers[q.qnam], lambda s: s.astype(str).str.strip())
        mask = values != ""
        if not mask.any():
            continue
        idvar = q.idvar if q.idvar is not None else f"{parent_spec.domain}SEQ"
        if idvar and idvar not in parent.columns:
            idvar = ""
        sub = pd.DataFrame({
            "STUDYID": parent.loc[mask, "STUDYID"].values,
            "RDOMAIN": parent_spec.domain,
            "USUBJID": parent.loc[mask, "USUBJID"].values,
            "IDVAR": idvar,
            "IDVARVAL": _idvarval(parent.loc[mask, idvar]).values if idvar else "",
            "QNAM": q.qnam, "QLABEL": q.qlabel, "QVAL": values[mask].values,
            "QORIG": q.origin.type or "", "QEVAL": q.qeval or "",
        })
        parts.append(sub)
        provs.append(provenance.loc[mask.values, [SOURCE_FILE, SOURCE_ROW]].reset_index(drop=True))
    if not parts:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in SUPP_COLUMNS})
        return empty, pd.DataFrame({SOURCE_FILE: pd.Series(dtype=object), SOURCE_ROW: pd.Series(dtype=int)}), []
    frame = pd.concat(parts, ignore_index=True)
    prov = pd.concat(provs, ignore_index=True)
    seqnum = pd.to_numeric(frame["IDVARVAL"], errors="coerce")
    order = frame.assign(_n=seqnum).sort_values(["USUBJID", "IDVAR", "_n", "IDVARVAL", "QNAM"], kind="stable").index
    return frame.loc[order].reset_index(drop=True), prov.loc[order].reset_index(drop=True), []
