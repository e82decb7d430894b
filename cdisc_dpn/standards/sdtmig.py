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
