"""cdisc-dpn: declarative raw CRF to CDISC SDTM conversion."""

__version__ = "0.1.0"
