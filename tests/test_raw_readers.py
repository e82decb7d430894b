"""Raw readers: rows remember file and row; unusable files give InputError naming file, row, fix."""

import pandas as pd
import pyreadstat
import pytest

from cdisc_dpn.errors import InputError
from cdisc_dpn.raw.readers import read_form
from cdisc_dpn.raw.table import SOURCE_FILE, SOURCE_ROW
from cdisc_dpn.spec.model import FormSpec


def form(name="dm", file="dm.csv", fmt="csv", required=(), encoding="utf-8-sig", sheet=None):
    return FormSpec(name=name, file=file, format=fmt, encoding=encoding, required_columns=tuple(required),
                    sheet=sheet)


def failure(tmp_path, spec) -> InputError:
    with pytest.raises(InputError) as info:
        read_form(tmp_path, spec)
    return info.value


def test_csv_with_bom_keeps_text_and_row_numbers(tmp_path):
    (tmp_path / "dm.csv").write_bytes("\ufeffSUBJECT,SEX,NOTE\r\n03-001,Male ,µg\r\n03-002,F,\r\n".encode("utf-8"))
    table = read_form(tmp_path, form())
    assert list(table.data_columns) == ["SUBJECT", "SEX", "NOTE"]
    assert table.frame["SEX"].tolist() == ["Male ", "F"]          # nothing reinterpreted
    assert table.frame["NOTE"].tolist() == ["µg", ""]
    assert table.frame[SOURCE_ROW].tolist() == [2, 3]
    assert set(table.frame[SOURCE_FILE]) == {"dm.csv"}


def test_missing_file_names_the_form(tmp_path):
    err = failure(tmp_path, form())
    assert err.findings[0].code == "READ-MISSING"
    assert "dm.csv" in err.findings[0].message


def test_empty_file(tmp_path):
    (tmp_path / "dm.csv").write_bytes(b"")
    assert failure(tmp_path, form()).findings[0].code == "READ-EMPTY"


def test_binary_file_saved_as_csv(tmp_path):
    (tmp_path / "dm.csv").write_bytes(b"\x00\x01\x02binary\x00" * 20)
    assert failure(tmp_path, form()).findings[0].code == "READ-NOT-TEXT"


def test_html_saved_as_csv(tmp_path):
    (tmp_path / "dm.csv").write_text("<!DOCTYPE html><html><body>Login</body></html>")
    err = failure(tmp_path, form())
    assert err.findings[0].code == "READ-NOT-CSV"
    assert "HTML" in err.findings[0].message


def test_wrong_encoding_names_the_line_and_the_likely_codec(tmp_path):
    (tmp_path / "dm.csv").write_bytes("SUBJECT,TERM\n03-001,ok\n03-002,感冒\n".encode("gbk"))
    finding = failure(tmp_path, form()).findings[0]
    assert finding.code == "READ-ENCODING"
    assert finding.source_row == 3
    assert "gb18030" in finding.message


def test_latin1_file(tmp_path):
    (tmp_path / "dm.csv").write_bytes("SUBJECT,TERM\n03-001,caf\xe9\n".encode("latin-1"))
    finding = failure(tmp_path, form()).findings[0]
    assert finding.code == "READ-ENCODING" and finding.source_row == 2


def test_declared_encoding_is_used(tmp_path):
    (tmp_path / "dm.csv").write_bytes("SUBJECT,TERM\n03-001,头痛\n".encode("gbk"))
    table = read_form(tmp_path, form(encoding="gb18030"))
    assert table.frame["TERM"].tolist() == ["头痛"]


def test_missing_required_column_lists_what_is_there(tmp_path):
    (tmp_path / "dm.csv").write_text("SUBJECT,SEXX\n03-001,M\n")
    finding = failure(tmp_path, form(required=["SUBJECT", "SEX"])).findings[0]
    assert finding.code == "READ-MISSING-COLUMN"
    assert finding.column == "SEX"
    assert "SEXX" in finding.fix


def test_decimal_comma_breaking_row_width(tmp_path):
    (tmp_path / "dm.csv").write_text("SUBJECT,WEIGHT\n03-001,70,5\n")
    finding = failure(tmp_path, form()).findings[0]
    assert finding.code == "READ-WIDTH" and finding.source_row == 2


def test_duplicate_header(tmp_path):
    (tmp_path / "dm.csv").write_text("SUBJECT,SUBJECT\n03-001,03-001\n")
    assert failure(tmp_path, form()).findings[0].code == "READ-HEADER"


def test_xlsx_values_as_text(tmp_path):
    pd.DataFrame({"SUBJECT": ["03-001", "03-002"], "RESULT": [5.0, 6.25], "FLAG": ["<0.5", None]}).to_excel(
        tmp_path / "lab.xlsx", index=False)
    table = read_form(tmp_path, form("lab", "lab.xlsx", "xlsx"))
    assert table.frame["RESULT"].tolist() == ["5", "6.25"]
    assert table.frame["FLAG"].tolist() == ["<0.5", ""]
    assert table.frame[SOURCE_ROW].tolist() == [2, 3]


def test_truncated_xlsx(tmp_path):
    pd.DataFrame({"A": range(50)}).to_excel(tmp_path / "lab.xlsx", index=False)
    data = (tmp_path / "lab.xlsx").read_bytes()
    (tmp_path / "lab.xlsx").write_bytes(data[: len(data) // 2])
    assert failure(tmp_path, form("lab", "lab.xlsx", "xlsx")).findings[0].code == "READ-XLSX"


def test_xpt_form(tmp_path):
    pyreadstat.write_xport(pd.DataFrame({"SUBJECT": ["03-001"], "DOSE": [1.5]}), str(tmp_path / "rand.xpt"),
                           table_name="RAND", file_format_version=5)
    table = read_form(tmp_path, form("rand", "rand.xpt", "xpt"))
    assert table.frame["DOSE"].tolist() == ["1.5"]


def test_broken_xpt(tmp_path):
    (tmp_path / "rand.xpt").write_bytes(b"HEADER RECORD*******" + b"x" * 100)
    assert failure(tmp_path, form("rand", "rand.xpt", "xpt")).findings[0].code == "READ-SAS"


def test_odm_clinical_data_without_external_entities(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    (tmp_path / "odm.xml").write_text(f"""<?xml version="1.0"?>
<!DOCTYPE ODM [<!ENTITY xxe SYSTEM "file://{secret}">]>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"><ClinicalData StudyOID="S" MetaDataVersionOID="v1">
<SubjectData SubjectKey="03-001"><StudyEventData StudyEventOID="SCR"><FormData FormOID="DM">
<ItemGroupData ItemGroupOID="IG"><ItemData ItemOID="SEX" Value="M"/><ItemData ItemOID="NOTE" Value="&amp;xxe;"/>
</ItemGroupData></FormData></StudyEventData></SubjectData></ClinicalData></ODM>""")
    table = read_form(tmp_path, form("DM", "odm.xml", "odm"))
    assert table.frame["SUBJECT"].tolist() == ["03-001"]
    assert table.frame["SEX"].tolist() == ["M"]
    assert "TOP-SECRET" not in table.frame.to_csv()


def test_path_cannot_escape_the_raw_folder(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "dm.csv").write_text("A\n1\n")
    assert failure(tmp_path / "raw", form(file="../dm.csv")).findings[0].code == "READ-PATH"


def test_xlsx_cleaned_by_column_keeps_rows_blanks_and_numbers(tmp_path):
    # cells become text column by column: blank rows (empty or blank-only cells) are skipped and
    # reported with their row numbers, trailing formatted-empty rows dropped, cells beyond the
    # header ignored, repeated numbers converted alike, dates as ISO 8601
    import datetime

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Lab export"])                                   # a title line above the header
    ws.append(["SUBJECT", "RESULT", "DATE", None])
    ws.append(["03-001", 5.0, datetime.datetime(2024, 5, 1), "beyond header"])
    ws.append([None, None, None])
    ws.append(["03-002", 6.25, datetime.datetime(2024, 5, 2, 8, 30)])
    ws.append(["  ", " ", None])
    ws.append(["03-003", 5.0, "2024-05-03"])
    ws.append([None, None, None])
    wb.save(tmp_path / "lab.xlsx")
    spec = FormSpec(name="lab", file="lab.xlsx", format="xlsx", header_row=2)
    table = read_form(tmp_path, spec)
    assert table.data_columns == ["SUBJECT", "RESULT", "DATE"]
    assert table.frame["SUBJECT"].tolist() == ["03-001", "03-002", "03-003"]
    assert table.frame["RESULT"].tolist() == ["5", "6.25", "5"]
    assert table.frame["DATE"].tolist() == ["2024-05-01", "2024-05-02T08:30:00", "2024-05-03"]
    assert table.frame[SOURCE_ROW].tolist() == [3, 5, 7]
    assert [(n.code, n.source_row or n.row) for n in table.notices] == [("READ-BLANK-LINES", 4)]
    assert "row(s) 4, 6" in table.notices[0].message


def test_xlsx_header_only_gives_no_rows(tmp_path):
    pd.DataFrame({"SUBJECT": [], "RESULT": []}).to_excel(tmp_path / "lab.xlsx", index=False)
    table = read_form(tmp_path, form("lab", "lab.xlsx", "xlsx"))
    assert table.data_columns == ["SUBJECT", "RESULT"] and len(table) == 0


_CSV_TEXTS = [
    "SUBJECT,SEX,NOTE\r\n03-001,Male ,µg\r\n03-002,F,\r\n",            # plain, CRLF
    "SUBJECT,SEX\n03-001,M\n03-002,F",                                  # no final line end
    "SUBJECT,SEX\n03-001,M\n\n03-002,F\n",                              # blank line
    "SUBJECT,SEX\n03-001,M\n , \n03-002,F\n",                           # blank-only cells
    "SUBJECT,SEX\n03-001\n03-002,F\n",                                  # short row
    "SUBJECT,SEX\n03-001,M,\n03-002,F, \n",                             # blank cells beyond the header
    "SUBJECT,SEX\n03-001,M,extra\n",                                    # a value beyond the header
    "SUBJECT,SEX\r03-001,M\r03-002,F\r",                                # old Mac line ends
    'SUBJECT,NOTE\n03-001,"a, b"\n03-002,"two\nlines"\n03-003,x\n',     # quoted cells
    "SUBJECT,SEX\n03-001,N/A\n03-002,NA\n03-003,null\n",                # text that pandas would call missing
    "SUBJECT\n03-001\n03-002\n",                                        # one column
    "SUBJECT,SUBJECT\n03-001,03-001\n",                                 # duplicate header
    "SUBJECT;SEX\n03-001;M\n",                                          # another delimiter
    "SUBJECT,SEX\n",                                                    # header only
    "SUBJECT,\n03-001,M\n",                                             # unnamed column
    "SUBJECT,SEX\n03-001,M\x00\n",                                      # NUL
    "\ufeffSUBJECT,SEX\n03-001,M\n",                                    # a second byte-order mark
]


@pytest.mark.parametrize("text", _CSV_TEXTS)
def test_csv_fast_path_reads_as_the_careful_reader(tmp_path, monkeypatch, text):
    # plain files go through pandas' C tokenizer; the result (values, row numbers, notices, or the
    # precise error) must be the careful csv-module reader's, which reads everything else
    from cdisc_dpn.raw import readers

    (tmp_path / "dm.csv").write_bytes(text.encode("utf-8"))
    spec = form(encoding="utf-8")

    def outcome():
        try:
            table = read_form(tmp_path, spec)
        except InputError as exc:
            return "error", [(f.code, f.message, f.source_row, f.column) for f in exc.findings]
        return ("table", table.frame.to_dict("list"), [str(c) for c in table.frame.dtypes],
                [(n.code, n.message, n.source_row) for n in table.notices])

    fast = outcome()
    monkeypatch.setattr(readers, "_plain_csv", lambda text, delimiter: None)
    assert fast == outcome()
