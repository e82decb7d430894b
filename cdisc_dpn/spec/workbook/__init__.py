"""Pinnacle 21-style specification workbook: export a mappings/ folder to .xlsx and import it back.

Layers of the package: codec (cells <-> values), layout (sheets and their columns), writer (model ->
documents -> rows -> .xlsx), reader (rows -> documents, with the sheet and row of each value),
importer (documents checked like YAML specs, then written as a mappings/ folder).

The workbook is a view of the YAML specs that a reviewer or data manager can edit in Excel:
  Study         study-level attributes (study:, standards:, files:, subject:, define:, ...)
  Datasets      one row per dataset (dataset: section of each dataset file, and its file name)
  Variables     one row per variable (algorithm name + parameters as canonical JSON)
  ValueLevel    value-level metadata; Where Clause column holds an ID of the WhereClauses sheet
  WhereClauses  one row per condition of a where clause
  Codelists     sponsor codelists (Source=Sponsor), collected-value maps (Source=Collected) and, for
                reviewers only, the CDISC terms of the codelists the specs use (Source=CT, not imported)
  Methods       method texts referenced by ID from Variables/ValueLevel/SuppQualifiers
  Comments      comment texts referenced by ID from Datasets/Variables/ValueLevel/SuppQualifiers
  Documents     study documents (aCRF, supplemental documents)
  Sources       how each dataset's rows are built: form, join, stack, filter, unpivot, generate
  SuppQualifiers, DerivedRecords, Forms, Arms, Elements, Visits, TrialSummary, Criteria, Units,
  Plausibility (optional: plausible result ranges per test code and unit)

Export goes model -> YAML-shaped documents -> rows; import goes rows -> documents -> YAML, so that
export -> import -> load gives an equal model and re-exporting gives the same bytes. Text a
spreadsheet would take for a formula (cdisc_dpn.xlsx.looks_like_formula), text starting with a quote,
and an empty text (not the same as no value, written as a lone ') are prefixed with ' on export and
restored on import.
"""
from __future__ import annotations

from .codec import Col, from_json, neutralise, restore, to_json
from .importer import check_documents, import_workbook
from .layout import OPTIONAL_COLUMNS, OPTIONAL_SHEETS, SHEETS
from .reader import dump_yaml, workbook_documents
from .writer import export_workbook, spec_documents, workbook_rows

__all__ = ["Col", "OPTIONAL_COLUMNS", "OPTIONAL_SHEETS", "SHEETS", "check_documents", "dump_yaml", "export_workbook",
           "from_json", "import_workbook", "neutralise", "restore", "spec_documents", "to_json", "workbook_documents",
           "workbook_rows"]
