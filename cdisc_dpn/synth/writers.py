"""Byte-reproducible writers for the three raw export formats: CSV (Excel style), XLSX, SAS XPT v5.

The XLSX writer is hand-rolled (a minimal SpreadsheetML package) because openpyxl needs ~10 s per
100,000 rows, which does not scale to 14,000 subjects; it fixes every timestamp so the bytes only
depend on the data. openpyxl and pandas read the result.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd
import pyreadstat

from .reference import FILE_TIMESTAMP

XLSX_MAX_ROWS = 1_048_576


def write_csv(frame: pd.DataFrame, path: Path) -> int:
    """UTF-8 with BOM and CRLF line ends, every value already a string: what Excel 'CSV UTF-8' saves."""
    frame.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return len(frame)


def write_xpt(frame: pd.DataFrame, path: Path, table_name: str, labels: list[str], file_label: str,
              formats: dict[str, str]) -> int:
    """SAS transport v5 with the header timestamps replaced by a constant."""
    pyreadstat.write_xport(frame, str(path), file_format_version=5, table_name=table_name,
                           column_labels=labels, file_label=file_label, variable_format=formats)
    data = path.read_bytes()
    end = data.find(b"HEADER RECORD*******OBS")
    stamp = "{:02d}{}{:02d}:{:02d}:{:02d}:{:02d}".format(
        FILE_TIMESTAMP[2], ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
                            "DEC")[FILE_TIMESTAMP[1] - 1], FILE_TIMESTAMP[0] % 100, *FILE_TIMESTAMP[3:])
    header = re.sub(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d", stamp.encode("ascii"), data[:end])
    path.write_bytes(header + data[end:])
    return len(frame)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _cell_body(value) -> str:
    """A cell's XML after '<c r="A1"'; '' for an empty cell (not written)."""
    if value is None or value == "":
        return ""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"><v>{value!r}</v></c>"
    return f' t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'


def _sheet_xml(header: list[str], rows: list[tuple]) -> str:
    """Every written cell has its r reference; each distinct value per column is rendered once."""
    letters = [_column_letter(i) for i in range(len(header))]
    columns = list(zip(*rows)) if rows else [() for _ in header]
    rendered = []
    for column in columns:
        cache: dict = {}
        out = []
        for value in column:
            key = (type(value), value)
            text = cache.get(key)
            if text is None:
                text = cache[key] = _cell_body(value)
            out.append(text)
        rendered.append(out)
    parts = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>']
    for number, cells in enumerate([tuple(_cell_body(name) for name in header)] + list(zip(*rendered)), start=1):
        parts.append(f'<row r="{number}">')
        parts.extend(f'<c r="{letter}{number}"{body}' for letter, body in zip(letters, cells) if body)
        parts.append("</row>")
    parts.append("</sheetData></worksheet>")
    return "".join(parts)


def write_xlsx(path: Path, sheet_title: str, header: list[str], rows: list[tuple], title: str) -> int:
    """One worksheet (continued on '<title> (2)'... past Excel's row limit); numbers stay numbers."""
    per_sheet = XLSX_MAX_ROWS - 1
    chunks = [rows[i:i + per_sheet] for i in range(0, max(len(rows), 1), per_sheet)]
    names = [sheet_title if i == 0 else f"{sheet_title} ({i + 1})" for i in range(len(chunks))]
    stamp = "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format(*FILE_TIMESTAMP)
    ns_main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    ns_rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    ns_pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    files = {
        "[Content_Types].xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.styles+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="application/'
                      f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(len(names)))
            + '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.'
              'core-properties+xml"/></Types>',
        "_rels/.rels":
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{ns_pkg}">'
            f'<Relationship Id="rId1" Type="{ns_rel}/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/'
            'metadata/core-properties" Target="docProps/core.xml"/></Relationships>',
        "docProps/core.xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f'<dc:title>{escape(title)}</dc:title><dc:creator>EDC export</dc:creator>'
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>',
        "xl/workbook.xml":
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{ns_main}" '
            f'xmlns:r="{ns_rel}"><sheets>'
            + "".join(f'<sheet name="{escape(name)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>'
                      for i, name in enumerate(names))
            + "</sheets></workbook>",
        "xl/_rels/workbook.xml.rels":
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{ns_pkg}">'
            + "".join(f'<Relationship Id="rId{i + 1}" Type="{ns_rel}/worksheet" '
                      f'Target="worksheets/sheet{i + 1}.xml"/>' for i in range(len(names)))
            + f'<Relationship Id="rId{len(names) + 1}" Type="{ns_rel}/styles" Target="styles.xml"/>'
              "</Relationships>",
        "xl/styles.xml":
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{ns_main}">'
            '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            '</styleSheet>',
    }
    for i, chunk in enumerate(chunks):
        files[f"xl/worksheets/sheet{i + 1}.xml"] = _sheet_xml(header, chunk)
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=FILE_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, text.encode("utf-8"), compresslevel=1)
    return len(rows)
