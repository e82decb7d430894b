"""Sheet layouts of the spec workbook: the columns of every sheet, in order, and which are optional."""
from __future__ import annotations


from .codec import Col


# =========================================================================== sheet layouts
ORIGIN_COLS = (Col("Origin", "origin.type"), Col("Source", "origin.source"), Col("Pages", "origin.pages"),
               Col("Predecessor", "origin.predecessor"))
STUDY_COLS = (Col("Attribute", None, width=24), Col("Value", None, width=80))
DATASET_COLS = (
    Col("Dataset", "name"), Col("Description", "label", width=36), Col("Domain", "domain"),
    Col("Class", "class", width=18), Col("Subclass", "subclass"), Col("Structure", "structure", width=48),
    Col("Purpose", None), Col("Key Variables", "keys", "list", 36), Col("Sort Variables", "sort", "list", 36),
    Col("Repeating", "repeating", "bool"), Col("Reference Data", "reference_data", "bool"),
    Col("Comment", "comment"), Col("File", None, width=24),
)
VARIABLE_COLS = (
    Col("Order", "order", "int"), Col("Dataset", None), Col("Variable", "name"), Col("Label", "label", width=40),
    Col("Type", "type"), Col("Data Type", "data_type"), Col("Length", "length", "int"),
    Col("Significant Digits", "significant_digits", "int"), Col("Core", "core"), Col("Mandatory", None),
    Col("Codelist", "codelist"), *ORIGIN_COLS, Col("Role", "role"), Col("Method", "method"),
    Col("Comment", "comment"), Col("Sponsor Defined", "sponsor_defined", "bool"),
    Col("Algorithm", "algorithm", width=16), Col("Parameters", "params", "json", 60),
    Col("Long Text", "long_text"),
)
VALUE_LEVEL_COLS = (
    Col("Order", None), Col("Dataset", None), Col("Variable", "variable"), Col("Where Clause", None, width=24),
    Col("Data Type", "data_type"), Col("Length", "length", "int"),
    Col("Significant Digits", "significant_digits", "int"), Col("Mandatory", "mandatory", "bool"),
    Col("Codelist", "codelist"), *ORIGIN_COLS, Col("Unit", "unit"), Col("Method", "method"),
    Col("Comment", "comment"),
)
WHERE_COLS = (Col("ID", None, width=24), Col("Dataset", None), Col("Variable", None), Col("Comparator", None),
              Col("Value", None, width=40))
SUPP_COLS = (
    Col("Dataset", None), Col("QNAM", "qnam"), Col("QLABEL", "qlabel", width=40), Col("IDVAR", "idvar"),
    Col("QEVAL", "qeval"), Col("Codelist", "codelist"), Col("Data Type", "data_type"), *ORIGIN_COLS,
    Col("Method", "method"), Col("Comment", "comment"), Col("Algorithm", "algorithm", width=16),
    Col("Parameters", "params", "json", 60),
)
DERIVED_COLS = (Col("Dataset", None), Col("Algorithm", "algorithm", width=16), Col("Parameters", "params", "json", 60))
SOURCE_COLS = (Col("Dataset", None), Col("Step", None), Col("Kind", None), Col("Form", None, width=18),
               Col("Details", None, width=80))
CODELIST_COLS = (
    Col("ID", None, width=14), Col("Name", None, width=30), Col("NCI Codelist Code", None), Col("Data Type", None),
    Col("Order", None), Col("Term", None, width=24), Col("NCI Term Code", None), Col("Decoded Value", None, width=30),
    Col("Synonyms", None, width=24), Col("Extended Value", None), Col("Collected Value", None, width=24),
    Col("Source", None),
)
METHOD_COLS = (Col("ID", None, width=24), Col("Name", None, width=36), Col("Type", None),
               Col("Description", None, width=80))
COMMENT_COLS = (Col("ID", None, width=24), Col("Description", None, width=80))
DOCUMENT_COLS = (Col("ID", "id"), Col("Title", "title", width=36), Col("Href", "href", width=30),
                 Col("Kind", "kind"))
FORM_COLS = (Col("Name", "name"), Col("File", "file", width=30), Col("Format", "format"),
             Col("Encoding", "encoding"), Col("Sheet", "sheet"), Col("Subject Column", "subject_column"),
             Col("Required Columns", "required_columns", "list", 40), Col("Exclude Reason", "exclude_reason", width=30),
             Col("Label", "label", width=30), Col("Columns (raw -> spec)", "columns", "json", 40),
             Col("Delimiter", "delimiter"), Col("Header Row", "header_row", "int"), Col("Numbers", "numbers"),
             Col("Format Catalog", "format_catalog"), Col("Value Formats", "value_formats", "json", 40),
             Col("Form OID", "form_oid"), Col("Item Groups", "item_groups", "list"))
ARM_COLS = (Col("ARMCD", "armcd"), Col("ARM", "arm", width=30), Col("Elements", "elements", "list", 30),
            Col("Branch", "branch"), Col("Type", "type", width=20))
ELEMENT_COLS = (Col("ETCD", "etcd"), Col("ELEMENT", "element", width=30), Col("EPOCH", "epoch"),
                Col("TESTRL", "testrl", width=36), Col("TENRL", "tenrl", width=36), Col("TEDUR", "tedur"))
VISIT_COLS = (Col("VISITNUM", "visitnum", "float"), Col("VISIT", "visit", width=20), Col("VISITDY", "visitdy", "int"),
              Col("Window Before", "window.before", "int"), Col("Window After", "window.after", "int"),
              Col("Labels", "labels", "list", 30), Col("EPOCH", "epoch"), Col("Arms", "arms", "list"),
              Col("Start Rule", "start_rule", width=30), Col("End Rule", "end_rule", width=30))
TS_COLS = (Col("TSPARMCD", "parmcd"), Col("TSPARM", "parm", width=30), Col("TSVAL", "value", width=40),
           Col("TSVALCD", "valcd"), Col("TSVCDREF", "vcdref"), Col("TSVCDVER", "vcdver"), Col("TSGRPID", "grpid"))
CRITERIA_COLS = (Col("IETESTCD", "ietestcd"), Col("IETEST", "ietest", width=60), Col("IECAT", "iecat"),
                 Col("IESCAT", "iescat"), Col("TIRL", "tirl", width=30))
UNIT_COLS = (Col("Kind", None), Col("TESTCD", "testcd"), Col("From", "from"), Col("To", "to"),
             Col("Factor", "factor", "float"), Col("Molecular Weight", "molecular_weight", "float"),
             Col("Offset", "offset", "float"))

PLAUSIBLE_COLS = (Col("TESTCD", "testcd"), Col("Unit", "unit"), Col("Low", "low", "float"),
                  Col("High", "high", "float"), Col("Domain", "domain"))

SHEETS: dict[str, tuple[Col, ...]] = {
    "Study": STUDY_COLS, "Datasets": DATASET_COLS, "Variables": VARIABLE_COLS, "ValueLevel": VALUE_LEVEL_COLS,
    "WhereClauses": WHERE_COLS, "Codelists": CODELIST_COLS, "Methods": METHOD_COLS, "Comments": COMMENT_COLS,
    "Documents": DOCUMENT_COLS, "Sources": SOURCE_COLS, "SuppQualifiers": SUPP_COLS,
    "DerivedRecords": DERIVED_COLS, "Forms": FORM_COLS, "Arms": ARM_COLS, "Elements": ELEMENT_COLS,
    "Visits": VISIT_COLS, "TrialSummary": TS_COLS, "Criteria": CRITERIA_COLS, "Units": UNIT_COLS,
    "Plausibility": PLAUSIBLE_COLS,
}
OPTIONAL_SHEETS = frozenset({"Plausibility"})   # added after the first workbooks were shared
OPTIONAL_COLUMNS = frozenset({("Variables", "Long Text")})
STUDY_JSON_KEYS = ("subject", "date_formats", "transliteration", "define", "validation")
STUDY_LIST_SHEETS = (("forms", "Forms", FORM_COLS), ("arms", "Arms", ARM_COLS), ("elements", "Elements", ELEMENT_COLS),
                     ("visits", "Visits", VISIT_COLS), ("trial_summary", "TrialSummary", TS_COLS),
                     ("criteria", "Criteria", CRITERIA_COLS), ("documents", "Documents", DOCUMENT_COLS))
SOURCE_KINDS = ("form", "join", "stack", "filter", "unpivot", "generate")

