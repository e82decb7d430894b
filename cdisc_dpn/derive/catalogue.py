"""The algorithm catalogue: the fixed list of mapping algorithms a spec may name, with their contracts.

Specs name algorithms; they never carry code. An algorithm is a plain function listed here under a
name with the parameters it requires and accepts, and the phase it runs in:
"row" (computes from the source rows and earlier variables) or "dataset" (runs after all
rows and derived records exist, e.g. --SEQ, baseline flags).
The list is explicit: this module imports the algorithm modules, they do not register themselves
(no import side effects; the mapping engine and `spec check` read the same table).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cdisc_dpn.derive import (
    arm, baseline, date_flags, epoch, general, identifiers, ratios, records, reference_dates, split, study_day,
    trial_design, units, visits,
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
    reads: str | None = None  # dataset read when params give no `dataset:` (ordering dependency)
    defaults: tuple = ()      # (param, value) pairs applied when the spec omits them

    def with_defaults(self, params) -> dict:
        merged = dict(self.defaults)
        merged.update(params or {})
        return merged

    def datasets_read(self, params) -> set[str]:
        """Finished datasets this call needs (any `dataset:` in its params, else `reads`); built first."""
        found: set[str] = set()

        def scan(node) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "dataset" and isinstance(value, str):
                        found.add(value.upper())
                    else:
                        scan(value)
            elif isinstance(node, list):
                for item in node:
                    scan(item)

        scan(dict(params))
        if not found and self.reads:
            found.add(self.reads)
        return found


def _entry(name: str, function: Callable, *, required: tuple[str, ...] = (), optional: tuple[str, ...] = (),
           phase: str = ROW, kind: str = "variable", reads: str | None = None,
           defaults: dict | None = None) -> Algorithm:
    """One catalogue row; the function's docstring's first line is its summary."""
    summary = (function.__doc__ or "").strip().splitlines()[0] if function.__doc__ else ""
    accepted = frozenset(optional) | {"dataset"} if reads else frozenset(optional)
    return Algorithm(name, function, frozenset(required), accepted, phase, summary, kind, reads,
                     tuple(sorted((defaults or {}).items())))


def _table(entries: tuple[Algorithm, ...]) -> dict[str, Algorithm]:
    table: dict[str, Algorithm] = {}
    for algorithm in entries:
        if algorithm.name in table:
            raise ValueError(f"algorithm {algorithm.name!r} listed twice")
        table[algorithm.name] = algorithm
    return table


_REGISTRY: dict[str, Algorithm] = _table((
    _entry('assign', general.assign, optional=general._INPUT + ('upper',)),
    _entry('constant', general.constant, required=('value',)),
    _entry('study_id', general.study_id),
    _entry('domain', general.domain),
    _entry('recode', general.recode, optional=general._INPUT + ('codelist', 'map', 'unknown')),
    _entry('map_values', general.map_values, required=('map',), optional=general._INPUT + ('default',)),
    _entry('iso_date', general.iso_date, optional=general._INPUT + ('formats',)),
    _entry('iso_datetime', general.iso_datetime, required=('date',), optional=('time', 'formats')),
    _entry('concat', general.concat, required=('parts',), optional=('separator', 'skip_empty')),
    _entry('numeric', general.numeric, optional=general._INPUT + ('decimal_comma', 'on_text')),
    _entry('lookup', general.lookup, required=('form', 'key', 'value'), optional=('on', 'first')),
    _entry('coalesce', general.coalesce, required=('inputs',)),
    _entry('when', general.when, required=('cases',), optional=('default',)),
    _entry('text_unless_number', general.text_unless_number, optional=general._INPUT),
    _entry('arm_name', arm.arm_name, optional=('variable',), defaults={'variable': 'ARMCD'}),
    _entry('actual_arm', arm.actual_arm, required=('from', 'treatment', 'arms'), optional=('planned',), phase=DATASET, defaults={'planned': 'ARMCD'}),
    _entry('arm_null_reason', arm.arm_null_reason, optional=('planned', 'actual', 'screen_failure'), phase=DATASET, defaults={'planned': 'ARMCD', 'actual': 'ACTARMCD'}),
    _entry('last_before_exposure', baseline.last_before_exposure, required=('result', 'date'), optional=('by', 'reference'), phase=DATASET, reads='DM'),
    _entry('epoch', epoch.epoch, required=('variable',), phase=DATASET, reads='SE'),
    _entry('usubjid', identifiers.usubjid, optional=('column', 'variable', 'separator')),
    _entry('seq', identifiers.seq, optional=('by',), phase=DATASET),
    _entry('sum_items', records.sum_items, required=('group_by', 'items', 'value', 'set', 'results'), optional=('compare_column', 'copy'), kind='records'),
    _entry('classify', records.classify, required=('source', 'value', 'bands', 'set', 'result'), optional=('copy',), kind='records'),
    _entry('egfr_mdrd', records.egfr_mdrd, required=('creatinine', 'testcd', 'value', 'group_by', 'set', 'results'), optional=('umol_per_mg_dl', 'copy', 'reported'), kind='records', reads='DM'),
    _entry('missed_visits', records.missed_visits, required=('visit_dataset',), optional=('set', 'until'), kind='records', reads=None),
    _entry('first_date', reference_dates.first_date, required=('sources',), phase=DATASET),
    _entry('last_date', reference_dates.last_date, required=('sources',), phase=DATASET),
    _entry('flag_if_any', reference_dates.flag_if_any, required=('inputs',), optional=('value',)),
    _entry('study_day', study_day.study_day, required=('variable',), optional=('reference',), phase=DATASET, reads='DM'),
    _entry('trial_arms', trial_design.trial_arms, kind='source'),
    _entry('trial_elements', trial_design.trial_elements, kind='source'),
    _entry('trial_visits', trial_design.trial_visits, kind='source'),
    _entry('trial_criteria', trial_design.trial_criteria, optional=('version',), kind='source'),
    _entry('trial_summary', trial_design.trial_summary, optional=('actual_subjects',), kind='source'),
    _entry('subject_elements', trial_design.subject_elements, required=('starts', 'end'), optional=('visits_from', 'visit_date', 'arm'), kind='source', reads='DM'),
    _entry('standard_result_char', units.standard_result_char, required=('result', 'testcd'), optional=('unit', 'digits')),
    _entry('standard_result_num', units.standard_result_num, required=('result', 'testcd'), optional=('unit', 'digits')),
    _entry('standard_unit', units.standard_unit, required=('testcd',), optional=('result',)),
    _entry('standard_range', units.standard_range, required=('limit', 'testcd'), optional=('unit', 'digits')),
    _entry('reference_indicator', units.reference_indicator, required=('result',), optional=('low', 'high')),
    _entry('visitnum', visits.visitnum, required=('column',), optional=('date', 'unscheduled', 'reference_form', 'formats')),
    _entry('visit', visits.visit, optional=('variable', 'unscheduled_label'), defaults={'variable': 'VISITNUM'}),
    _entry('visitdy', visits.visitdy, optional=('variable',), defaults={'variable': 'VISITNUM'}),
    _entry('ratio_records', ratios.ratio_records, required=('testcd', 'value', 'numerator', 'denominator', 'group_by', 'set', 'results'), optional=('scale', 'power', 'digits', 'copy', 'carry_forward', 'date', 'subject'), kind='records'),
    _entry('date_on_or_after', date_flags.date_on_or_after, required=('variable', 'reference'), optional=('values',)),
    _entry('split_part', split.split_part, required=('separator', 'part'), optional=('column', 'variable')),
))


def get_algorithm(name: str) -> Algorithm | None:
    return _REGISTRY.get(name)


def known_algorithms(kind: str | None = None) -> dict[str, Algorithm]:
    return {k: v for k, v in sorted(_REGISTRY.items()) if kind is None or v.kind == kind}
