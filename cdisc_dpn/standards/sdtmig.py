"""SDTMIG 3.4 metadata lookups: which variables a domain has, their labels, types, core, codelists."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

SDTMIG_VERSION = "3.4"


@dataclass(frozen=True)
class SdtmigVariable:
    dataset: str
    name: str
    label: str
    type: str            # Char | Num
    order: int
    role: str
    core: str            # Req | Exp | Perm
    codelists: tuple[str, ...]
    value_domain: str


@dataclass(frozen=True)
class SdtmigDataset:
    name: str
    label: str
    dataset_class: str
    structure: str
    variables: tuple[SdtmigVariable, ...]

    def variable(self, name: str) -> SdtmigVariable | None:
        return next((v for v in self.variables if v.name == name), None)


def _read(name: str) -> list[dict[str, str]]:
    text = resources.files("cdisc_dpn.standards").joinpath("data", name).read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@lru_cache(maxsize=1)
def load_sdtmig() -> dict[str, SdtmigDataset]:
    variables: dict[str, list[SdtmigVariable]] = {}
    for row in _read(f"sdtmig-{SDTMIG_VERSION}-variables.csv"):
        codes = tuple(c.strip() for c in row["CDISC CT Codelist Code(s)"].replace(";", ",").split(",") if c.strip())
        variables.setdefault(row["Dataset Name"], []).append(SdtmigVariable(
            dataset=row["Dataset Name"], name=row["Variable Name"], label=row["Variable Label"], type=row["Type"],
            order=int(row["Variable Order"]), role=row["Role"], core=row["Core"], codelists=codes,
            value_domain=row.get("Described Value Domain(s)") or ""))
    result = {}
    for row in _read(f"sdtmig-{SDTMIG_VERSION}-datasets.csv"):
        name = row["Dataset Name"]
        result[name] = SdtmigDataset(name, row["Dataset Label"], row["Class"], row["Structure"],
                                     tuple(sorted(variables.get(name, []), key=lambda v: v.order)))
    return result


def domain_metadata(domain: str) -> SdtmigDataset | None:
    """SDTMIG metadata for a domain; SUPPxx datasets map to SUPPQUAL."""
    datasets = load_sdtmig()
    if domain.startswith("SUPP") and domain not in datasets:
        return datasets.get("SUPPQUAL")
    return datasets.get(domain)


GENERAL_CLASSES = {"INTERVENTIONS", "EVENTS", "FINDINGS", "FINDINGS ABOUT"}


@lru_cache(maxsize=8)
def model_variable_names(dataset_class: str, domain: str) -> frozenset[str]:
    """SDTM v2.0 model variables a general-observation domain may add (identifiers, timing, its class).

    SDTMIG lets a domain of the Interventions, Events or Findings class use any identifier or
    timing variable of the model and any variable of its own class ("--" replaced by the prefix).
    """
    cls = dataset_class.strip().upper()
    if cls not in GENERAL_CLASSES:
        return frozenset()
    wanted = {"GENERAL OBSERVATIONS", "FINDINGS" if cls == "FINDINGS ABOUT" else cls}
    if cls == "FINDINGS ABOUT":
        wanted.add("FINDINGS ABOUT")
    names = set()
    for row in _read("sdtm-2.0-variables.csv"):
        if row["Class"].strip().upper() in wanted and not row.get("Dataset Name"):
            names.add(row["Variable Name"].replace("--", domain))
    return frozenset(names)
