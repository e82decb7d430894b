"""Semantic checks of a loaded Specs object (references, registry, SDTMIG, terminology)."""
from __future__ import annotations

from cdisc_dpn.errors import Finding
from cdisc_dpn.spec.model import Specs


def check_specs(specs: Specs) -> list[Finding]:
    return []
