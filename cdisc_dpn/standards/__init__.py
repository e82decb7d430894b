"""SDTMIG 3.4 dataset and variable metadata, shipped as data (CDISC metadata export)."""
from cdisc_dpn.standards.sdtmig import SdtmigDataset, SdtmigVariable, load_sdtmig

__all__ = ["SdtmigDataset", "SdtmigVariable", "load_sdtmig"]
