"""Typed, frozen model of a study's mapping specs (built by spec.loader from YAML).

Every object keeps `where` (spec file and line) so that any finding about it can point
at the line a data manager has to edit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class SpecLocation:
    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


NOWHERE = SpecLocation("<none>")


# --------------------------------------------------------------------------- study level
@dataclass(frozen=True)
class FormSpec:
    """A raw CRF export the study provides: where it is and what it must contain."""

    name: str
    file: str
    format: str                       # csv | xlsx | xpt | sas7bdat | odm
    encoding: str = "utf-8-sig"
    sheet: str | None = None
    subject_column: str | None = None
    required_columns: tuple[str, ...] = ()
    exclude_reason: str | None = None  # form read but deliberately not mapped (ledger reason)
    label: str = ""
    columns: Mapping[str, str] = field(default_factory=dict)   # raw column name -> name the specs use
    delimiter: str = ","              # csv field separator
    header_row: int = 1               # csv/xlsx: 1-based line of the header (title lines above it skipped)
    numbers: str = "formatted"        # sas: numbers as their display format shows them | "raw"
    format_catalog: str | None = None  # sas: formats catalogue (.sas7bcat) in the raw folder
    value_formats: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # sas user format -> code -> text
    form_oid: str | None = None       # odm: FormOID of the form (default: sheet, then name)
    item_groups: tuple[str, ...] = ()  # odm: ItemGroupOIDs to read (empty = every group of the form)
    where: SpecLocation = NOWHERE

    @property
    def odm_form_oid(self) -> str:
        return self.form_oid or self.sheet or self.name


@dataclass(frozen=True)
class ArmSpec:
    armcd: str
    arm: str
    elements: tuple[str, ...]          # ETCDs in order (TA)
    branch: str | None = None
    type: str | None = None            # e.g. EXPERIMENTAL, ACTIVE COMPARATOR (TS/define comments)
    where: SpecLocation = NOWHERE


@dataclass(frozen=True)
class ElementSpec:
    etcd: str
    element: str
    epoch: str
    testrl: str
    tenrl: str | None = None
    tedur: str | None = None
    where: SpecLocation = NOWHERE


@dataclass(frozen=True)
class VisitSpec:
    visitnum: float
    visit: str
    visitdy: int | None
    window_before: int = 0
    window_after: int = 0
    labels: tuple[str, ...] = ()       # collected labels that mean this visit
    epoch: str | None = None
    arms: tuple[str, ...] = ()         # empty = all arms
    start_rule: str | None = None      # TVSTRL
    end_rule: str | None = None        # TVENRL
    where: SpecLocation = NOWHERE


@dataclass(frozen=True)
class TrialSummaryParam:
    parmcd: str
    parm: str | None
    value: str
    valcd: str | None = None
    vcdref: str | None = None
    vcdver: str | None = None
    grpid: str | None = None
    where: SpecLocation = NOWHERE


@dataclass(frozen=True)
class CriterionSpec:
    ietestcd: str
    ietest: str
    iecat: str                          # INCLUSION | EXCLUSION
    iescat: str | None = None
    tirl: str | None = None
    where: SpecLocation = NOWHERE


@dataclass(frozen=True)
class DocumentSpec:
    id: str
    title: str
    href: str
    kind: str = "SupplementalDoc"       # AnnotatedCRF | SupplementalDoc
    where: SpecLocation = NOWHERE


@dataclass(frozen=True)
class StudySpec:
    studyid: str
    study_name: str
    description: str
    protocol_name: str
    sponsor: str
    standards: Mapping[str, str]        # sdtmig, ct, define
    forms: tuple[FormSpec, ...]
    arms: tuple[ArmSpec, ...]
    elements: tuple[ElementSpec, ...]
    visits: tuple[VisitSpec, ...]
    trial_summary: tuple[TrialSummaryParam, ...]
    criteria: tuple[CriterionSpec, ...]
    documents: tuple[DocumentSpec, ...] = ()
    subject: Mapping[str, Any] = field(default_factory=dict)     # enrolment form, id columns, usubjid rule
    date_formats: tuple[str, ...] = ()
    transliteration: Mapping[str, str] = field(default_factory=dict)
    define: Mapping[str, Any] = field(default_factory=dict)      # define-level metadata (OIDs, dates)
    validation: Mapping[str, Any] = field(default_factory=dict)  # per-study rule severities {severity: {id: level}}
    where: SpecLocation = NOWHERE

    def form(self, name: str) -> FormSpec | None:
        return next((f for f in self.forms if f.name == name), None)


# --------------------------------------------------------------------------- dataset level
@dataclass(frozen=True)
class AlgorithmCall:
    """A named mapping algorithm from the registry with its parameters (no code in specs)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    where: SpecLocation = NOWHERE


@dataclass(frozen=True)
class OriginSpec:
    type: str                           # Collected | Derived | Assigned | Protocol | Predecessor | Not Available
    source: str | None = None           # Investigator | Sponsor | Subject | Vendor
    predecessor: str | None = None      # for Predecessor: DOMAIN.VARIABLE
    pages: str | None = None            # aCRF page refs for Collected


@dataclass(frozen=True)
class VariableSpec:
    name: str
    label: str
    type: str                           # Char | Num
    order: int
    core: str                           # Req | Exp | Perm
    origin: OriginSpec
    algorithm: AlgorithmCall
    length: int | None = None           # None = longest value in bytes
    data_type: str | None = None        # Define-XML: text, integer, float, date, datetime, durationDatetime, ...
    codelist: str | None = None         # NCI codelist code (C66731) or sponsor codelist id
    role: str | None = None
    method: str | None = None           # method description (Define-XML MethodDef)
    comment: str | None = None
    significant_digits: int | None = None
    sponsor_defined: bool = False       # not in SDTMIG for this domain, declared on purpose
    long_text: str | None = None        # "supp": text over 200 bytes continues in SUPP-- (SDTMIG 4.5.3.2)
    where: SpecLocation = NOWHERE


LONG_TEXT_OPTIONS = ("supp",)


@dataclass(frozen=True)
class WhereCondition:
    variable: str
    comparator: str                     # EQ | NE | IN | NOTIN
    values: tuple[str, ...]


@dataclass(frozen=True)
class ValueLevelSpec:
    """Metadata for one variable under a condition, e.g. LBORRES when LBTESTCD = GLUC."""

    variable: str
    where_clause: tuple[WhereCondition, ...]
    data_type: str
    length: int | None = None
    codelist: str | None = None
    origin: OriginSpec | None = None
    unit: str | None = None             # expected unit(s), e.g. standard unit for --STRESU
    significant_digits: int | None = None
    method: str | None = None
    comment: str | None = None
    mandatory: bool = False
    where: SpecLocation = NOWHERE


@dataclass(frozen=True)
class SuppQualifierSpec:
    qnam: str
    qlabel: str
    algorithm: AlgorithmCall
    origin: OriginSpec
    idvar: str | None = None            # parent variable, usually --SEQ
    qeval: str | None = None
    codelist: str | None = None
    data_type: str = "text"
    method: str | None = None
    comment: str | None = None
    where: SpecLocation = NOWHERE


@dataclass(frozen=True)
class JoinSpec:
    form: str
    on: Mapping[str, str]               # left column -> right column
    how: str = "left"                   # left | inner
    first: bool = False                 # keep the first matching right row only
    where: SpecLocation = NOWHERE


@dataclass(frozen=True)
class FilterSpec:
    column: str
    op: str                             # not_empty | empty | equals | not_equals | in | not_in
    values: tuple[str, ...] = ()
    reason: str = ""                    # ledger reason for rows it removes
    where: SpecLocation = NOWHERE


@dataclass(frozen=True)
class StackMember:
    form: str
    columns: Mapping[str, str]          # alias -> raw column of this form
    constants: Mapping[str, str] = field(default_factory=dict)
    filters: tuple[FilterSpec, ...] = ()
    where: SpecLocation = NOWHERE


@dataclass(frozen=True)
class UnpivotItem:
    constants: Mapping[str, str]        # e.g. {TESTCD: HBA1C}
    columns: Mapping[str, str]          # alias -> raw column, e.g. {ORRES: HBA1C_RES}


@dataclass(frozen=True)
class UnpivotSpec:
    items: tuple[UnpivotItem, ...]
    keep_if_any: tuple[str, ...] = ()   # aliases: drop an item row when all of them are empty
    reason: str = "item not collected"
    where: SpecLocation = NOWHERE


@dataclass(frozen=True)
class SourceSpec:
    form: str | None = None
    stack: tuple[StackMember, ...] = ()
    joins: tuple[JoinSpec, ...] = ()
    filters: tuple[FilterSpec, ...] = ()
    unpivot: UnpivotSpec | None = None
    generator: AlgorithmCall | None = None  # datasets built from the study spec (TS, TA, TE, TV, TI, SE)
    where: SpecLocation = NOWHERE


@dataclass(frozen=True)
class DerivedRecordsSpec:
    """Rows added after mapping, e.g. a questionnaire total or a calculated lab."""

    algorithm: AlgorithmCall
    where: SpecLocation = NOWHERE


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    label: str
    domain: str
    dataset_class: str                   # e.g. SPECIAL PURPOSE, EVENTS, FINDINGS, INTERVENTIONS, TRIAL DESIGN
    structure: str
    keys: tuple[str, ...]
    sort: tuple[str, ...]
    source: SourceSpec
    variables: tuple[VariableSpec, ...]
    value_level: tuple[ValueLevelSpec, ...] = ()
    supplemental: tuple[SuppQualifierSpec, ...] = ()
    derived_records: tuple[DerivedRecordsSpec, ...] = ()
    subclass: str | None = None
    repeating: bool = True
    reference_data: bool = False
    comment: str | None = None
    file: str = ""                       # spec file path
    where: SpecLocation = NOWHERE

    def variable(self, name: str) -> VariableSpec | None:
        return next((v for v in self.variables if v.name == name), None)

    @property
    def supp_name(self) -> str:
        return f"SUPP{self.domain}"


@dataclass(frozen=True)
class CodelistTerm:
    value: str
    decode: str | None = None
    code: str | None = None             # NCI C-code; None for sponsor terms
    extended: bool = False
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class SponsorCodelist:
    """A sponsor-defined codelist or an extension of a CDISC one (extends = NCI code)."""

    id: str
    name: str
    terms: tuple[CodelistTerm, ...]
    extends: str | None = None
    data_type: str = "text"
    where: SpecLocation = NOWHERE


@dataclass(frozen=True)
class UnitConversion:
    testcd: str
    from_unit: str
    to_unit: str
    factor: float
    molecular_weight: float | None = None
    offset: float = 0.0                 # for affine conversions (e.g. HbA1c mmol/mol -> %)
    where: SpecLocation = NOWHERE


@dataclass(frozen=True)
class PlausibleRange:
    """The values a test can physically take in one unit (height 100-230 cm): outside is a data error."""

    testcd: str
    unit: str
    low: float | None = None
    high: float | None = None
    domain: str | None = None           # restrict to one domain when a test code is shared
    where: SpecLocation = NOWHERE


@dataclass(frozen=True)
class StudyTerminology:
    codelists: tuple[SponsorCodelist, ...] = ()
    collected_values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # codelist -> raw -> submission
    unit_conversions: tuple[UnitConversion, ...] = ()
    standard_units: Mapping[str, str] = field(default_factory=dict)                  # testcd -> unit
    # codelist -> raw value -> where that map entry is written (spec check points at the line)
    collected_where: Mapping[str, Mapping[str, SpecLocation]] = field(default_factory=dict, compare=False)
    plausible_ranges: tuple[PlausibleRange, ...] = ()                                # units.yaml plausible_ranges


@dataclass(frozen=True)
class Specs:
    """Everything under one mappings/ folder."""

    root: str
    study: StudySpec
    datasets: tuple[DatasetSpec, ...]
    terminology: StudyTerminology
    checksum: str = ""

    def dataset(self, name: str) -> DatasetSpec | None:
        return next((d for d in self.datasets if d.name == name), None)
