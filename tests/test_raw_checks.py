"""Raw-data checks list every problem row (each one is a query to raise), not the first 50."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from cdisc_dpn.raw.checks import check_duplicate_records
from cdisc_dpn.raw.table import SOURCE_FILE, SOURCE_ROW, RawTable


def test_every_duplicate_row_is_listed_with_the_row_it_repeats():
    # 70 distinct records (file rows 2..71), then each of them again (rows 72..141), then one more copy of row 2
    records = [{"SUBJECT": f"S{i:03d}", "AETERM": "HEADACHE" if i % 2 else "", "AESEV": None if i % 3 else "MILD"}
               for i in range(70)]
    frame = pd.DataFrame(records + records + records[:1])
    frame[SOURCE_FILE] = "ae.csv"
    frame[SOURCE_ROW] = range(2, len(frame) + 2)
    findings = check_duplicate_records({"ae": RawTable("ae", Path("ae.csv"), frame)})
    assert len(findings) == 71
    assert {f.code for f in findings} == {"RAW-DUPLICATE-ROW"}
    pairs = [(f.source_row, f.message) for f in findings]
    assert pairs[0] == (72, "row duplicates row 2 in every column")
    assert pairs[69] == (141, "row duplicates row 71 in every column")
    assert pairs[70] == (142, "row duplicates row 2 in every column")   # empty and null cells compare equal
