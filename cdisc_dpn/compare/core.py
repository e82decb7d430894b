"""Line up produced SDTM datasets with reference datasets by key and measure, per variable, how many
cells agree.

Records are paired on a natural key (a list of key sets tried in turn: rows left unpaired by the
first set are paired on the next, e.g. AE on USUBJID + AETERM + AESTDTC, then USUBJID + AETERM +
AEDTC for records whose start date differs). Repeated keys are paired in record order. A SUPP--
dataset is paired on USUBJID + QNAM + IDVARVAL, the produced IDVARVAL first translated to the
reference's through the pairs of the parent dataset (so differing --SEQ numbering does not matter).

Agreement of a variable = cells that agree / (paired records + records only on one side): a record
without a counterpart disagrees in every variable. Empty vs empty agrees; two numbers agree when
equal as numbers ("1" = "1.0" = 1.0); otherwise the trimmed texts must be equal.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd

#: Natural keys per dataset: key sets tried in order (general SDTM variables, no study names).
DEFAULT_KEYS: dict[str, list[list[str]]] = {
    "DM": [["USUBJID"]],
    "AE": [["USUBJID", "AETERM", "AESTDTC"], ["USUBJID", "AETERM", "AEDTC"], ["USUBJID", "AEDECOD", "AESTDTC"],
           ["USUBJID", "AETERM"]],
    "EX": [["USUBJID", "EXSTDTC", "EXTRT"], ["USUBJID", "EXTRT", "VISITNUM"], ["USUBJID", "EXSEQ"]],
    "CM": [["USUBJID", "CMTRT", "CMSTDTC"], ["USUBJID", "CMTRT"]],
    "MH": [["USUBJID", "MHTERM", "MHSTDTC"], ["USUBJID", "MHTERM"]],
    "DS": [["USUBJID", "DSDECOD", "DSSTDTC"], ["USUBJID", "DSTERM"]],
    "VS": [["USUBJID", "VSTESTCD", "VISITNUM", "VSTPTNUM", "VSDTC"], ["USUBJID", "VSTESTCD", "VSDTC"]],
    "LB": [["USUBJID", "LBTESTCD", "VISITNUM", "LBDTC"], ["USUBJID", "LBTESTCD", "LBDTC"]],
}
DEFAULT_DATASETS = ("DM", "SUPPDM", "AE", "SUPPAE", "EX")
DEFAULT_MAX_DIFFERENCES = 20
_UNPAIRED = "\x00unpaired:"
_PAIR_COL = "\x00IDVARVAL_PAIRED"     # helper key column of SUPP-- (never reported)


# --------------------------------------------------------------------------- values
def normalise(value) -> str:
    """Trimmed text; None/NaN as ""."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    text = str(value).strip()
    return "" if text.lower() == "nan" and not isinstance(value, str) else text


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def values_agree(produced, reference) -> bool:
    """Empty = empty; numbers compared as numbers; other values as trimmed text."""
    a, b = normalise(produced), normalise(reference)
    if a == b:
        return True
    if a == "" or b == "":
        return False
    x, y = _number(a), _number(b)
    if x is not None and y is not None:
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
    return False


def _key_text(value) -> str:
    """Key values compared like cells: numbers by value ("1" and "1.0" are the same key)."""
    text = normalise(value)
    number = _number(text)
    if number is not None and text != "":
        return repr(float(number))
    return text


# --------------------------------------------------------------------------- results
@dataclass
class VariableResult:
    name: str
    agree: int
    total: int
    differences: list[dict] = field(default_factory=list)
    difference_count: int = 0

    @property
    def percent(self) -> float:
        return 100.0 if self.total == 0 else round(100.0 * self.agree / self.total, 2)

    def as_dict(self) -> dict:
        return {"agree": self.agree, "total": self.total, "percent": self.percent,
                "differences": self.difference_count, "first_differences": self.differences}


@dataclass
class DatasetResult:
    name: str
    rows_produced: int
    rows_reference: int
    paired: int
    only_produced: int
    only_reference: int
    keys: list[list[str]]
    variables: dict[str, VariableResult]
    only_in_produced: list[str]
    only_in_reference: list[str]
    unpaired_produced: list[dict] = field(default_factory=list)
    unpaired_reference: list[dict] = field(default_factory=list)
    pairs: list[tuple[int, int]] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict:
        return {"rows_produced": self.rows_produced, "rows_reference": self.rows_reference, "paired": self.paired,
                "only_produced": self.only_produced, "only_reference": self.only_reference, "keys": self.keys,
                "variables": {n: v.as_dict() for n, v in self.variables.items()},
                "variables_only_in_produced": self.only_in_produced,
                "variables_only_in_reference": self.only_in_reference,
                "first_unpaired_produced": self.unpaired_produced,
                "first_unpaired_reference": self.unpaired_reference}


@dataclass
class Comparison:
    datasets: dict[str, DatasetResult]
    missing: dict[str, str] = field(default_factory=dict)     # dataset -> why it was not compared

    def as_dict(self) -> dict:
        return {"datasets": {n: d.as_dict() for n, d in self.datasets.items()}, "not_compared": self.missing,
                "summary": [{"dataset": n, "variable": v.name, "percent": v.percent, "agree": v.agree,
                             "total": v.total} for n, d in self.datasets.items() for v in d.variables.values()]}

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.as_dict(), indent=2, sort_keys=False) + "\n", encoding="utf-8")

    def markdown(self, examples: bool = True) -> str:
        lines = ["| dataset | variable | agreement % | agree / total | first difference (key: produced / reference) |",
                 "|---|---|---:|---:|---|"]
        for name, d in self.datasets.items():
            for v in d.variables.values():
                example = ""
                if examples and v.differences:
                    first = v.differences[0]
                    example = (f"{first['key']}: {first['produced']!r} / {first['reference']!r}"
                               .replace("|", "\\|"))
                lines.append(f"| {name} | {v.name} | {v.percent:.2f} | {v.agree} / {v.total} | {example} |")
            for var in d.only_in_reference:
                lines.append(f"| {name} | {var} | - | not produced | only in the reference |")
            for var in d.only_in_produced:
                lines.append(f"| {name} | {var} | - | not in reference | only produced |")
        rows = ["", "| dataset | produced rows | reference rows | paired | only produced | only reference |",
                "|---|---:|---:|---:|---:|---:|"]
        for name, d in self.datasets.items():
            rows.append(f"| {name} | {d.rows_produced} | {d.rows_reference} | {d.paired} | {d.only_produced} "
                        f"| {d.only_reference} |")
        for name, why in self.missing.items():
            rows.append(f"| {name} | - | - | - | - | not compared: {why} |")
        return "\n".join(lines + rows) + "\n"


# --------------------------------------------------------------------------- pairing
def _prepare(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.columns = [str(c).upper() for c in out.columns]
    return out.reset_index(drop=True)


def _keys_of(frame: pd.DataFrame, keys: Sequence[str], rows: Iterable[int]) -> dict[int, tuple]:
    """Row -> (key values..., occurrence) for the given rows, occurrence counting repeats in row order."""
    seen: dict[tuple, int] = {}
    out = {}
    for i in rows:
        base = tuple(_key_text(frame.at[i, k]) for k in keys)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out[i] = base + (n,)
    return out


def pair_records(produced: pd.DataFrame, reference: pd.DataFrame, key_sets: Sequence[Sequence[str]]
                 ) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Pairs (produced row, reference row) by the key sets in turn; then the unpaired rows of each side."""
    left, right = list(range(len(produced))), list(range(len(reference)))
    pairs: list[tuple[int, int]] = []
    for keys in key_sets:
        if not left or not right:
            break
        if not all(k in produced.columns and k in reference.columns for k in keys):
            continue
        lk, rk = _keys_of(produced, keys, left), _keys_of(reference, keys, right)
        index = {v: i for i, v in rk.items()}
        matched_right = set()
        still_left = []
        for i in left:
            j = index.get(lk[i])
            if j is not None and j not in matched_right:
                pairs.append((i, j))
                matched_right.add(j)
            else:
                still_left.append(i)
        left = still_left
        right = [j for j in right if j not in matched_right]
    return pairs, left, right


def _key_label(frame: pd.DataFrame, i: int, keys: Sequence[str]) -> str:
    return " ".join(normalise(frame.at[i, k]) for k in keys if k in frame.columns)


def compare_frames(name: str, produced: pd.DataFrame, reference: pd.DataFrame,
                   key_sets: Sequence[Sequence[str]] | None = None,
                   max_differences: int = DEFAULT_MAX_DIFFERENCES) -> DatasetResult:
    """Pair the records of one dataset and count agreeing cells per common variable."""
    produced, reference = _prepare(produced), _prepare(reference)
    key_sets = [list(k) for k in (key_sets or _default_keys(name, produced, reference))]
    pairs, only_p, only_r = pair_records(produced, reference, key_sets)
    label_keys = next((k for k in key_sets if all(c in produced.columns and c in reference.columns for c in k)),
                      ["USUBJID"])
    common = [c for c in reference.columns if c in produced.columns and c != _PAIR_COL]
    unpaired = len(only_p) + len(only_r)
    variables = {}
    for var in common:
        p_values, r_values = produced[var].tolist(), reference[var].tolist()
        agree = 0
        diffs: list[dict] = []
        count = 0
        for i, j in pairs:
            if values_agree(p_values[i], r_values[j]):
                agree += 1
            else:
                count += 1
                if len(diffs) < max_differences:
                    diffs.append({"key": _key_label(reference, j, label_keys),
                                  "produced": normalise(p_values[i]), "reference": normalise(r_values[j])})
        count += unpaired
        variables[var] = VariableResult(var, agree, len(pairs) + unpaired, diffs, count)
    return DatasetResult(
        name=name, rows_produced=len(produced), rows_reference=len(reference), paired=len(pairs),
        only_produced=len(only_p), only_reference=len(only_r), keys=key_sets, variables=variables,
        only_in_produced=[c for c in produced.columns if c not in reference.columns and c != _PAIR_COL],
        only_in_reference=[c for c in reference.columns if c not in produced.columns],
        unpaired_produced=[{"key": _key_label(produced, i, label_keys)} for i in only_p[:max_differences]],
        unpaired_reference=[{"key": _key_label(reference, j, label_keys)} for j in only_r[:max_differences]],
        pairs=pairs)


def _default_keys(name: str, produced: pd.DataFrame, reference: pd.DataFrame) -> list[list[str]]:
    if name in DEFAULT_KEYS:
        return DEFAULT_KEYS[name]
    domain = name[:2]
    return [["USUBJID", f"{domain}SEQ"]] if f"{domain}SEQ" in reference.columns else [["USUBJID"]]


def translate_supp(supp: pd.DataFrame, parent_map: Mapping[tuple[str, str, str], str]) -> pd.DataFrame:
    """SUPP-- with IDVARVAL replaced by the reference parent's value, where the parent record was paired.

    `parent_map`: (USUBJID, IDVAR, produced IDVARVAL) -> reference IDVARVAL. Unpaired parents keep a
    marker so their qualifiers pair with nothing. The original IDVARVAL stays, for comparison.
    """
    out = _prepare(supp)
    if "IDVARVAL" not in out.columns:
        return out
    translated = []
    for usubjid, idvar, value in zip(out.get("USUBJID", ""), out.get("IDVAR", ""), out["IDVARVAL"]):
        idvar, value = normalise(idvar), normalise(value)
        if not idvar:
            translated.append(value)
            continue
        key = (normalise(usubjid), idvar, _key_text(value))
        translated.append(parent_map.get(key, f"{_UNPAIRED}{value}"))
    out[_PAIR_COL] = translated
    return out


def _parent_map(parent: DatasetResult, produced: pd.DataFrame, reference: pd.DataFrame) -> dict:
    produced, reference = _prepare(produced), _prepare(reference)
    mapping = {}
    id_columns = [c for c in reference.columns if c in produced.columns and c.endswith("SEQ")] or ["USUBJID"]
    for i, j in parent.pairs:
        for idvar in id_columns:
            mapping[(normalise(produced.at[i, "USUBJID"]), idvar, _key_text(produced.at[i, idvar]))] = \
                _key_text(reference.at[j, idvar])
    return mapping


def compare_supp(name: str, produced: pd.DataFrame, reference: pd.DataFrame, parent: DatasetResult | None,
                 parent_produced: pd.DataFrame | None, parent_reference: pd.DataFrame | None,
                 max_differences: int = DEFAULT_MAX_DIFFERENCES) -> DatasetResult:
    """SUPP-- paired on USUBJID + QNAM + IDVAR + IDVARVAL (translated through the parent's pairs)."""
    p, r = _prepare(produced), _prepare(reference)
    if parent is not None and parent_produced is not None and parent_reference is not None:
        p = translate_supp(p, _parent_map(parent, parent_produced, parent_reference))
    else:
        p[_PAIR_COL] = [_key_text(v) for v in p.get("IDVARVAL", pd.Series([""] * len(p)))]
    r[_PAIR_COL] = [_key_text(v) if normalise(i) else normalise(v)
                                 for i, v in zip(r.get("IDVAR", pd.Series([""] * len(r))),
                                                 r.get("IDVARVAL", pd.Series([""] * len(r))))]
    keys = [["USUBJID", "QNAM", "IDVAR", _PAIR_COL]]
    result = compare_frames(name, p, r, keys, max_differences)
    result.keys = [["USUBJID", "QNAM", "IDVAR", "IDVARVAL (through the parent's pairs)"]]
    for rows in (result.unpaired_produced, result.unpaired_reference):
        for row in rows:
            row["key"] = row["key"].replace(_UNPAIRED, "unpaired parent ")
    for var in result.variables.values():
        for d in var.differences:
            d["key"] = d["key"].replace(_UNPAIRED, "unpaired parent ")
    return result


# --------------------------------------------------------------------------- folders
def read_produced(folder: str | Path, name: str) -> pd.DataFrame | None:
    """A produced dataset: <name>.xpt (SAS transport) or else <name>.csv."""
    from cdisc_dpn.xpt.reader import read_xpt

    folder = Path(folder)
    xpt = folder / f"{name.lower()}.xpt"
    if xpt.is_file():
        frame, _ = read_xpt(xpt)
        return frame
    return read_reference(folder, name)


def read_reference(folder: str | Path, name: str) -> pd.DataFrame | None:
    """A reference dataset: <name>.csv read as text (empty cells are missing values)."""
    path = Path(folder) / f"{name.lower()}.csv"
    if not path.is_file():
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def compare_folders(produced_dir: str | Path, reference_dir: str | Path,
                    datasets: Sequence[str] = DEFAULT_DATASETS,
                    keys: Mapping[str, Sequence[Sequence[str]]] | None = None,
                    max_differences: int = DEFAULT_MAX_DIFFERENCES) -> Comparison:
    """Compare the named datasets of a produced folder (XPT) with a reference folder (CSV)."""
    keys = dict(keys or {})
    loaded: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    missing: dict[str, str] = {}
    for name in datasets:
        name = name.upper()
        p, r = read_produced(produced_dir, name), read_reference(reference_dir, name)
        if p is None or r is None:
            missing[name] = "not produced" if p is None else "no reference file"
            continue
        loaded[name] = (p, r)
    results: dict[str, DatasetResult] = {}
    # Parents first, so that SUPP-- can be translated through their pairs.
    for name in sorted(loaded, key=lambda n: n.startswith("SUPP")):
        p, r = loaded[name]
        if name.startswith("SUPP"):
            parent_name = name[4:]
            parent = results.get(parent_name)
            pp, pr = loaded.get(parent_name, (None, None))
            results[name] = compare_supp(name, p, r, parent, pp, pr, max_differences)
        else:
            results[name] = compare_frames(name, p, r, keys.get(name), max_differences)
    ordered = {n.upper(): results[n.upper()] for n in datasets if n.upper() in results}
    return Comparison(ordered, missing)
