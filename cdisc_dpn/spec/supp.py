"""The SUPP-- dataset spec implied by a parent dataset's supplemental qualifiers (SDTMIG SUPPQUAL)."""
from __future__ import annotations

from functools import lru_cache

from cdisc_dpn.spec.model import AlgorithmCall, DatasetSpec, OriginSpec, SourceSpec, SuppQualifierSpec, VariableSpec

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


# --------------------------------------------------------------------------- SDTMIG 4.5.3.2 long text
LONG_TEXT_LIMIT = 200      # bytes of a Char value in an XPT v5 file (FDA Technical Conformance Guide)


def long_text_qnam(variable: str, part: int) -> str:
    """QNAM of the `part`-th continuation of `variable`: AETERM1, AETERM2...; an 8-character name gives
    up its last characters to the digits (SDTMIG 4.5.3.2), so the QNAM stays within 8."""
    suffix = str(part)
    return variable[: 8 - len(suffix)] + suffix


def long_text_qlabel(label: str, part: int) -> str:
    """QLABEL of the `part`-th continuation: the variable's label and the part number, within 40
    characters, so that QNAM and QLABEL stay one-to-one (FDA FB0920 / CORE-000302)."""
    suffix = f" {part}"
    return label[: 40 - len(suffix)] + suffix


def long_text_qualifier(parent: DatasetSpec, qnam: str) -> SuppQualifierSpec | None:
    """The SUPP-- qualifier a `long_text: supp` variable of `parent` implies for `qnam`, or None."""
    for var in parent.variables:
        if var.long_text != "supp" or var.type != "Char":
            continue
        for part in range(1, 100):
            name = long_text_qnam(var.name, part)
            if name == qnam:
                return SuppQualifierSpec(
                    qnam=qnam, qlabel=long_text_qlabel(var.label, part), algorithm=AlgorithmCall("long_text", {"variable": var.name}),
                    origin=var.origin, comment=f"{var.name} text beyond its first {LONG_TEXT_LIMIT} characters, "
                    f"part {part} (SDTMIG 4.5.3.2: {var.name} holds the first part, {long_text_qnam(var.name, 1)}, "
                    f"{long_text_qnam(var.name, 2)}... the rest, split between words).")
    return None
