"""Readers for raw CRF exports; every row remembers its file and row number."""
from cdisc_dpn.raw.table import RawTable, SOURCE_FILE, SOURCE_ROW

__all__ = ["RawTable", "SOURCE_FILE", "SOURCE_ROW"]
