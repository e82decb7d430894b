"""Registers the standard derivations (importing each module adds its algorithms to the registry)."""
from cdisc_dpn.derive import (  # noqa: F401
    arm, baseline, epoch, identifiers, records, reference_dates, study_day, trial_design, units, visits,
)
from cdisc_dpn.derive import ratios  # noqa: F401,E402
from cdisc_dpn.derive import date_flags, split  # noqa: F401,E402
