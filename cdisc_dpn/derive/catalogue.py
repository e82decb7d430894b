"""The algorithm catalogue: the fixed list of mapping algorithms a spec may name, with their contracts.

Specs name algorithms; they never carry code. An algorithm is a plain function listed here under a
name with its contract: the typed parameters it takes (names, types, required or optional with
defaults, in the vocabulary of spec/params.py), which of them name its inputs (SDTM variables of
the dataset, raw columns, other datasets and forms), and the phase it runs in: "row" (computes from
the source rows and earlier variables) or "dataset" (runs after all rows and derived records exist,
e.g. --SEQ, baseline flags).
The list is explicit: this module imports the algorithm modules, they do not register themselves
(no import side effects). `spec check` validates every call's parameters against these models, the
JSON Schema's per-algorithm `params` are generated from them (`python -m cdisc_dpn.derive.catalogue`),
and the mapping engine orders variables by the inputs they declare.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cdisc_dpn.derive import (
    arm, baseline, date_flags, epoch, general, identifiers, ratios, records, reference_dates, split, study_day,
    trial_design, units, visits,
)
from cdisc_dpn.spec.params import (
    NO_DEFAULT, AnyOf, Choice, Column, Dataset, Flag, Form, ListOf, MapOf, Number, Param, ParamModel, Reads,
    Record, Scalar, Target, Text, Variable,
)

ROW = "row"
DATASET = "dataset"


@dataclass(frozen=True)
class Algorithm:
    name: str
    function: Callable
    required: frozenset[str]
    optional: frozenset[str]
    phase: str
    summary: str
    kind: str = "variable"   # variable | records | source
    reads: str | None = None  # dataset read when params name none (ordering dependency)
    defaults: tuple = ()      # (param, value) pairs applied when the spec omits them
    params: ParamModel | None = None   # the typed parameter model (None: a bare test double)

    def with_defaults(self, params) -> dict:
        merged = dict(self.defaults)
        merged.update(params or {})
        return merged

    def inputs(self, params) -> Reads:
        """What a call reads, as its parameters declare it (defaults applied)."""
        return self.params.reads(params or {}) if self.params is not None else Reads()

    def variables_read(self, params) -> set[str]:
        """Variables of the same dataset the call reads: they are computed before it."""
        return set(self.inputs(params).variables)

    def datasets_read(self, params) -> set[str]:
        """Finished datasets this call needs (its dataset parameters, else `reads`); built first."""
        found = set(self.inputs(params).datasets)
        if not found and self.reads:
            found.add(self.reads)
        return found


def _entry(name: str, function: Callable, *params: Param, one_of: tuple[tuple[str, ...], ...] = (),
           implicit: tuple[str, ...] = (), phase: str = ROW, kind: str = "variable",
           reads: str | None = None) -> Algorithm:
    """One catalogue row; the function's docstring's first line is its summary."""
    summary = (function.__doc__ or "").strip().splitlines()[0] if function.__doc__ else ""
    model = ParamModel(tuple(params), one_of, implicit)
    return Algorithm(name, function, model.required, model.optional, phase, summary, kind, reads,
                     tuple(sorted(model.defaults.items())), model)


def _table(entries: tuple[Algorithm, ...]) -> dict[str, Algorithm]:
    table: dict[str, Algorithm] = {}
    for algorithm in entries:
        if algorithm.name in table:
            raise ValueError(f"algorithm {algorithm.name!r} listed twice")
        table[algorithm.name] = algorithm
    return table


# --------------------------------------------------------------------------- parameter building blocks
def _p(name: str, kind, required: bool = False, default=NO_DEFAULT, doc: str = "") -> Param:
    return Param(name, kind, required, default, doc)


def _req(name: str, kind, doc: str = "") -> Param:
    return Param(name, kind, True, NO_DEFAULT, doc)


_COLUMN = _p("column", Column(), doc="the raw column read (a joined form's as <form>.<COLUMN>)")
_VARIABLE = _p("variable", Variable(), doc="a variable of this dataset, computed before this one")
_ONE_INPUT = (("column", "variable"),)          # an algorithm reading one value: exactly one of the two
_INPUT = Record((_COLUMN, _VARIABLE), _ONE_INPUT, "a mapping with column: or variable:", "{column: AETERM}")
_VARIABLES = ListOf(Variable())
_TEXTS = ListOf(Text())
_FORMATS = _p("formats", ListOf(Text(numbers=False)), doc="date formats tried in order (default: study.yaml "
                                                          "date_formats)")
_SET = MapOf(Scalar(), key=Target(), words_="a mapping of variable names to values",
             example_="{VSTESTCD: BMI, VSDRVFL: Y}")
_RESULTS = MapOf(Choice(("num", "char")), key=Target(), min_items=1,
                 words_="a mapping of variable names to num or char", example_="{VSSTRESN: num, VSSTRESC: char}")
_GROUP_BY = _req("group_by", _VARIABLES, "variables of one group (e.g. [USUBJID, VISITNUM])")
_COPY = _p("copy", _VARIABLES, doc="variables copied from the first record of the group")
_WHERE = MapOf(ListOf(Text(numbers=False), single=True), key=Variable(of="from"),
               words_="a mapping of variable names to a value or a list of values",
               example_="{DSCAT: DISPOSITION EVENT}")
_SOURCE = Record((_p("from", Dataset(finished=False), doc="the dataset whose mapped rows are read"),
                  _req("variable", ListOf(Variable(of="from"), single=True), "its date variable(s)"),
                  _p("where", _WHERE, doc="only the rows with these values")),
                 words_="a mapping with variable: (and from:, where:)", example_="{from: EX, variable: EXSTDTC}")
_SOURCES = ListOf(_SOURCE, min_items=1)
_DIGITS = Number(integer=True, minimum=0)
_CASE = Record((_COLUMN, _VARIABLE, _p("equals", Scalar()), _p("in", ListOf(Scalar(nullable=True))),
                _p("not_empty", Flag()), _p("empty", Flag()), _p("value", Scalar(nullable=True)), _p("take", _INPUT)),
               (("column", "variable"), ("equals", "in", "not_empty", "empty")),
               "a mapping with column: or variable:, a test (equals:, in:, not_empty: or empty:) and value:",
               "{column: AESER, equals: Y, value: SERIOUS}")
_REFERENCE_FORM = Record((_req("form", Form()), _req("subject", Column(form_key="form")),
                          _req("visit", Column(form_key="form")), _req("date", Column(form_key="form")),
                          _p("subject_here", Column(), doc="this dataset's subject column when it is named "
                                                           "differently")),
                         example_="{form: sv, subject: SUBJECT, visit: VISIT, date: SVDAT}")


_REGISTRY: dict[str, Algorithm] = _table((
    _entry('assign', general.assign, _COLUMN, _VARIABLE, _p('upper', Flag(), default=False), one_of=_ONE_INPUT),
    _entry('constant', general.constant, _req('value', Scalar(), "the value every record gets")),
    _entry('study_id', general.study_id),
    _entry('domain', general.domain),
    _entry('recode', general.recode, _COLUMN, _VARIABLE,
           _p('codelist', Text(numbers=False), doc="the codelist (NCI code or sponsor id); default: the variable's"),
           _p('map', MapOf(Scalar()), doc="collected value -> submission value, before the codelist"),
           _p('unknown', Choice(("error", "keep")), default="error",
              doc="keep: an unmapped value stays (upper case), a warning for extensible codelists"),
           one_of=_ONE_INPUT),
    _entry('map_values', general.map_values, _req('map', MapOf(Scalar()), "collected value -> value"), _COLUMN,
           _VARIABLE, _p('default', Scalar(), doc="the value of an unmapped input (default: an error)"),
           one_of=_ONE_INPUT),
    _entry('iso_date', general.iso_date, _COLUMN, _VARIABLE, _FORMATS, one_of=_ONE_INPUT),
    _entry('iso_datetime', general.iso_datetime, _req('date', Column(), "the raw date column"),
           _p('time', Column(), doc="the raw time column"), _FORMATS),
    _entry('concat', general.concat,
           _req('parts', ListOf(Record((_COLUMN, _VARIABLE, _p('text', Scalar())), (("column", "variable", "text"),),
                                       "a mapping with column:, variable: or text:", '{text: "-"}')),
                "the pieces joined in order"),
           _p('separator', Text(), default="", doc="put between non-empty pieces"),
           _p('skip_empty', Flag(), default=True, doc="leave out empty pieces and their separator")),
    _entry('numeric', general.numeric, _COLUMN, _VARIABLE, _p('decimal_comma', Flag(), default=False),
           _p('on_text', Choice(("report", "ignore")), default="report",
              doc="ignore: a text result is left empty without a finding"), one_of=_ONE_INPUT),
    _entry('lookup', general.lookup, _req('form', Form(), "the other form"),
           _req('key', ListOf(Column(form_key="form", frame_unless="on"), single=True), "its key column(s)"),
           _req('value', Column(form_key="form"), "its column whose value is taken"),
           _p('on', ListOf(Column(), single=True), doc="this dataset's column(s) matched to key (default: key)")),
    _entry('coalesce', general.coalesce, _req('inputs', ListOf(_INPUT, min_items=1), "tried in order")),
    _entry('when', general.when, _req('cases', ListOf(_CASE, min_items=1), "tried in order, the first match wins"),
           _p('default', Scalar(), default="", doc="the value when no case matches")),
    _entry('text_unless_number', general.text_unless_number, _COLUMN, _VARIABLE, one_of=_ONE_INPUT),
    _entry('arm_name', arm.arm_name, _p('variable', Variable(), default='ARMCD', doc="the arm code variable")),
    _entry('actual_arm', arm.actual_arm, _req('from', Dataset(finished=False), "the exposure dataset"),
           _req('treatment', Variable(of="from"), "its treatment variable"),
           _req('arms', ListOf(Record((_req('armcd', Text()), _req('requires', _TEXTS)),
                                      example_="{armcd: A, requires: [DRUG A]}"), min_items=1),
                "tried in order"),
           _p('planned', Variable(), default='ARMCD'), implicit=("USUBJID",), phase=DATASET),
    _entry('arm_null_reason', arm.arm_null_reason, _p('planned', Variable(), default='ARMCD'),
           _p('actual', Variable(), default='ACTARMCD'),
           _p('screen_failure', Record((_COLUMN, _VARIABLE, _p("in", ListOf(Scalar(nullable=True)))), _ONE_INPUT,
                                       example_="{column: ds.DSREAS, in: [Screen failure]}"),
              doc="the input and values identifying a screen failure"), phase=DATASET),
    _entry('last_before_exposure', baseline.last_before_exposure, _req('result', Variable()), _req('date', Variable()),
           _p('by', _VARIABLES, doc="variables of one group besides USUBJID"),
           _p('reference', Variable(of="dataset", of_default="DM"), default="RFXSTDTC"),
           _p('dataset', Dataset(), default="DM"), implicit=("USUBJID",), phase=DATASET),
    _entry('epoch', epoch.epoch, _req('variable', Variable(), "the record's date variable"),
           _p('dataset', Dataset(), default="SE"), implicit=("USUBJID",), phase=DATASET),
    _entry('usubjid', identifiers.usubjid, _COLUMN, _VARIABLE, _p('separator', Text(), default="-"),
           one_of=_ONE_INPUT),
    _entry('seq', identifiers.seq, _p('by', _VARIABLES, doc="numbered within these (default [USUBJID])"),
           phase=DATASET),
    _entry('sum_items', records.sum_items, _GROUP_BY,
           _req('items', MapOf(ListOf(Text(), min_items=1), key=Variable(), min_items=1, max_items=1,
                               words_="a mapping of one variable name to a list of its item codes",
                               example_="{QSTESTCD: [TCSS01, TCSS02]}"), "the item records to add up"),
           _req('value', Variable(), "the numeric score variable"), _req('set', _SET), _req('results', _RESULTS),
           _p('compare_column', Column(), doc="a raw column with a collected total to compare"), _COPY,
           kind='records'),
    _entry('classify', records.classify,
           _req('source', MapOf(Text(), key=Variable(), min_items=1, max_items=1,
                                words_="a mapping of one variable name to the code of the scored records",
                                example_="{QSTESTCD: TCSSTOT}")),
           _req('value', Variable()),
           _req('bands', ListOf(Record((_req('max', Number()), _req('value', Scalar())),
                                       example_="{max: 5, value: NO NEUROPATHY}"), min_items=1), "tried in order"),
           _req('set', _SET), _req('result', ListOf(Variable(), single=True)), _COPY, kind='records'),
    _entry('egfr_mdrd', records.egfr_mdrd, _req('creatinine', Text(), "the creatinine test code"),
           _req('testcd', Variable()), _req('value', Variable(), "the numeric standard result (umol/L)"), _GROUP_BY,
           _req('set', _SET), _req('results', _RESULTS),
           _p('umol_per_mg_dl', Number(nonzero=True), default=88.42), _COPY,
           _p('reported', Text(), default="", doc="the eGFR test code whose presence suppresses derivation"),
           implicit=("USUBJID",), kind='records', reads='DM'),
    _entry('missed_visits', records.missed_visits,
           _p('visit_dataset', Dataset(finished=False),
              doc="not read: the missed visits are found among this dataset's own records"),
           _p('set', _SET), implicit=("USUBJID", "STUDYID", "VISITNUM"), kind='records'),
    _entry('first_date', reference_dates.first_date, _req('sources', _SOURCES), implicit=("USUBJID",), phase=DATASET),
    _entry('last_date', reference_dates.last_date, _req('sources', _SOURCES), implicit=("USUBJID",), phase=DATASET),
    _entry('flag_if_any', reference_dates.flag_if_any,
           _req('inputs', ListOf(Record((_COLUMN, _VARIABLE, _p("in", ListOf(Scalar(nullable=True)))), _ONE_INPUT,
                                        example_="{variable: DTHDTC}"), min_items=1)),
           _p('value', Scalar(), default="Y")),
    _entry('study_day', study_day.study_day, _req('variable', Variable(), "the ISO date variable"),
           _p('reference', Variable(of="dataset", of_default="DM"), default="RFSTDTC"),
           _p('dataset', Dataset(), default="DM"), implicit=("USUBJID",), phase=DATASET),
    _entry('trial_arms', trial_design.trial_arms, kind='source'),
    _entry('trial_elements', trial_design.trial_elements, kind='source'),
    _entry('trial_visits', trial_design.trial_visits, kind='source'),
    _entry('trial_criteria', trial_design.trial_criteria, _p('version', Text(), doc="TIVERS"), kind='source'),
    _entry('trial_summary', trial_design.trial_summary,
           _p('actual_subjects', Record((_p('dataset', Dataset()), _p('variable', Variable(of="dataset",
                                                                                        of_default="DM"))),
                                        example_="{dataset: DM, variable: ARMCD}"),
              doc="ACTSUB: subjects with this variable non-empty"), kind='source'),
    _entry('subject_elements', trial_design.subject_elements,
           _req('starts', MapOf(Record((_p('variable', Variable(of="dataset", of_default="DM")),
                                        _p('visitnum', Number()), _p('offset_days', Number(integer=True))),
                                       (("variable", "visitnum"),), example_="{variable: RFICDTC}"),
                                words_="a mapping of element codes to start rules",
                                example_="{SCRN: {variable: RFICDTC}, FU: {visitnum: 5}}")),
           _req('end', Variable(of="dataset", of_default="DM")),
           _p('visits_from', Dataset(finished=False), default="SV"),
           _p('visit_date', Variable(of="visits_from", of_default="SV"), default="SVSTDTC"),
           _p('arm', Variable(of="dataset", of_default="DM"), default="ACTARMCD"),
           _p('dataset', Dataset(), default="DM"), kind='source'),
    _entry('standard_result_char', units.standard_result_char, _req('result', Variable()), _req('testcd', Variable()),
           _p('unit', Variable()), _p('digits', _DIGITS, default=4)),
    _entry('standard_result_num', units.standard_result_num, _req('result', Variable()), _req('testcd', Variable()),
           _p('unit', Variable()), _p('digits', _DIGITS, default=4)),
    _entry('standard_unit', units.standard_unit, _req('testcd', Variable()),
           _p('result', Variable(), doc="no unit where this is empty")),
    _entry('standard_range', units.standard_range, _req('limit', Variable()), _req('testcd', Variable()),
           _p('unit', Variable()), _p('digits', _DIGITS, default=4)),
    _entry('reference_indicator', units.reference_indicator, _req('result', Variable()), _p('low', Variable()),
           _p('high', Variable())),
    _entry('visitnum', visits.visitnum, _req('column', Column(), "the collected visit label"),
           _p('date', Variable(), doc="the record's ISO date variable (numbers unscheduled visits)"),
           _p('unscheduled', _TEXTS, doc="labels meaning an unscheduled visit (default [UNSCHEDULED])"),
           _p('reference_form', _REFERENCE_FORM, doc="the form listing every visit"), _FORMATS,
           implicit=("USUBJID",)),
    _entry('visit', visits.visit, _p('variable', Variable(), default='VISITNUM'),
           _p('unscheduled_label', Text(), default="UNSCHEDULED")),
    _entry('visitdy', visits.visitdy, _p('variable', Variable(), default='VISITNUM')),
    _entry('ratio_records', ratios.ratio_records, _req('testcd', Variable()), _req('value', Variable()),
           _req('numerator', Text(), "its test code"), _req('denominator', Text(), "its test code"), _GROUP_BY,
           _req('set', _SET), _req('results', _RESULTS), _p('scale', Number(nonzero=True), default=1.0),
           _p('power', Number(), default=1.0), _p('digits', _DIGITS, default=1), _COPY,
           _p('carry_forward', Flag(), default=False), _p('date', Variable()),
           _p('subject', Variable(), default="USUBJID"), kind='records'),
    _entry('date_on_or_after', date_flags.date_on_or_after, _req('variable', Variable(), "the record's date"),
           _req('reference', AnyOf((_SOURCES, _SOURCE), "a source or a list of sources"),
                "the subject's earliest date over these"),
           _p('values', Record(tuple(_p(k, Scalar(nullable=True)) for k in
                                     ("on_or_after", "before", "unknown", "no_reference")),
                               example_="{on_or_after: Y, before: N}"), doc="the flag of each outcome")),
    _entry('split_part', split.split_part, _COLUMN, _VARIABLE,
           _req('separator', Text(nonempty=True)), _req('part', Number(integer=True, nonzero=True),
                                                        "1 = first, -1 = last"), one_of=_ONE_INPUT),
))


def get_algorithm(name: str) -> Algorithm | None:
    return _REGISTRY.get(name)


def known_algorithms(kind: str | None = None) -> dict[str, Algorithm]:
    return {k: v for k, v in sorted(_REGISTRY.items()) if kind is None or v.kind == kind}


def write_schema() -> str:
    """Regenerate the JSON Schema's per-algorithm parameter definitions from the models above."""
    from importlib import resources

    from cdisc_dpn.spec.schema import SCHEMA_FILE, load_schema, render_schema, schema_text

    target = resources.files("cdisc_dpn.spec").joinpath(SCHEMA_FILE)
    text = schema_text(render_schema(load_schema(), known_algorithms()))
    with resources.as_file(target) as path:
        path.write_text(text, encoding="utf-8")
        return str(path)


if __name__ == "__main__":
    print(f"wrote {write_schema()}")
