"""Rewrite the standard RELEASE-DPN raw exports as another EDC would deliver them (deterministic).

    python examples/other-edc/make_layout.py STANDARD_RAW_DIR OUT_DIR

STANDARD_RAW_DIR is what `cdisc-dpn synth` writes. The other layout differs in what an EDC change
brings: file names, column names (Subject, SiteNumber, InstanceName, *_RAW dates), dates written
"05 JAN 2026" with unknown parts "UN UNK 2026", yes/no answers as 1/0, coded items delivered as a
decode column plus a *_STD code column, vital signs as a SAS transport file with formats (numbers,
DATE9., TIME5.), medical history as an XLSX workbook. The values are the same, so
examples/other-edc/mappings converts them to the same SDTM datasets as mappings/ does.
Study-specific on purpose: it lives under examples/, never in cdisc_dpn/.
"""
from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import pandas as pd
import pyreadstat
from python_calamine import CalamineWorkbook

from cdisc_dpn.raw.cells import cell_text   # the text the engine reads from a spreadsheet cell

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
FILES = {  # standard file -> file in the other layout
    "dm.csv": "RDPN_DM.csv", "ic.csv": "RDPN_IC.csv", "rand.xpt": "RDPN_RAND.xpt", "ie.csv": "RDPN_IE.csv",
    "mh.csv": "RDPN_MH.xlsx", "dh.csv": "RDPN_DH.csv", "vs.csv": "RDPN_VS.xpt", "lab.xlsx": "RDPN_LAB_WIDE.csv",
    "tcss.csv": "RDPN_TCSS.csv", "ncs.csv": "RDPN_NCS.csv", "exmsc.csv": "RDPN_EXMSC.csv",
    "excon.csv": "RDPN_EXCON.csv", "cm.csv": "RDPN_CM.csv", "ae.csv": "RDPN_AE.csv", "ds.csv": "RDPN_DS.csv",
    "sv.csv": "RDPN_SV.csv",
}
RENAMES = {"STUDY": "StudyOID", "SITE": "SiteNumber", "SUBJECT": "Subject", "VISIT": "InstanceName"}
SAS_RENAMES = {"STUDY": "STUDYID", "SITE": "SITENO", "SUBJECT": "SUBJID", "VISIT": "FOLDER"}
# Lab wide: one row per sample (subject, visit, date, time, laboratory), columns per test.
LAB_KEYS = ("STUDY", "SITE", "SUBJECT", "VISIT", "LBDAT", "LBTIM", "LABNAME")
LAB_TESTS = {  # the test names sites print -> the column prefix of the wide layout
    "HbA1c": "HBA1C", "Glycated haemoglobin": "HBA1C", "Fasting glucose": "GLUC", "FPG": "GLUC",
    "Neutrophils": "NEUT", "NEUT#": "NEUT", "Platelets": "PLAT", "PLT": "PLAT", "Haemoglobin": "HGB", "HGB": "HGB",
    "ALT": "ALT", "Alanine aminotransferase": "ALT", "AST": "AST", "Aspartate aminotransferase": "AST",
    "Total bilirubin": "BILI", "TBIL": "BILI", "Creatinine": "CREAT", "CREA": "CREAT", "eGFR": "EGFR",
    "eGFR (MDRD)": "EGFR", "Creatine kinase": "CK", "CK": "CK", "Pregnancy test": "HCG", "hCG": "HCG",
}
LAB_ITEM = {"LBTEST": "TEST", "LBORRES": "RES", "LBORRESU": "UNIT", "LBORNRLO": "LO", "LBORNRHI": "HI",
            "LBSPEC": "SPEC", "LBSTAT": "STAT", "LBREASND": "REASND", "LBFAST": "FAST"}
CODED = ("SEX", "RACE", "ETHNIC", "AESEV", "AEOUT", "CMROUTE")   # decode kept, a *_STD code column added
YES = {"YES", "Y"}
NO = {"NO", "N"}


def _dictionary(raw: Path) -> dict[str, dict[str, str]]:
    """file -> column -> kind ("date", "yesno") from the data dictionary the synthetic study ships."""
    kinds: dict[str, dict[str, str]] = {}
    with (raw / "data_dictionary.csv").open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["type"] == "date":
                kinds.setdefault(row["file"], {})[row["column"]] = "date"
            elif row["format_or_values"].startswith("Yes/No"):
                kinds.setdefault(row["file"], {})[row["column"]] = "yesno"
    return kinds


def edc_date(text: str) -> str:
    """DD/MM/YYYY or DD-MON-YYYY (unknown parts UN) -> 'DD MON YYYY' with 'UN' day, 'UNK' month."""
    text = text.strip()
    if not text:
        return ""
    day, month, year = re.split(r"[/-]", text)
    if month.upper() in MONTHS:
        mon = month.upper()
    elif month.isdigit():
        mon = MONTHS[int(month) - 1]
    else:
        mon = "UNK"
    return f"{day.upper() if day.isdigit() else 'UN'} {mon} {year}"


def yes_no(text: str) -> str:
    upper = text.strip().upper()
    return "1" if upper in YES else "0" if upper in NO else text


def _coded(frame: pd.DataFrame) -> pd.DataFrame:
    for column in CODED:
        if column in frame.columns:
            codes = {v: str(i) for i, v in enumerate(sorted(v for v in set(frame[column]) if v), start=1)}
            frame.insert(frame.columns.get_loc(column) + 1, f"{column}_STD", frame[column].map(codes).fillna(""))
    return frame


def _convert(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    frame = frame.copy()
    for column, kind in kinds.items():
        if column in frame.columns:
            frame[column] = frame[column].map(edc_date if kind == "date" else yes_no)
    return frame


def _rename(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    return _coded(frame).rename(columns={**RENAMES, **{c: f"{c}_RAW" for c, k in kinds.items() if k == "date"}})


def _lab_wide(long: pd.DataFrame) -> pd.DataFrame:
    """Long lab rows (one per test) -> one row per sample with <TEST>_<ITEM> columns, in first-seen order."""
    keys = [k for k in LAB_KEYS if k in long.columns]
    prefixes = list(dict.fromkeys(LAB_TESTS.values()))
    samples: dict[tuple, dict[str, str]] = {}
    for _, row in long.iterrows():
        sample = samples.setdefault(tuple(row[k] for k in keys), {k: row[k] for k in keys})
        prefix = LAB_TESTS[row["LBTEST"]]
        if f"{prefix}_TEST" in sample:
            raise ValueError(f"test {row['LBTEST']} twice in one sample {sample}")
        for column, item in LAB_ITEM.items():
            if item != "FAST" or prefix == "GLUC":
                sample[f"{prefix}_{item}"] = row[column]
    columns = keys + [f"{p}_{i}" for p in prefixes for c, i in LAB_ITEM.items() if i != "FAST" or p == "GLUC"]
    return pd.DataFrame([[s.get(c, "") for c in columns] for s in samples.values()], columns=columns)


def _decimals(values: pd.Series) -> int | None:
    """Decimals shared by every non-empty value of a numeric text column; None if not numeric or mixed."""
    filled = [v for v in values if v != ""]
    if not filled or not all(re.fullmatch(r"-?\d+(\.\d+)?", v) for v in filled):
        return None
    counts = {len(v.split(".")[1]) if "." in v else 0 for v in filled}
    return counts.pop() if len(counts) == 1 else None


def _write_sas(frame: pd.DataFrame, kinds: dict[str, str], path: Path) -> None:
    """Vital signs as an EDC's SAS export: numbers with w.d formats, DATE9. dates, TIME5. times."""
    out: dict[str, pd.Series] = {}
    formats: dict[str, str] = {}
    for column in frame.columns:
        values = frame[column]
        name = SAS_RENAMES.get(column, column)
        decimals = _decimals(values) if column not in SAS_RENAMES else None   # ids stay text ("03")
        if kinds.get(column) == "date":
            parsed = pd.to_datetime(values, format="%d/%m/%Y", errors="raise")
            out[name] = (parsed - pd.Timestamp("1960-01-01")).dt.days.astype(float)
            formats[name] = "DATE9."
        elif values.str.fullmatch(r"\d{2}:\d{2}|").all() and (values != "").any():
            parts = values.str.split(":", expand=True)
            out[name] = pd.to_numeric(parts[0]) * 3600.0 + pd.to_numeric(parts[1]) * 60.0
            formats[name] = "TIME5."
        elif decimals is not None:
            out[name] = pd.to_numeric(values.replace("", None)).astype(float)
            formats[name] = f"8.{decimals}" if decimals else "8."
        else:
            out[name] = values
    pyreadstat.write_xport(pd.DataFrame(out), str(path), file_format_version=5, table_name="VS",
                           variable_format=formats)


def make_layout(standard: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    kinds = _dictionary(standard)
    for source, target in FILES.items():
        path = standard / source
        if source.endswith(".xpt"):
            (out / target).write_bytes(path.read_bytes())
            continue
        if source.endswith(".xlsx"):
            rows = [[cell_text(v) for v in r] for r in
                    CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False)]
            frame = pd.DataFrame(rows[1:], columns=rows[0], dtype=object)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        if target.endswith(".xpt"):
            _write_sas(frame, {c: k for c, k in kinds.get(source, {}).items() if k == "date"}, out / target)
            continue
        frame = _convert(frame, kinds.get(source, {}))
        if source == "lab.xlsx":
            frame = _lab_wide(frame)
        frame = _rename(frame, kinds.get(source, {}))
        if target.endswith(".xlsx"):
            frame.to_excel(out / target, index=False, sheet_name="Data")
        else:
            frame.to_csv(out / target, index=False, encoding="utf-8", lineterminator="\r\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    make_layout(Path(sys.argv[1]), Path(sys.argv[2]))
