"""Compare produced SDTM datasets with reference datasets, record by record and variable by variable."""
from cdisc_dpn.compare.core import (  # noqa: F401
    DEFAULT_DATASETS, DEFAULT_KEYS, Comparison, DatasetResult, VariableResult, compare_folders, compare_frames,
    compare_supp, pair_records, values_agree,
)
