"""Which raw columns the specs name, per form, with the spec line that names them.

Read before any data: `spec check --raw` compares these uses with the files' headers, the
ODM reader makes an empty column for a declared item the export left out, and the read stage
lists the collected columns no spec uses. Column names are the names the specs use (after a
form's `columns:` rename map). Which parameters of an algorithm name raw columns is what the
algorithm catalogue declares (its typed parameter models); the catalogue is passed in, as to
`check_specs`, because spec sits below it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from cdisc_dpn.spec.model import AlgorithmCall, DatasetSpec, SpecLocation, Specs

Catalogue = Mapping[str, Any]     # name -> derive.catalogue.Algorithm (its `inputs(params)` declare the columns)


@dataclass(frozen=True)
class ColumnUse:
    """A column a spec line relies on; satisfied when any of `forms` has it."""

    forms: tuple[str, ...]
    column: str
    where: SpecLocation
    what: str


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return []


class _DatasetColumns:
    """Resolves a working-frame column name of one dataset to the form(s) that must hold it."""

    def __init__(self, ds: DatasetSpec, algorithms: Catalogue, own_subject: str | None = None):
        self.ds = ds
        self.algorithms = algorithms
        self.own_subject = own_subject       # the subject_column of the dataset's source form
        src = ds.source
        self.primary = tuple(m.form for m in src.stack) if src.stack else ((src.form,) if src.form else ())
        self.joined = {j.form for j in src.joins}
        self.aliases = {a for m in src.stack for a in (*m.columns, *m.constants)}
        if src.unpivot:
            self.aliases |= {a for i in src.unpivot.items for a in (*i.columns, *i.constants)}
        self.uses: list[ColumnUse] = []

    def frame(self, column: str, where: SpecLocation, what: str) -> None:
        form, _, rest = column.partition(".")
        if rest and form in self.joined:
            self.uses.append(ColumnUse((form,), rest, where, what))
        elif column not in self.aliases and self.primary:
            self.uses.append(ColumnUse(self.primary, column, where, what))

    def form(self, form: str, column: str, where: SpecLocation, what: str) -> None:
        self.uses.append(ColumnUse((form,), column, where, what))

    def call(self, call: AlgorithmCall, what: str) -> None:
        """The raw columns the call's algorithm declares it reads (an unknown algorithm: SPEC-ALGO-UNKNOWN)."""
        algorithm = self.algorithms.get(call.name)
        if algorithm is None:
            return
        params = dict(call.params)
        label = f"{what} ({call.name})"
        reads = algorithm.inputs(params)
        for column in reads.columns:
            self.frame(column, call.where, label)
        for form, column in reads.form_columns:
            self.form(form, column, call.where, label)
        ref = params.get("reference_form")
        if isinstance(ref, dict) and isinstance(ref.get("form"), str):
            # this dataset's rows are matched to the reference form by subject: its own subject column
            for column in _names(ref.get("subject_here") or self.own_subject or ref.get("subject")):
                if column not in reads.columns:
                    self.frame(column, call.where, f"{label} subject of this dataset's rows")

    def collect(self) -> list[ColumnUse]:
        ds, src = self.ds, self.ds.source
        for member in src.stack:
            for alias, column in member.columns.items():
                self.form(member.form, column, member.where, f"{ds.name} stack column {alias}")
            for f in member.filters:
                if f.column not in member.columns and f.column not in member.constants:
                    self.form(member.form, f.column, f.where, f"{ds.name} stack filter")
        for j in src.joins:
            for left, right in j.on.items():
                self.frame(left, j.where, f"{ds.name} join key")
                self.form(j.form, right, j.where, f"{ds.name} join key")
        for f in src.filters:
            self.frame(f.column, f.where, f"{ds.name} filter")
        if src.unpivot:
            saved, self.aliases = self.aliases, {a for m in src.stack for a in (*m.columns, *m.constants)}
            for item in src.unpivot.items:
                for column in item.columns.values():
                    self.frame(column, src.unpivot.where, f"{ds.name} unpivot item")
            self.aliases = saved
        for v in ds.variables:
            self.call(v.algorithm, f"{ds.name}.{v.name}")
        for q in ds.supplemental:
            self.call(q.algorithm, f"{ds.supp_name} {q.qnam}")
        for d in ds.derived_records:
            self.call(d.algorithm, f"{ds.name} derived records")
        return self.uses


def column_uses(specs: Specs, algorithms: Catalogue) -> list[ColumnUse]:
    """Every raw column the specs rely on: study.yaml forms first, then each dataset in listing order."""
    uses: list[ColumnUse] = []
    for form in specs.study.forms:
        for column in form.required_columns:
            uses.append(ColumnUse((form.name,), column, form.where, f"form {form.name} required_columns"))
        if form.subject_column:
            uses.append(ColumnUse((form.name,), form.subject_column, form.where, f"form {form.name} subject_column"))
    return uses + mapped_column_uses(specs, algorithms)


def mapped_column_uses(specs: Specs, algorithms: Catalogue) -> list[ColumnUse]:
    """The raw columns that reach SDTM: the enrolment form's subject and site columns and every column a
    dataset reads (its source and its algorithms' declared inputs); a form's required columns are not uses."""
    uses: list[ColumnUse] = []
    enrol = specs.study.subject.get("form")
    for key in ("subject_column", "site_column"):
        column = specs.study.subject.get(key)
        if isinstance(enrol, str) and isinstance(column, str):
            uses.append(ColumnUse((enrol,), column, specs.study.where, f"subject.{key}"))
    for ds in specs.datasets:
        if ds.source.generator is None:
            form = specs.study.form(ds.source.form) if ds.source.form else None
            uses.extend(_DatasetColumns(ds, algorithms, form.subject_column if form else None).collect())
    return uses


def declared_columns(specs: Specs, form_name: str, algorithms: Catalogue) -> tuple[str, ...]:
    """The columns a form has as far as the specs know: rename targets, required and used columns."""
    form = specs.study.form(form_name)
    names: dict[str, None] = {}
    if form is not None:
        names.update(dict.fromkeys(form.columns.values()))
    for use in column_uses(specs, algorithms):
        if use.forms == (form_name,):
            names.setdefault(use.column, None)
    return tuple(names)
