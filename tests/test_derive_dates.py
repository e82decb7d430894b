"""EDC dates to ISO 8601: partial dates stay partial, impossible dates are refused, no day 0."""
from datetime import date, timedelta

import pytest
from hypothesis import given, strategies as st

from cdisc_dpn.derive.dates import combine_datetime, is_iso8601, parse_date, parse_time, study_day

FORMATS = ("DD/MM/YYYY", "DD-MON-YYYY", "YYYY-MM-DD")


@pytest.mark.parametrize("text, iso", [
    ("05/03/2026", "2026-03-05"),
    ("05-MAR-2026", "2026-03-05"),
    ("05-mar-2026", "2026-03-05"),
    ("2026-03-05", "2026-03-05"),
    ("UN/03/2026", "2026-03"),
    ("UN-MAR-2026", "2026-03"),
    ("UN/UN/2026", "2026"),
    ("15/UN/2026", "2026"),          # a known day in an unknown month cannot be said in ISO 8601
    ("UN-UNK-2026", "2026"),
    (" 05/03/2026 ", "2026-03-05"),
    ("", ""),
])
def test_parse_date_keeps_partial_dates_partial(text, iso):
    parsed = parse_date(text, FORMATS)
    assert parsed.iso == iso
    assert parsed.problem == ""


@pytest.mark.parametrize("text", ["30/02/2026", "31/31/2026", "2026-02-30", "00/01/2026", "32-JAN-2026",
                                  "05/13/2026", "yesterday", "2026/03/05", "UN/UN/UNKN"])
def test_parse_date_refuses_impossible_or_unknown_text(text):
    parsed = parse_date(text, FORMATS)
    assert parsed.iso == ""
    assert parsed.problem


def test_leap_day_only_in_leap_years():
    assert parse_date("29/02/2024", FORMATS).iso == "2024-02-29"
    assert parse_date("29/02/2025", FORMATS).problem


@pytest.mark.parametrize("event, ref, day", [
    ("2026-03-05", "2026-03-05", 1), ("2026-03-06", "2026-03-05", 2), ("2026-03-04", "2026-03-05", -1),
    ("2026-03-05T10:00", "2026-03-05T08:00", 1), ("2026-03", "2026-03-05", None), ("2026-03-05", "", None),
])
def test_study_day_has_no_day_zero_and_needs_complete_dates(event, ref, day):
    assert study_day(event, ref) == day


def test_time_only_on_complete_dates():
    assert combine_datetime("2026-03-05", "09:30") == "2026-03-05T09:30"
    assert combine_datetime("2026-03", "09:30") == "2026-03"
    assert parse_time("9:05") == ("09:05", "")
    assert parse_time("25:00")[1]


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
def test_any_real_date_round_trips_through_every_format(d):
    months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    for text in (d.strftime("%d/%m/%Y"), f"{d.day:02d}-{months[d.month - 1]}-{d.year}", d.isoformat()):
        parsed = parse_date(text, FORMATS)
        assert parsed.iso == d.isoformat()
        assert is_iso8601(parsed.iso)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
       st.sampled_from(["day", "month"]))
def test_unknown_parts_give_iso_prefix(d, unknown):
    text = f"UN/{d.month:02d}/{d.year}" if unknown == "day" else f"UN/UN/{d.year}"
    parsed = parse_date(text, FORMATS)
    assert d.isoformat().startswith(parsed.iso)
    assert len(parsed.iso) == (7 if unknown == "day" else 4)


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2080, 1, 1)), st.integers(-2000, 2000))
def test_study_day_is_never_zero_and_counts_days(ref, offset):
    event = ref + timedelta(days=offset)
    day = study_day(event.isoformat(), ref.isoformat())
    assert day != 0
    assert day == (offset + 1 if offset >= 0 else offset)


@given(st.text(max_size=12))
def test_parser_never_raises(text):
    parsed = parse_date(text, FORMATS)
    assert parsed.iso == "" or is_iso8601(parsed.iso)
