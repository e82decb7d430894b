"""The study's own specs survive export to the P21-style workbook and import back, exactly."""
from dataclasses import fields, is_dataclass
from pathlib import Path

import openpyxl

from cdisc_dpn.spec.loader import load_specs
from cdisc_dpn.spec.model import NOWHERE
from cdisc_dpn.spec.workbook import export_workbook, import_workbook

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"


def comparable(obj):
    """The model without source locations, checksums and paths (which differ by folder)."""
    if is_dataclass(obj):
        values = {}
        for f in fields(obj):
            value = getattr(obj, f.name)
            values[f.name] = NOWHERE if f.name == "where" else "" if f.name in ("checksum", "root", "file") \
                else comparable(value)
        return type(obj)(**values)
    if isinstance(obj, tuple):
        return tuple(comparable(x) for x in obj)
    if isinstance(obj, dict):
        return {k: comparable(v) for k, v in obj.items()}
    return obj


def test_release_dpn_specs_round_trip_through_the_workbook(tmp_path):
    xlsx = tmp_path / "spec.xlsx"
    export_workbook(MAPPINGS, xlsx)
    book = openpyxl.load_workbook(xlsx, read_only=True)
    assert {"Study", "Datasets", "Variables", "ValueLevel", "WhereClauses", "Codelists", "Methods", "Comments",
            "Documents"} <= set(book.sheetnames)
    book.close()
    import_workbook(xlsx, tmp_path / "back")
    original, _ = load_specs(MAPPINGS)
    back, _ = load_specs(tmp_path / "back")
    assert comparable(back) == comparable(original)
    export_workbook(tmp_path / "back", tmp_path / "again.xlsx")
    assert (tmp_path / "again.xlsx").read_bytes() == xlsx.read_bytes()
