"""Metadata the XPT and Dataset-JSON writers need, built by the pipeline from the mapping spec.

Nothing here reads data; the writers take a frame plus one XptDataset.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

CHAR = "Char"
NUM = "Num"
VARIABLE_TYPES = (CHAR, NUM)

#: SAS V5 / FDA rule for dataset and variable names: <= 8 characters, upper case,
#: starting with a letter, then letters, digits or underscores.
NAME_PATTERN = re.compile(r"[A-Z][A-Z0-9_]*")
MAX_NAME_LENGTH = 8
MAX_LABEL_LENGTH = 40
MAX_CHAR_LENGTH = 200       # FDA TCG: character values at most 200 bytes
NUM_LENGTH = 8              # numeric variables are always written as 8-byte IBM doubles


#: A SAS display format: name (letters, digits, underscore, not ending in a digit), width, decimals.
DISPLAY_FORMAT = re.compile(r"(\$?[A-Z_](?:[A-Z0-9_]*[A-Z_])?)?(\d+)?\.?(\d+)?")


def canonical_display_format(text: str | None) -> str | None:
    """A display format in the one spelling the project writes and compares ("BEST12.", "8.2"),
    whatever punctuation a reader library gives back ("BEST12" and "BEST12." are the same format)."""
    if not text or not text.strip():
        return None
    match = DISPLAY_FORMAT.fullmatch(text.strip().upper())
    if not match:
        return text.strip()
    name, width, decimals = match.groups()
    return f"{name or ''}{int(width) if width else ''}.{int(decimals) if decimals and int(decimals) else ''}"


def is_valid_name(name: object) -> bool:
    """True when `name` is a legal XPT v5 dataset or variable name (FDA TCG)."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= MAX_NAME_LENGTH
        and NAME_PATTERN.fullmatch(name) is not None
    )


@dataclass(frozen=True)
class XptVariable:
    """One variable of a dataset, in the order it is written."""

    name: str
    label: str
    type: str                           # "Char" or "Num"
    length: int | None = None           # None: longest value in bytes (min 1); fixed when given
    display_format: str | None = None   # SAS format, e.g. "DATE9." (written to the NAMESTR)
    data_type: str | None = None        # Define-XML data type (text, integer, float, date, ...)
    key_sequence: int | None = None     # position among the dataset keys (Dataset-JSON keySequence)

    @property
    def is_char(self) -> bool:
        return self.type == CHAR

    @property
    def is_num(self) -> bool:
        return self.type == NUM


@dataclass(frozen=True)
class XptDataset:
    """A dataset: name (e.g. "DM"), label and variables in output order."""

    name: str
    label: str
    variables: tuple[XptVariable, ...]

    def variable(self, name: str) -> XptVariable:
        for var in self.variables:
            if var.name == name:
                return var
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)
