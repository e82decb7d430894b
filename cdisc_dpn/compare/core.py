"""Line up produced SDTM datasets with reference datasets by key and measure, per variable, how many
cells agree.

Records are paired on a natural key (a list of key sets tried in turn: rows left unpaired by the
first set are paired on the next, e.g. AE on USUBJID + AETERM + AESTDTC, then USUBJID + AETERM +
AEDTC for records whose start date differs). Keys follow the dataset's class: trial design datasets
by their own keys (TA: ARMCD + TAETORD, TE: ETCD, TV: VISITNUM (+ ARMCD), TS: TSPARMCD + TSSEQ,
TI: IETESTCD), findings by USUBJID + --TESTCD + visit/time point/date, events by --TERM, interventions
by --TRT. Repeated keys are paired in record order. A SUPP-- dataset is paired on USUBJID + QNAM +
IDVAR + IDVARVAL, whatever IDVAR is (--SEQ, a group id such as QSGRPID, --SPID, ...): the produced
IDVARVAL is first translated to the reference's through the pairs of the parent dataset, so that a
differing --SEQ numbering or group id does not matter.

Agreement of a variable = cells that agree / (paired records + records only on one side): a record
without a counterpart disagrees in every variable. Empty vs empty agrees; by default two numbers
agree when equal as numbers ("1" = "1.0" = 1.0); otherwise the trimmed texts must be equal. With
`strict`, text cells are compared as text ("66" and "66.0" differ, as they would in a submission's
character variable); a Num variable read from XPT or Dataset-JSON holds numbers, not text, so it is
still compared by value (and shown as the shortest text that gives it back: 66.0 is "66").

Datasets are read from SAS XPT, Dataset-JSON (.json / .ndjson) or CSV files named after the dataset.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd

from cdisc_dpn.standards.kinds import number_text

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
    "SE": [["USUBJID", "ETCD", "SESTDTC"], ["USUBJID", "TAETORD"], ["USUBJID", "ETCD"]],
    "SV": [["USUBJID", "VISITNUM"], ["USUBJID", "VISIT"]],
    "RELREC": [["RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "RELID"], ["RDOMAIN", "USUBJID", "RELID"]],
    # Trial design: no subjects, each dataset has its own natural key.
    "TA": [["ARMCD", "TAETORD"], ["ARM", "TAETORD"], ["ARMCD", "ETCD"]],
    "TE": [["ETCD"], ["ELEMENT"]],
    "TV": [["VISITNUM", "ARMCD"], ["VISITNUM"], ["VISIT"]],
    "TS": [["TSPARMCD", "TSSEQ"], ["TSPARMCD", "TSVAL"], ["TSPARMCD"]],
    "TI": [["IETESTCD", "TIVERS"], ["IETESTCD"]],
    "TD": [["TDORDER"]],
    "TM": [["MIDSTYPE"]],
}
DEFAULT_DATASETS = ("DM", "SUPPDM", "AE", "SUPPAE", "EX")
#: File types read, in order of preference when a folder holds a dataset in several of them.
DATASET_SUFFIXES = (".xpt", ".json", ".ndjson", ".csv")
DEFAULT_MAX_DIFFERENCES = 20
_UNPAIRED = "\x00unpaired:"
_PAIR_COL = "\x00IDVARVAL_PAIRED"     # helper key column of SUPP-- (never reported)


# --------------------------------------------------------------------------- values
def normalise(value) -> str:
    """Trimmed text; None/NaN as ""; a number as the shortest text that gives it back (66.0 -> "66")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return number_text(value)
    text = str(value).strip()
    return "" if text.lower() == "nan" and not isinstance(value, str) else text


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def values_agree(produced, reference, strict: bool = False) -> bool:
    """Empty = empty; numbers compared as numbers; other values as trimmed text. With `strict`, text
    is compared as text ("66" and "66.0" differ) unless one side is a number (a Num variable of an
    XPT or Dataset-JSON file), whose text is only the writer's way of showing it."""
    a, b = normalise(produced), normalise(reference)
    if a == b:
        return True
    if a == "" or b == "" or (strict and not (_is_number(produced) or _is_number(reference))):
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
    files: dict[str, str] = field(default_factory=dict)       # "produced"/"reference" -> file name read

    def as_dict(self) -> dict:
        return {"files": self.files, "rows_produced": self.rows_produced, "rows_reference": self.rows_reference, "paired": self.paired,
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
    strict: bool = False                                      # cells compared as text

    @property
    def paired(self) -> int:
        return sum(d.paired for d in self.datasets.values())

    def as_dict(self) -> dict:
        return {"strict": self.strict, "datasets": {n: d.as_dict() for n, d in self.datasets.items()},
                "not_compared": self.missing,
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
                   max_differences: int = DEFAULT_MAX_DIFFERENCES, strict: bool = False) -> DatasetResult:
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
            if values_agree(p_values[i], r_values[j], strict):
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
    """The dataset's own key sets if it has some, then key sets of its class found from its variables
    (used when a file lacks a variable of the dataset's own keys)."""
    common = [c for c in reference.columns if c in produced.columns]
    keys = [list(k) for k in DEFAULT_KEYS.get(name, [])]
    if any(all(c in common for c in k) for k in keys):
        return keys
    return keys + [k for k in class_keys(name[:2], common) if k not in keys]


def class_keys(domain: str, columns: Sequence[str]) -> list[list[str]]:
    """Key sets for a general-observation domain from the variables both sides have: findings by
    --TESTCD (+ category, visit, time point, date), events by --TERM, interventions by --TRT; then
    --SEQ, then the subject alone. Variables one side lacks are left out of a key set."""
    present = set(columns)
    d = domain
    if "USUBJID" not in present:
        return [["USUBJID"]]              # records of subjects are never paired without the subject

    def keep(*names: str) -> list[str]:
        return [n for n in names if n in present]

    candidates: list[list[str]] = []
    if f"{d}TESTCD" in present:
        candidates += [keep("USUBJID", f"{d}CAT", f"{d}TESTCD", "VISITNUM", f"{d}TPTNUM", f"{d}DTC"),
                       keep("USUBJID", f"{d}CAT", f"{d}TESTCD", f"{d}DTC"),
                       keep("USUBJID", f"{d}CAT", f"{d}TESTCD", "VISITNUM"),
                       keep("USUBJID", f"{d}CAT", f"{d}TESTCD")]
    if f"{d}TERM" in present:
        candidates += [keep("USUBJID", f"{d}TERM", f"{d}STDTC"), keep("USUBJID", f"{d}TERM", f"{d}DTC"),
                       keep("USUBJID", f"{d}DECOD", f"{d}STDTC"), keep("USUBJID", f"{d}TERM")]
    if f"{d}TRT" in present:
        candidates += [keep("USUBJID", f"{d}TRT", f"{d}STDTC"), keep("USUBJID", f"{d}TRT", "VISITNUM"),
                       keep("USUBJID", f"{d}TRT")]
    candidates += [keep("USUBJID", f"{d}SEQ"), keep("USUBJID")]
    out: list[list[str]] = []
    for keys in candidates:
        if keys and keys not in out:
            out.append(keys)
    return out or [list(columns)[:1]]


def translate_supp(supp: pd.DataFrame, parent_map: Mapping[tuple[str, str, str], str],
                   translated: Iterable[str] = ()) -> pd.DataFrame:
    """SUPP-- with IDVARVAL replaced by the reference parent's value, where the parent record was paired.

    `parent_map`: (USUBJID, IDVAR, produced IDVARVAL) -> reference IDVARVAL, for the IDVARs in
    `translated`. A --SEQ value whose parent was not paired gets a marker so its qualifiers pair with
    nothing (sequence numbers mean nothing across two files); any other identifier (a group id, a
    sponsor id) is kept as it is. The original IDVARVAL stays, for comparison.
    """
    out = _prepare(supp)
    if "IDVARVAL" not in out.columns:
        return out
    translated = set(translated) or {k[1] for k in parent_map}
    values = []
    for usubjid, idvar, value in zip(out.get("USUBJID", ""), out.get("IDVAR", ""), out["IDVARVAL"]):
        idvar, value = normalise(idvar), normalise(value)
        if not idvar:
            values.append(value)
            continue
        key = (normalise(usubjid), idvar, _key_text(value))
        if key in parent_map:
            values.append(parent_map[key])
        elif idvar in translated and idvar.endswith("SEQ"):
            values.append(f"{_UNPAIRED}{value}")
        else:
            values.append(_key_text(value))
    out[_PAIR_COL] = values
    return out


def _idvars(*supps: pd.DataFrame) -> list[str]:
    """The IDVARs the SUPP-- records use, on either side."""
    names: set[str] = set()
    for supp in supps:
        if "IDVAR" in supp.columns:
            names.update(normalise(v) for v in supp["IDVAR"].unique())
    return sorted(n for n in names if n)


def _parent_map(parent: DatasetResult, produced: pd.DataFrame, reference: pd.DataFrame,
                idvars: Sequence[str] | None = None) -> tuple[dict, list[str]]:
    """(USUBJID, IDVAR, produced value) -> reference value through the parent's pairs, for every IDVAR
    both parents have; also the IDVARs translated."""
    produced, reference = _prepare(produced), _prepare(reference)
    wanted = idvars if idvars is not None else [c for c in reference.columns if c.endswith("SEQ")]
    id_columns = [c for c in wanted if c in reference.columns and c in produced.columns]
    if "USUBJID" not in produced.columns:
        return {}, []
    mapping = {}
    for i, j in parent.pairs:
        for idvar in id_columns:
            mapping.setdefault((normalise(produced.at[i, "USUBJID"]), idvar, _key_text(produced.at[i, idvar])),
                               _key_text(reference.at[j, idvar]))
    return mapping, id_columns


def compare_supp(name: str, produced: pd.DataFrame, reference: pd.DataFrame, parent: DatasetResult | None,
                 parent_produced: pd.DataFrame | None, parent_reference: pd.DataFrame | None,
                 max_differences: int = DEFAULT_MAX_DIFFERENCES, strict: bool = False) -> DatasetResult:
    """SUPP-- paired on USUBJID + QNAM + IDVAR + IDVARVAL (translated through the parent's pairs)."""
    p, r = _prepare(produced), _prepare(reference)
    if parent is not None and parent_produced is not None and parent_reference is not None:
        mapping, translated = _parent_map(parent, parent_produced, parent_reference, _idvars(p, r))
        p = translate_supp(p, mapping, translated)
    elif "IDVARVAL" in p.columns:
        p[_PAIR_COL] = [_key_text(v) if normalise(i) else normalise(v)
                        for i, v in zip(p.get("IDVAR", pd.Series([""] * len(p))), p["IDVARVAL"])]
    if _PAIR_COL not in p.columns:
        p[_PAIR_COL] = ""
    r[_PAIR_COL] = [_key_text(v) if normalise(i) else normalise(v)
                    for i, v in zip(r.get("IDVAR", pd.Series([""] * len(r))),
                                    r.get("IDVARVAL", pd.Series([""] * len(r))))]
    keys = [["USUBJID", "QNAM", "IDVAR", _PAIR_COL]]
    result = compare_frames(name, p, r, keys, max_differences, strict)
    result.keys = [["USUBJID", "QNAM", "IDVAR", "IDVARVAL (through the parent's pairs)"]]
    for rows in (result.unpaired_produced, result.unpaired_reference):
        for row in rows:
            row["key"] = row["key"].replace(_UNPAIRED, "unpaired parent ")
    for var in result.variables.values():
        for d in var.differences:
            d["key"] = d["key"].replace(_UNPAIRED, "unpaired parent ")
    return result


# --------------------------------------------------------------------------- folders
def dataset_files(folder: str | Path) -> dict[str, Path]:
    """Dataset name -> the file to read (XPT, then Dataset-JSON, then CSV), names matched without case."""
    found: dict[str, Path] = {}
    folder = Path(folder)
    if not folder.is_dir():
        return found
    rank = {suffix: i for i, suffix in enumerate(DATASET_SUFFIXES)}
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        if suffix not in rank or not path.is_file():
            continue
        name = path.stem.upper()
        if name not in found or rank[suffix] < rank[found[name].suffix.lower()]:
            found[name] = path
    return found


def read_dataset(path: str | Path) -> pd.DataFrame:
    """A dataset file as a frame: XPT (numbers as numbers), Dataset-JSON, or CSV read as text (empty
    cells are missing values). Raises InputError when the file cannot be read."""
    from cdisc_dpn.errors import Finding, InputError, Severity

    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".xpt":
            from cdisc_dpn.xpt.reader import read_xpt

            frame, _ = read_xpt(path)
            return frame
        if suffix in (".json", ".ndjson"):
            from cdisc_dpn.xpt.datasetjson import read_dataset_json

            doc = read_dataset_json(path)
            names = [str(c.get("name", "")) for c in doc.get("columns") or []]
            rows = doc.get("rows") or []
            if not names or any(not isinstance(r, list) or len(r) != len(names) for r in rows):
                raise ValueError("not a Dataset-JSON file: columns and rows do not match")
            return pd.DataFrame(rows, columns=names, dtype=object)
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read {path}", [Finding(
            "COMPARE-READ", Severity.ERROR, f"cannot read the dataset file: {exc}", stage="compare", file=str(path),
            fix="give SAS XPT v5, Dataset-JSON or CSV files named after the dataset (dm.xpt, dm.json, dm.csv)")]
        ) from None


def read_produced(folder: str | Path, name: str) -> pd.DataFrame | None:
    """A produced dataset: <name>.xpt, .json, .ndjson or .csv (None when there is none)."""
    path = dataset_files(folder).get(name.upper())
    return None if path is None else read_dataset(path)


def read_reference(folder: str | Path, name: str) -> pd.DataFrame | None:
    """A reference dataset: <name>.xpt, .json, .ndjson or .csv (None when there is none)."""
    return read_produced(folder, name)


def compare_folders(produced_dir: str | Path, reference_dir: str | Path,
                    datasets: Sequence[str] | None = DEFAULT_DATASETS,
                    keys: Mapping[str, Sequence[Sequence[str]]] | None = None,
                    max_differences: int = DEFAULT_MAX_DIFFERENCES, strict: bool = False) -> Comparison:
    """Compare the named datasets (None: every dataset either folder has) of two folders."""
    keys = dict(keys or {})
    produced_files, reference_files = dataset_files(produced_dir), dataset_files(reference_dir)
    if datasets is None:
        datasets = sorted(set(produced_files) | set(reference_files), key=lambda n: (n.startswith("SUPP"), n))
    loaded: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    missing: dict[str, str] = {}
    files: dict[str, dict[str, str]] = {}
    for name in datasets:
        name = name.upper()
        p_path, r_path = produced_files.get(name), reference_files.get(name)
        if p_path is None or r_path is None:
            missing[name] = "not produced" if p_path is None else "no reference file"
            continue
        loaded[name] = (read_dataset(p_path), read_dataset(r_path))
        files[name] = {"produced": p_path.name, "reference": r_path.name}
    results: dict[str, DatasetResult] = {}
    # Parents first, so that SUPP-- can be translated through their pairs.
    for name in sorted(loaded, key=lambda n: n.startswith("SUPP")):
        p, r = loaded[name]
        if name.startswith("SUPP"):
            parent_name = name[4:]
            parent = results.get(parent_name)
            pp, pr = loaded.get(parent_name, (None, None))
            results[name] = compare_supp(name, p, r, parent, pp, pr, max_differences, strict)
        else:
            results[name] = compare_frames(name, p, r, keys.get(name), max_differences, strict)
        results[name].files = files[name]
    ordered = {n.upper(): results[n.upper()] for n in datasets if n.upper() in results}
    return Comparison(ordered, missing, strict=strict)
