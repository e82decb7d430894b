"""XPT v5 writer: round trips through pyreadstat and pandas, byte-level agreement with pyreadstat,
determinism, IBM range handling, atomic writes and FDA splitting."""
from __future__ import annotations

import math
import warnings
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdisc_dpn.errors import OutputError
from cdisc_dpn.xpt.checks import IBM_MIN
from cdisc_dpn.xpt.metadata import XptDataset, XptVariable
from cdisc_dpn.xpt.reader import read_xpt
from cdisc_dpn.xpt.writer import (
    ieee_to_ibm,
    split_dataset,
    write_xpt,
    xpt_file_name,
)

NUMBERS = [0.0, -0.0, 1.0, -1.0, 0.1, -2.5, 3.0, 42.0, 123456789.0, 2.0 ** 53, 1e-70, -1e-70,
           6e-79, 1e70, -1e70, 7.2e75, -7.2e75, math.pi, np.nan, 1 / 3]


def _frame(n: int = len(NUMBERS)) -> pd.DataFrame:
    texts = ["", "A", "hello world", "x" * 200, "  leading", "MiXeD 123 !?"]
    return pd.DataFrame({
        "STUDYID": ["STUDY-1"] * n,
        "USUBJID": [f"SUBJ-{i:03d}" for i in range(n)],
        "VAL": NUMBERS[:n],
        "TXT": [texts[i % len(texts)] for i in range(n)],
        "SEQ": pd.array(list(range(1, n)) + [None], dtype="Int64"),
        "EMPTY": [None] * n,
    })


META = XptDataset("TT", "Test Dataset", (
    XptVariable("STUDYID", "Study Identifier", "Char"),
    XptVariable("USUBJID", "Unique Subject Identifier", "Char", length=20),
    XptVariable("VAL", "A Number", "Num", display_format="BEST12."),
    XptVariable("TXT", "Some Text", "Char"),
    XptVariable("SEQ", "Sequence Number", "Num"),
    XptVariable("EMPTY", "Always Empty", "Char"),
))


def _expected_numbers(values) -> np.ndarray:
    x = np.array(values, dtype=float)
    return np.where(np.abs(x) < IBM_MIN, 0.0, x)


def _read_pandas(path: Path) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.read_sas(path, format="xport", encoding="ascii")


def _obs_numbers(path: Path, obs_length: int, offset: int, rows: int) -> np.ndarray:
    data = path.read_bytes()
    start = data.index(b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!") + 80
    block = np.frombuffer(data[start:start + rows * obs_length], dtype=np.uint8).reshape(rows, obs_length)
    return block[:, offset:offset + 8].copy().view(">u8").ravel()


def test_round_trip_pyreadstat_and_pandas(tmp_path):
    frame = _frame()
    result = write_xpt(tmp_path / "tt.xpt", frame, META)
    assert result.rows == len(frame)
    assert result.bytes == (tmp_path / "tt.xpt").stat().st_size
    assert result.bytes % 80 == 0
    assert dict(result.lengths) == {"STUDYID": 7, "USUBJID": 20, "VAL": 8, "TXT": 200, "SEQ": 8, "EMPTY": 1}

    back, meta = read_xpt(tmp_path / "tt.xpt")
    assert meta.name == "TT" and meta.label == "Test Dataset"
    assert [v.name for v in meta.variables] == list(META.names)
    assert [v.label for v in meta.variables] == [v.label for v in META.variables]
    assert [v.type for v in meta.variables] == ["Char", "Char", "Num", "Char", "Num", "Char"]
    assert {v.name: v.length for v in meta.variables} == dict(result.lengths)
    # The format is compared by meaning (name, width, decimals), never by a reader's punctuation:
    # our own NAMESTR bytes first, then what a third-party reader makes of them.
    raw = (tmp_path / "tt.xpt").read_bytes()
    namestr = raw[raw.index(b"VAL     A Number") - 8:][:140]
    assert (namestr[56:64], int.from_bytes(namestr[64:66], "big"), int.from_bytes(namestr[66:68], "big")) \
        == (b"BEST    ", 12, 0)
    assert meta.variable("VAL").display_format == "BEST12."

    expected = _expected_numbers(NUMBERS)
    np.testing.assert_array_equal(back["VAL"].to_numpy(), expected)        # exact, NaN == NaN
    assert back["SEQ"].tolist()[:-1] == list(range(1, len(NUMBERS)))
    assert math.isnan(back["SEQ"].iloc[-1])
    assert back["TXT"].tolist() == frame["TXT"].tolist()
    assert back["EMPTY"].tolist() == [""] * len(frame)
    assert back["USUBJID"].tolist() == frame["USUBJID"].tolist()

    other = _read_pandas(tmp_path / "tt.xpt")
    assert list(other.columns) == list(META.names)
    # pandas decodes IBM zero as 16**-65 (5.4e-79): its converter has no zero special case
    pandas_values = other["VAL"].to_numpy()
    pandas_values = np.where(np.abs(pandas_values) <= IBM_MIN, 0.0, pandas_values)
    np.testing.assert_array_equal(pandas_values, expected)
    assert other["TXT"].tolist() == frame["TXT"].tolist()
    assert other["USUBJID"].tolist() == frame["USUBJID"].tolist()


def test_negative_zero_is_all_zero_bytes_like_pyreadstat():
    assert ieee_to_ibm(np.array([-0.0, 0.0])).tobytes() == b"\x00" * 16
    assert ieee_to_ibm(np.array([np.nan])).tobytes() == b".\x00\x00\x00\x00\x00\x00\x00"
    assert ieee_to_ibm(np.array([1.0])).tobytes() == bytes.fromhex("4110000000000000")
    assert ieee_to_ibm(np.array([-118.625])).tobytes() == bytes.fromhex("C276A00000000000")


def test_numeric_bytes_agree_with_pyreadstat(tmp_path):
    rng = np.random.default_rng(7)
    values = np.concatenate([
        [0.0, -0.0, 1.0, -1.0, 0.1, math.pi, 2.0 ** 53 + 2, 1e-78, 1e-80, 5e-324, 1e70, -1e70, np.nan],
        rng.standard_normal(2000) * 10.0 ** rng.integers(-75, 70, 2000),
    ])
    frame = pd.DataFrame({"X": values, "C": ["abcdefghij"] * len(values)})
    meta = XptDataset("NUMS", "Numbers", (XptVariable("X", "x", "Num"), XptVariable("C", "c", "Char")))
    write_xpt(tmp_path / "mine.xpt", frame, meta)
    pyreadstat.write_xport(frame, str(tmp_path / "theirs.xpt"), file_format_version=5, table_name="NUMS")
    mine = _obs_numbers(tmp_path / "mine.xpt", 18, 0, len(values))
    theirs = _obs_numbers(tmp_path / "theirs.xpt", 18, 0, len(values))
    np.testing.assert_array_equal(mine, theirs)


def test_two_writes_are_byte_identical(tmp_path):
    frame = _frame()
    write_xpt(tmp_path / "a.xpt", frame, META)
    write_xpt(tmp_path / "b.xpt", frame, META, chunk_rows=3)     # chunking does not change bytes
    assert (tmp_path / "a.xpt").read_bytes() == (tmp_path / "b.xpt").read_bytes()
    data = (tmp_path / "a.xpt").read_bytes()
    assert b"01JAN00:00:00:00" in data[:240]
    write_xpt(tmp_path / "c.xpt", frame, META, created=datetime(2024, 3, 5, 14, 7, 9))
    assert b"05MAR24:14:07:09" in (tmp_path / "c.xpt").read_bytes()[:240]


def test_header_layout(tmp_path):
    write_xpt(tmp_path / "tt.xpt", _frame(), META)
    data = (tmp_path / "tt.xpt").read_bytes()
    records = [data[i:i + 80] for i in range(0, 640, 80)]
    assert records[0].startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!")
    assert records[3] == b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!000000000000000001600000000140  "
    assert records[5][8:16] == b"TT      "
    assert records[6][32:72] == b"Test Dataset".ljust(40)
    assert records[7] == b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!000000000600000000000000000000  "
    namestr_end = 640 + 6 * 140
    obs_header = -(-namestr_end // 80) * 80
    assert data[obs_header:obs_header + 48] == b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"
    assert data[namestr_end:obs_header] == b" " * (obs_header - namestr_end)
    assert data.endswith(b" ") or len(data) % 80 == 0


def test_beyond_ibm_range_is_refused_not_garbage(tmp_path):
    frame = pd.DataFrame({"X": [1.0, 1e300, -np.inf]})
    meta = XptDataset("BIG", "Big", (XptVariable("X", "x", "Num"),))
    with pytest.raises(OutputError) as caught:
        write_xpt(tmp_path / "big.xpt", frame, meta)
    assert {f.code for f in caught.value.findings} == {"XPT-NUM-RANGE"}
    assert [f.row for f in caught.value.findings] == [2, 3]
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OutputError):
        ieee_to_ibm(np.array([16.0 ** 63]))
    assert ieee_to_ibm(np.array([np.nextafter(16.0 ** 63, 0)])).tobytes() == b"\x7f" + b"\xff" * 6 + b"\xf8"


def test_failed_write_leaves_nothing(tmp_path):
    frame = pd.DataFrame({"C": ["ok", "caf\u00e9"]})
    meta = XptDataset("BAD", "Bad", (XptVariable("C", "c", "Char"),))
    with pytest.raises(OutputError) as caught:
        write_xpt(tmp_path / "bad.xpt", frame, meta)
    assert caught.value.findings[0].code == "XPT-NON-ASCII"
    with pytest.raises(OutputError):
        write_xpt(tmp_path / "bad.xpt", frame, meta, check=False)
    short = XptDataset("BAD", "Bad", (XptVariable("C", "c", "Char", length=1),))
    with pytest.raises(OutputError):                     # never truncates, even unchecked
        write_xpt(tmp_path / "bad.xpt", pd.DataFrame({"C": ["ok"]}), short, check=False)
    labelled = XptDataset("BAD", "Caf\u00e9", (XptVariable("C", "c", "Char"),))
    with pytest.raises(OutputError):
        write_xpt(tmp_path / "bad.xpt", pd.DataFrame({"C": ["ok"]}), labelled, check=False)
    assert list(tmp_path.iterdir()) == []


def test_file_names_and_path_escapes(tmp_path):
    assert xpt_file_name("DM") == "dm.xpt"
    assert xpt_file_name("SUPPQUAL") == "suppqual.xpt"
    for bad in ("../DM", "dm", "TOOLONGNAME", "D/M", "", "1DM"):
        with pytest.raises(OutputError):
            xpt_file_name(bad)
    frame = pd.DataFrame({"A": ["x"]})
    meta = XptDataset("../EVIL", "Evil", (XptVariable("A", "a", "Char"),))
    with pytest.raises(OutputError):
        write_xpt(tmp_path / "x.xpt", frame, meta, check=False)
    assert list(tmp_path.iterdir()) == []


def test_zero_rows(tmp_path):
    frame = pd.DataFrame({"A": pd.Series([], dtype=object), "N": pd.Series([], dtype=float)})
    meta = XptDataset("EMPTY", "Empty", (XptVariable("A", "a", "Char"), XptVariable("N", "n", "Num")))
    result = write_xpt(tmp_path / "empty.xpt", frame, meta)
    assert result.rows == 0 and result.lengths["A"] == 1
    back, read_meta = read_xpt(tmp_path / "empty.xpt")
    assert len(back) == 0 and read_meta.names == ("A", "N")


def test_split_on_tiny_threshold(tmp_path):
    n = 500
    frame = pd.DataFrame({"USUBJID": [f"S{i:04d}" for i in range(n)], "X": np.arange(n) / 7})
    meta = XptDataset("LB", "Laboratory", (XptVariable("USUBJID", "Subject", "Char"), XptVariable("X", "x", "Num")))
    full = tmp_path / "lb.xpt"
    assert split_dataset(full, frame, meta, max_bytes=10 ** 9) == []
    max_bytes = 2000
    parts = split_dataset(full, frame, meta, max_bytes=max_bytes)
    assert full.exists() and full.stat().st_size > max_bytes
    assert [p.name for p in parts] == [f"lb{i}.xpt" for i in range(1, len(parts) + 1)]
    assert all(p.parent == tmp_path / "split" for p in parts)
    assert len(parts) > 2
    pieces = []
    for part in parts:
        assert part.stat().st_size <= max_bytes
        data, part_meta = read_xpt(part)
        assert part_meta.name == "LB" and part_meta.label == "Laboratory"
        assert {v.name: v.length for v in part_meta.variables} == {"USUBJID": 5, "X": 8}
        pieces.append(data)
    joined = pd.concat(pieces, ignore_index=True)
    whole, _ = read_xpt(full)
    pd.testing.assert_frame_equal(joined, whole)
    assert joined["X"].tolist() == frame["X"].tolist()
    with pytest.raises(OutputError):
        split_dataset(tmp_path / "again.xpt", frame, meta, max_bytes=100)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    numbers=st.lists(st.one_of(st.none(), st.floats(min_value=-7.2e75, max_value=7.2e75, allow_nan=False)),
                     min_size=1, max_size=20),
    texts=st.lists(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
                   .map(str.rstrip), min_size=1, max_size=20),
)
def test_property_round_trip(tmp_path, numbers, texts):
    n = min(len(numbers), len(texts))
    numbers, texts = numbers[:n], texts[:n]
    frame = pd.DataFrame({"N": pd.Series([np.nan if v is None else v for v in numbers], dtype=float),
                          "T": pd.Series(texts, dtype=object)})
    meta = XptDataset("PROP", "Property", (XptVariable("N", "n", "Num"), XptVariable("T", "t", "Char")))
    path = tmp_path / "prop.xpt"
    write_xpt(path, frame, meta)
    back, _ = pyreadstat.read_xport(str(path))
    np.testing.assert_array_equal(back["N"].to_numpy(), _expected_numbers(frame["N"]))
    assert back["T"].tolist() == texts


@pytest.mark.parametrize("given, canonical", [
    ("BEST12", "BEST12."), ("BEST12.", "BEST12."), ("date9", "DATE9."), ("8.2", "8.2"), ("8.", "8."),
    ("E8601DA", "E8601DA."), ("$CHAR20.", "$CHAR20."), ("YYMMDD10", "YYMMDD10."), ("", None), (None, None),
])
def test_display_format_spelling_does_not_depend_on_the_reader(given, canonical):
    from cdisc_dpn.xpt.metadata import canonical_display_format
    assert canonical_display_format(given) == canonical


def test_repeated_texts_are_written_byte_for_byte_like_distinct_ones(tmp_path):
    # character columns are encoded once per distinct value and copied to the rows (chunks of 20,000
    # rows); the bytes must be those of the row-by-row layout: each value blank-padded to the length
    from cdisc_dpn.xpt.writer import coded_columns

    rows = 45_007
    texts = ["", "A", None, "hello", "x" * 30, float("nan"), " lead"]
    frame = pd.DataFrame({"T": pd.Series([texts[i % len(texts)] for i in range(rows)], dtype=object),
                          "U": [f"S-{i}" for i in range(rows)]})
    meta = XptDataset("REP", "Repeated", (XptVariable("T", "t", "Char"), XptVariable("U", "u", "Char")))
    result = write_xpt(tmp_path / "a.xpt", frame, meta)
    shared = write_xpt(tmp_path / "b.xpt", frame, meta, coded=coded_columns(frame, meta))
    assert (tmp_path / "a.xpt").read_bytes() == (tmp_path / "b.xpt").read_bytes()
    assert result.lengths == {"T": 30, "U": len(f"S-{rows - 1}")}
    data = (tmp_path / "a.xpt").read_bytes()
    width = 30 + result.lengths["U"]
    start = data.index(b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!000000000000000000000000000000  ") + 80
    for i in (0, 1, 2, 4, 5, 6, 19_999, 20_000, rows - 1):
        value = texts[i % len(texts)]
        text = "" if value is None or value != value else value
        expected = text.ljust(30).encode() + f"S-{i}".ljust(result.lengths["U"]).encode()
        assert data[start + i * width:start + (i + 1) * width] == expected, i
    back, _ = pyreadstat.read_xport(str(tmp_path / "a.xpt"))
    assert back["U"].tolist()[-3:] == [f"S-{i}" for i in range(rows - 3, rows)]
