"""The SUPP-- dataset spec implied by a parent dataset's supplemental qualifiers (SDTMIG SUPPQUAL)."""
from __future__ import annotations

from functools import lru_cache

from cdisc_dpn.spec.model import AlgorithmCall, DatasetSpec, OriginSpec, SourceSpec, VariableSpec

# (name, core, codelist, length) in SUPPQUAL order; labels come from SDTMIG 3.4 metadata.
_SUPP_VARIABLES = (
    ("STUDYID", "Req", None), ("RDOMAIN", "Req", "C66734"), ("USUBJID", "Req", None), ("IDVAR", "Exp", None),
    ("IDVARVAL", "Exp", None), ("QNAM", "Req", None), ("QLABEL", "Req", None), ("QVAL", "Req", None),
    ("QORIG", "Req", None), ("QEVAL", "Exp", None),
)


@lru_cache(maxsize=1)
def _labels() -> dict[str, str]:
    from cdisc_dpn.standards.sdtmig import load_sdtmig

    return {v.name: v.label for v in load_sdtmig()["SUPPQUAL"].variables}


def supp_dataset_spec(parent: DatasetSpec) -> DatasetSpec:
    labels = _labels()
    variables = tuple(
        VariableSpec(name=name, label=labels.get(name, name), type="Char", order=i, core=core,
                     origin=OriginSpec("Assigned", "Sponsor"), algorithm=AlgorithmCall("supp_column"),
                     codelist=codelist, where=parent.where)
        for i, (name, core, codelist) in enumerate(_SUPP_VARIABLES, start=1))
    return DatasetSpec(
        name=parent.supp_name, label=f"Supplemental Qualifiers for {parent.domain}"[:40], domain=parent.supp_name,
        dataset_class="RELATIONSHIP", structure="One record per supplemental qualifier per related parent domain record(s)",
        keys=("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
        sort=("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
        source=SourceSpec(), variables=variables, repeating=True, reference_data=False,
        comment=None, file=parent.file, where=parent.where)
