"""Controlled terminology: the CDISC CT package shipped as data plus sponsor extensions."""
from cdisc_dpn.terminology.ct import Codelist, Term, Terminology, load_ct, load_terminology, normalise

__all__ = ["Codelist", "Term", "Terminology", "load_ct", "load_terminology", "normalise"]
