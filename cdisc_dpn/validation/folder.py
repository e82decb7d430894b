"""Read a folder of SDTM XPT files (any tool's) into DomainFrames, with specs from SDTMIG 3.4 if needed."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cdisc_dpn.errors import Finding, InputError, Severity
from cdisc_dpn.frames import DomainFrame
from cdisc_dpn.spec.model import (AlgorithmCall, DatasetSpec, OriginSpec, SourceSpec, SpecLocation, Specs,
                                  VariableSpec)
from cdisc_dpn.standards.sdtmig import SDTMIG_VERSION, domain_metadata
from cdisc_dpn.xpt.reader import read_xpt


@dataclass
class LoadedFolder:
    domains: dict[str, DomainFrame]
    lengths: dict[str, dict[str, int]]
    column_orders: dict[str, list[str]]


def _read(path: Path) -> tuple[pd.DataFrame, dict[str, int], dict[str, str], str]:
    """Frame, Char lengths, variable types (Char/Num) and dataset label of one XPT file."""
    frame, meta = read_xpt(path)
    types = {v.name: v.type for v in meta.variables}
    lengths = {v.name: int(v.length) for v in meta.variables if v.type == "Char" and v.length}
    return frame, lengths, types, meta.label


#: result variables whose SDTMIG codelist covers only character results, not numeric ones
_RESULT_SUFFIXES = ("ORRES", "STRESC")


def _codelist(name: str, codes: tuple[str, ...]) -> str | None:
    if len(codes) != 1 or name.endswith(_RESULT_SUFFIXES):
        return None
    return codes[0]


def spec_from_sdtmig(name: str, columns: list[str], types: dict[str, str], label: str = ""
                     ) -> tuple[DatasetSpec, list[str]]:
    """A DatasetSpec from SDTMIG 3.4 metadata for the dataset's columns plus its Req/Exp variables,
    and the expected column order of the columns present (SDTMIG order, others after)."""
    md = domain_metadata(name) or (domain_metadata(name[:2]) if len(name) > 2 and not name.startswith("SUPP")
                                   else None)
    where_file = f"SDTMIG {SDTMIG_VERSION}"
    origin, algorithm = OriginSpec("Not Available"), AlgorithmCall("none")
    variables: list[VariableSpec] = []
    known: set[str] = set()
    if md is not None:
        for v in md.variables:
            if v.name not in columns and v.core not in ("Req", "Exp"):
                continue
            known.add(v.name)
            variables.append(VariableSpec(
                name=v.name, label=v.label, type=v.type, order=v.order, core=v.core, origin=origin,
                algorithm=algorithm, codelist=_codelist(v.name, v.codelists), role=v.role,
                where=SpecLocation(f"{where_file} {md.name}.{v.name}")))
    base = max((v.order for v in variables), default=0)
    for i, c in enumerate(columns):
        if c not in known:
            variables.append(VariableSpec(
                name=c, label=c, type=types.get(c, "Char"), order=base + 1 + i, core="Perm", origin=origin,
                algorithm=algorithm, sponsor_defined=True, where=SpecLocation(f"{where_file} (not in {name})")))
    order = {v.name: v.order for v in variables}
    column_order = sorted(columns, key=lambda c: order[c])
    domain = name if name.startswith("SUPP") else (name[:2] if md is None or len(name) > 2 else md.name)
    spec = DatasetSpec(
        name=name, label=label or (md.label if md else name), domain=domain,
        dataset_class=md.dataset_class if md else "", structure=md.structure if md else "", keys=(), sort=(),
        source=SourceSpec(), variables=tuple(sorted(variables, key=lambda v: v.order)),
        file=where_file, where=SpecLocation(where_file))
    return spec, column_order


def read_folder(folder: Path, specs: Specs | None = None) -> LoadedFolder:
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder", [Finding(
            code="VAL-FOLDER", severity=Severity.ERROR, stage="validate", file=str(folder),
            message="not a folder of XPT files", fix="give the folder holding the SDTM .xpt files")])
    paths = dataset_files(folder)
    domains: dict[str, DomainFrame] = {}
    lengths: dict[str, dict[str, int]] = {}
    orders: dict[str, list[str]] = {}
    csv_study = _read_csvs(folder) if any(p.suffix.lower() == ".csv" for p in paths) else None
    for path in paths:
        name = path.stem.upper()
        if path.suffix.lower() == ".csv":
            frame, char_lengths, types, label = _from_csv(csv_study, name)
        elif path.suffix.lower() in (".json", ".ndjson"):
            frame, char_lengths, types, label = _read_dataset_json(path)
        else:
            frame, char_lengths, types, label = _read(path)
        for c, t in types.items():
            if t == "Char" and c in frame.columns:
                frame[c] = frame[c].astype(object).where(frame[c].notna(), "")
        spec = specs.dataset(name) if specs is not None else None
        if spec is None:
            spec, order = spec_from_sdtmig(name, list(frame.columns), types, label)
            orders[name] = order
        domains[name] = DomainFrame(spec, frame, pd.DataFrame(index=frame.index))
        lengths[name] = char_lengths
    return LoadedFolder(domains, lengths, orders)


DATASET_SUFFIXES = (".xpt", ".json", ".ndjson", ".csv")     # first wins when a dataset has several files


def dataset_files(folder: Path) -> list[Path]:
    """One file per dataset: XPT, else Dataset-JSON, else CSV (metadata files _*.csv and define.xml aside)."""
    chosen: dict[str, Path] = {}
    for suffix in DATASET_SUFFIXES:
        for p in sorted(folder.iterdir()):
            if p.is_file() and p.suffix.lower() == suffix and not p.name.startswith(("_", ".")):
                chosen.setdefault(p.stem.upper(), p)
    return [chosen[k] for k in sorted(chosen)]


def _read_dataset_json(path: Path) -> tuple[pd.DataFrame, dict[str, int], dict[str, str], str]:
    from cdisc_dpn.xpt.datasetjson import read_dataset_json

    try:
        doc = read_dataset_json(path)
        columns = doc["columns"]
        names = [c["name"] for c in columns]
        frame = pd.DataFrame(doc.get("rows") or [], columns=names)
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: cannot read as Dataset-JSON: {exc}", [Finding(
            code="DSJ-READ", severity=Severity.ERROR, stage="read", file=str(path),
            message=f"cannot read as Dataset-JSON: {exc}", fix="check the file against Dataset-JSON 1.1")]) from exc
    types, lengths = {}, {}
    for c in columns:
        numeric = c.get("dataType") in ("integer", "float", "double", "decimal") and \
            c.get("targetDataType") != "decimal"
        types[c["name"]] = "Num" if numeric else "Char"
        if numeric:
            frame[c["name"]] = pd.to_numeric(frame[c["name"]], errors="coerce")
        else:
            frame[c["name"]] = frame[c["name"]].map(lambda x: "" if x is None else str(x)).astype(object)
            if c.get("length"):
                lengths[c["name"]] = int(c["length"])
    return frame, lengths, types, str(doc.get("label") or "")


def _read_csvs(folder: Path):
    from cdisc_dpn.validation.open_rules.study import read_csv_folder

    return read_csv_folder(folder)


def _from_csv(study, name: str) -> tuple[pd.DataFrame, dict[str, int], dict[str, str], str]:
    ds = study.datasets[name]
    lengths = {c: n for c, n in ds.lengths.items() if ds.types.get(c) == "Char"}
    return ds.frame.copy(), lengths, dict(ds.types), ds.label
