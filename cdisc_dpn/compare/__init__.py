"""Compare produced SDTM datasets with reference datasets, record by record and variable by variable."""
from cdisc_dpn.compare.core import (  # noqa: F401
    DEFAULT_DATASETS, DEFAULT_KEYS, Comparison, DatasetResult, VariableResult, class_keys, compare_folders,
    compare_frames, compare_supp, dataset_files, pair_records, read_dataset, values_agree,
)
