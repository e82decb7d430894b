"""The datasets a rule run sees: frames with their metadata (label, variable types), from memory or CSV.

Char values are str ("" when empty), Num values float (NaN when empty), as in an XPT file; the
CORE test cases (CSV + _datasets.csv + _variables.csv + .env) are read into the same shape.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from cdisc_dpn.standards.sdtmig import load_sdtmig


@dataclass
class StudyDataset:
    name: str                                   # dataset name as filed: AE, SUPPAE, QS1
    frame: pd.DataFrame                         # 0-based positional index = record - 1
    label: str = ""
    types: dict[str, str] = field(default_factory=dict)      # variable -> Char | Num
    labels: dict[str, str] = field(default_factory=dict)     # variable -> label
    lengths: dict[str, int] = field(default_factory=dict)    # variable -> declared length

    @cached_property
    def size(self) -> float:
        """Bytes of the dataset as an XPT file would hold them (records x declared lengths; Num 8 bytes),
        the stand-in for dataset_size; the longest value stands in for an undeclared Char length."""
        width = 0
        for c in self.frame.columns:
            if self.types.get(c) == "Num":
                width += 8
            elif c in self.lengths:
                width += int(self.lengths[c])
            else:
                width += int(self.frame[c].astype(str).str.len().max() or 1) if len(self.frame) else 1
        return float(width * len(self.frame))

    @cached_property
    def domain(self) -> str:
        """The DOMAIN value (split datasets QS1 -> QS), else the name; SUPPxx keep their name."""
        if self.name.startswith("SUPP") or self.name in ("RELREC", "RELSUB", "RELSPEC"):
            return self.name
        if "DOMAIN" in self.frame.columns and len(self.frame):
            for value in pd.unique(self.frame["DOMAIN"].astype(object)):
                if isinstance(value, str) and value.strip():
                    return value.strip().upper()
        return self.name

    @cached_property
    def dataset_class(self) -> str:
        """SDTMIG class (upper case) of the domain, else guessed from its topic variable."""
        if self.name.startswith("SUPP") or self.name in ("RELREC", "RELSUB", "RELSPEC"):
            return "RELATIONSHIP"
        md = load_sdtmig().get(self.domain)
        if md is not None:
            cls = md.dataset_class.upper()
            return {"SPECIAL-PURPOSE": "SPECIAL PURPOSE", "TRIAL-DESIGN": "TRIAL DESIGN"}.get(cls, cls)
        prefix = self.domain[:2]
        cols = set(self.frame.columns)
        if prefix + "OBJ" in cols:
            return "FINDINGS ABOUT"
        if prefix + "TESTCD" in cols:
            return "FINDINGS"
        if prefix + "TRT" in cols:
            return "INTERVENTIONS"
        if prefix + "TERM" in cols:
            return "EVENTS"
        return ""


@dataclass
class StudyData:
    datasets: dict[str, StudyDataset]
    product: str = "SDTMIG"
    version: str = "3.4"
    merged: dict = field(default_factory=dict, repr=False)   # (dataset, Match Datasets) -> merged frame, rows

    def by_domain(self, name: str) -> StudyDataset | None:
        """A dataset by name, or the first whose DOMAIN is `name` (split datasets)."""
        name = name.upper()
        if name in self.datasets:
            return self.datasets[name]
        for ds in self.datasets.values():
            if ds.domain == name:
                return ds
        return None


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8-sig")
    except pd.errors.EmptyDataError:            # an empty file is a dataset without variables or records
        return pd.DataFrame()


def _numeric(values: pd.Series) -> pd.Series:
    text = values.astype(str).str.strip()
    return pd.to_numeric(text.where(text != "", np.nan), errors="coerce")


def read_env(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                k, v = line.split("=", 1)
                env[k.strip().upper()] = v.strip()
    return env


def read_csv_folder(folder: Path, *, listed_only: bool = False) -> StudyData:
    """A CORE test-case `data/` folder (or any folder of <dataset>.csv with optional metadata).

    `listed_only`: when _datasets.csv exists, read only the datasets it lists (as CORE does for
    its test cases); otherwise every <dataset>.csv is read."""
    labels: dict[str, str] = {}
    listed: list[str] = []
    if (folder / "_datasets.csv").is_file():
        for row in csv.DictReader((folder / "_datasets.csv").open(encoding="utf-8-sig")):
            name = (row.get("Filename") or row.get("filename") or "").strip()
            if name:
                stem = Path(name).stem if name.lower().endswith(".csv") else name
                listed.append(stem)
                labels[stem.upper()] = (row.get("Label") or row.get("label") or "").strip()
    var_meta: dict[str, dict[str, tuple[str, str, str]]] = {}
    if (folder / "_variables.csv").is_file():
        for row in csv.DictReader((folder / "_variables.csv").open(encoding="utf-8-sig")):
            ds = (row.get("dataset") or "").strip()
            ds = (Path(ds).stem if ds.lower().endswith(".csv") else ds).upper()
            var = (row.get("variable") or "").strip()
            if ds and var:
                var_meta.setdefault(ds, {})[var] = ((row.get("type") or "").strip(), row.get("label") or "",
                                                     (row.get("length") or "").strip())
    paths = {p.stem.upper(): p for p in folder.glob("*.csv") if not p.name.startswith("_")}
    names = [n.upper() for n in listed if n.upper() in paths]
    if not (listed_only and listed):
        names += [n for n in sorted(paths) if n not in names]
    datasets = {}
    for name in names:
        frame = _read_csv(paths[name])
        frame.columns = [str(c).strip() for c in frame.columns]
        meta = var_meta.get(name, {})
        types = {}
        for c in frame.columns:
            t = meta.get(c, ("Char", "", ""))[0].capitalize() or "Char"
            types[c] = "Num" if t.startswith("Num") else "Char"
            if types[c] == "Num":
                frame[c] = _numeric(frame[c])
        lengths = {}
        for c, (_, _, ln) in meta.items():
            try:
                lengths[c] = int(float(ln))
            except ValueError:
                pass
        datasets[name] = StudyDataset(name, frame.reset_index(drop=True), labels.get(name, ""), types,
                                      {c: m[1] for c, m in meta.items()}, lengths)
    env = read_env(folder / ".env")
    return StudyData(datasets, product=(env.get("PRODUCT") or "SDTMIG").upper(),
                     version=(env.get("VERSION") or "3.4").replace("-", "."))


def from_frames(frames: dict[str, pd.DataFrame], *, labels: dict[str, str] | None = None,
                types: dict[str, dict[str, str]] | None = None, lengths: dict[str, dict[str, int]] | None = None,
                var_labels: dict[str, dict[str, str]] | None = None, version: str = "3.4") -> StudyData:
    """In-memory SDTM datasets (pipeline output or a read folder) as StudyData."""
    out = {}
    for name, frame in frames.items():
        f = frame.reset_index(drop=True)
        t = dict((types or {}).get(name) or {})
        for c in f.columns:
            t.setdefault(c, "Num" if pd.api.types.is_numeric_dtype(f[c].dtype) else "Char")
        out[name] = StudyDataset(name, f, (labels or {}).get(name, ""), t, dict((var_labels or {}).get(name) or {}),
                                 dict((lengths or {}).get(name) or {}))
    return StudyData(out, "SDTMIG", version)
