"""Null-key handling of the engine's merges (issue 14 audit): an empty key never matches an empty key."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from cdisc_dpn.mapping.source import _join
from cdisc_dpn.raw.table import SOURCE_FILE, SOURCE_ROW, RawTable
from cdisc_dpn.spec.model import DatasetSpec, JoinSpec, SourceSpec


def _table(form: str, rows: dict) -> RawTable:
    frame = pd.DataFrame(rows)
    frame[SOURCE_FILE] = f"{form}.csv"
    frame[SOURCE_ROW] = range(2, len(frame) + 2)
    return RawTable(form, Path(f"{form}.csv"), frame)


DS = DatasetSpec(name="XX", label="x", domain="XX", dataset_class="EVENTS", structure="", keys=(), sort=(),
                 source=SourceSpec(form="left"), variables=())


def test_join_does_not_pair_empty_keys():
    left = _table("left", {"SUBJECT": ["01", "", None]}).frame.assign(__form="left")
    right = _table("rand", {"SUBJECT": ["01", "", None], "ARM": ["A", "WRONG", "WRONG2"]})
    merged = _join(DS, left, JoinSpec(form="rand", on={"SUBJECT": "SUBJECT"}), {"rand": right}, [])
    assert merged["rand.ARM"].tolist() == ["A", "", ""]
    assert len(merged) == 3


def test_inner_join_keeps_only_real_key_matches():
    left = _table("left", {"SUBJECT": ["01", ""]}).frame.assign(__form="left")
    right = _table("rand", {"SUBJECT": ["01", ""], "ARM": ["A", "WRONG"]})
    merged = _join(DS, left, JoinSpec(form="rand", on={"SUBJECT": "SUBJECT"}, how="inner"), {"rand": right}, [])
    assert merged["rand.ARM"].tolist() == ["A"]


def test_epoch_of_a_record_without_subject_is_empty():
    from cdisc_dpn.derive.epoch import derive_epoch

    se = pd.DataFrame({"USUBJID": ["", "A"], "SESTDTC": ["2026-01-01", "2026-01-01"],
                       "SEENDTC": ["2026-12-31", "2026-12-31"], "TAETORD": [1, 1], "EPOCH": ["WRONG", "TREATMENT"]})
    got = derive_epoch(pd.Series(["", None, "A"]), pd.Series(["2026-03-01"] * 3), se)
    assert got.tolist() == ["", "", "TREATMENT"]


def test_lookup_does_not_pair_empty_keys():
    from types import SimpleNamespace

    from cdisc_dpn.derive.general import lookup

    rand = _table("rand", {"SUBJECT": ["01", ""], "ARM": ["A", "WRONG"]})
    src = pd.DataFrame({"SUBJECT": ["01", "", "02"]})
    ctx = SimpleNamespace(raw={"rand": rand}, src=src,
                          column=lambda name: src[name].astype(str).str.strip())
    got = lookup(ctx, {"form": "rand", "key": "SUBJECT", "value": "ARM"}, None)
    assert got.tolist() == ["A", "", ""]
