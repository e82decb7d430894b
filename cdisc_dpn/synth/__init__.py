"""Deterministic generator of RELEASE-DPN raw CRF exports (demo data and test input).

`generate_study(out_dir, subjects, seed)` writes one file per CRF form plus data_dictionary.csv;
the same seed gives byte-identical files.
"""
from .generator import SynthSummary, generate_study

__all__ = ["SynthSummary", "generate_study"]
