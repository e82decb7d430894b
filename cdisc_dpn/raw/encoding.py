"""Bytes of a text export to str: a byte-order mark wins, else the declared encoding; failures name a codec.

The hint is only for the message: data is never decoded with a guessed codec. Latin text in
Windows-1252 has isolated high bytes ("M\\xe9ni\\xe8re"); Chinese in GB18030/GBK has them in
pairs. GB18030 decodes almost any byte string, so it is named only when the pairs dominate.
"""
from __future__ import annotations

import codecs
import re
from pathlib import Path

from cdisc_dpn.errors import Finding, Severity
from cdisc_dpn.raw.failure import read_error, read_notice
from cdisc_dpn.spec.model import FormSpec

# Longest first: the UTF-32 LE mark begins with the UTF-16 LE mark.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32", "UTF-32 LE"), (codecs.BOM_UTF32_BE, "utf-32", "UTF-32 BE"),
         (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"), (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 LE"),
         (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 BE"))
_HIGH_RUNS = re.compile(rb"[\x80-\xff]+")
_MULTIBYTE_CJK = {"gb18030", "gbk", "gb2312", "big5", "big5hkscs", "cp936", "cp950", "hz"}
_GB18030_FOUR_BYTES = re.compile(rb"[\x81-\xfe][\x30-\x39][\x81-\xfe][\x30-\x39]")


def _family(encoding: str) -> str:
    """utf-8, utf-16 or utf-32 whatever the byte order or BOM handling; other codecs by their own name."""
    name = codecs.lookup(encoding).name
    for family in ("utf-8", "utf-16", "utf-32"):
        if name.startswith(family):
            return family
    return name


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def _utf16_without_bom(data: bytes) -> str | None:
    """Mostly-ASCII UTF-16 has a NUL in every other byte: odd positions (LE) or even ones (BE)."""
    sample = data[:4096]
    half = max(len(sample) // 2, 1)
    if sample[1::2].count(0) > 0.6 * half:
        return "utf-16-le"
    if sample[0::2].count(0) > 0.6 * half:
        return "utf-16-be"
    return None


def likely_codec(data: bytes) -> str | None:
    """The codec a person most likely saved this file in (for a message only)."""
    if _decodes(data, "utf-8"):
        return "utf-8"
    runs = _HIGH_RUNS.findall(_GB18030_FOUR_BYTES.sub(b"\x81\x81", data))
    if not runs:
        return None
    single = sum(1 for r in runs if len(r) % 2)
    if single <= 0.1 * len(runs) and _decodes(data, "gb18030"):
        return "gb18030"
    return "cp1252" if _decodes(data, "cp1252") else "latin-1"


def decode_text(data: bytes, path: Path, form: FormSpec) -> tuple[str, list[Finding]]:
    """The file as text; a BOM decides the encoding (noticed when it contradicts a declared one)."""
    notices: list[Finding] = []
    declared = form.encoding
    try:
        codecs.lookup(declared)
    except LookupError:
        raise read_error("READ-ENCODING", f"unknown encoding {declared!r} declared for this form", path,
                         "use a Python codec name, e.g. utf-8-sig, utf-16, cp1252, gb18030", form=form,
                         value=declared) from None
    encoding = declared
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            encoding = codec
            if declared.lower() not in ("utf-8-sig", "utf-8") and _family(declared) != _family(codec):
                notices.append(read_notice(
                    "READ-ENCODING-BOM", f"the file starts with a {label} byte-order mark; it was read as "
                    f"{label}, not as the declared {declared}", path, f"declare encoding: {codec} (or remove "
                    "the declaration) for this form in study.yaml", form=form))
            break
    else:
        if b"\x00" in data[:4096] and _family(declared) not in ("utf-16", "utf-32"):
            guess = _utf16_without_bom(data)
            if guess:
                raise read_error("READ-ENCODING", f"the file is {guess.upper()} text without a byte-order mark, "
                                 f"but {declared} is declared", path,
                                 f"declare encoding: {guess} for this form in study.yaml", form=form)
            raise read_error("READ-NOT-TEXT", "the file is binary, not CSV text", path,
                             "export the form as CSV (comma-separated, UTF-8)", form=form)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        line = (before.decode(encoding, errors="replace").count("\n") if _family(encoding) in ("utf-16", "utf-32")
                else before.count(b"\n")) + 1
        guess = likely_codec(data)
        hint = f"; the file decodes as {guess}" if guess and guess != encoding else ""
        raise read_error("READ-ENCODING", f"byte 0x{data[exc.start]:02X} at line {line} is not valid "
                         f"{encoding}{hint}", path,
                         f"re-export as UTF-8, or declare encoding: {guess or '<codec>'} for this form in study.yaml",
                         row=line, form=form, value=f"0x{data[exc.start]:02X}") from None
    if encoding == declared and _family(declared) in _MULTIBYTE_CJK and likely_codec(data) == "cp1252":
        notices.append(_latin_read_as_cjk(data, path, form, declared))
    return text.removeprefix("\ufeff"), notices


def _latin_read_as_cjk(data: bytes, path: Path, form: FormSpec, declared: str) -> Finding:
    """GB18030 and its kin decode Latin text without error, as other characters: say so with the line."""
    first = _HIGH_RUNS.search(data)
    start = data.rfind(b"\n", 0, first.start()) + 1
    end = data.find(b"\n", first.end())
    line = data[start:end if end >= 0 else len(data)].strip()
    number = data[:start].count(b"\n") + 1
    as_declared = line.decode(declared)[:60]
    as_cp1252 = line.decode("cp1252", errors="replace")[:60]
    return read_notice(
        "READ-ENCODING-SUSPECT", f"the file decodes as the declared {declared}, but its accented letters look "
        f"like Windows-1252 text: line {number} reads {as_declared!r} as {declared}, {as_cp1252!r} as cp1252",
        path, "if the cp1252 reading is right, declare encoding: cp1252 for this form in study.yaml", form=form,
        row=number, severity=Severity.WARNING)
