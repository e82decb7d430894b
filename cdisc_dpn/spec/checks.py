"""Semantic checks of a loaded Specs object (references, registry, SDTMIG, terminology).

Each check looks at one concern and returns Findings; `check_specs` assembles them. Every
finding carries the spec file and line of the object it is about, a stable code and a fix.
Codes (all stage "spec"):

  SPEC-ALGO-UNKNOWN          algorithm name not in the registry (message lists the known ones)
  SPEC-ALGO-KIND             a variable/records/source algorithm used in the wrong place (e.g. a
                             records algorithm as a variable's algorithm)
  SPEC-ALGO-PARAM-MISSING    a required parameter of the algorithm is not given
  SPEC-ALGO-PARAM-UNKNOWN    a parameter the algorithm does not accept
  SPEC-ALGORITHM-PARAM       a parameter's value is not of the type the algorithm declares (a list where a
                             mapping is expected, a text where a number is, an unknown key inside it...)
  SPEC-ALGO-VARIABLE         a variable an algorithm reads (its `variable:`, or any input its parameter model
                             declares: result:, testcd:, by:, USUBJID...) is no variable of the dataset
  SPEC-ALGO-REGISTRY         (notice) no algorithm catalogue was passed in; names not checked
  SPEC-DOMAIN-UNKNOWN        (warning) the dataset's domain is not in SDTMIG 3.4; variables not checked
  SPEC-VAR-NOT-IN-SDTMIG     variable not in the SDTMIG domain and not `sponsor_defined: true`
  SPEC-VAR-SPONSOR-STANDARD  (warning) `sponsor_defined: true` on a variable SDTMIG defines
  SPEC-VAR-REQ-MISSING       a Req variable of the SDTMIG domain is not in the spec
  SPEC-VAR-LABEL             (warning) label differs from SDTMIG 3.4
  SPEC-VAR-TYPE              (warning) type (Char/Num) differs from SDTMIG 3.4
  SPEC-VAR-DUPLICATE         the same variable name twice in one dataset
  SPEC-DATASET-DUPLICATE     two dataset specs with the same dataset name
  SPEC-CODELIST-UNKNOWN      codelist neither in the CT package nor a sponsor codelist
  SPEC-CODELIST-DUPLICATE    two sponsor codelists with the same id
  SPEC-CODELIST-EXTENDS      sponsor codelist extends a code that is not a CT codelist
  SPEC-CODELIST-NOT-EXTENSIBLE  sponsor codelist extends a non-extensible CT codelist
  SPEC-COLLECTED-TERM        a collected_values map entry maps a raw value to a term that is not in its
                             codelist (CDISC terms plus the study's declared sponsor extensions)
  SPEC-LONG-TEXT             `long_text: supp` on a Num variable, or its SUPP-- QNAMs (AETERM1...) clash with a
                             declared supplemental qualifier
  SPEC-RECODE-TARGET         a `map:` (recode, map_values) or collected_values target that is not a term of
                             the variable's codelist(s) (its own, or its value-level ones) when none of them is
                             extensible
  SPEC-RECODE-CHANGES-TERM   a `map:` or collected_values entry recodes a value that is itself a term (or a
                             synonym of one) of the codelist to another term of it
  SPEC-FORM-UNDECLARED       a source/join/stack form (or an algorithm's `form:`) not declared under `forms:` in study.yaml
  SPEC-FORM-EXCLUDED         (warning) a dataset reads a form declared with `exclude_reason`
  SPEC-SOURCE-EMPTY          source has no form, no stack and no generate
  SPEC-SOURCE-AMBIGUOUS      (warning) source names both form and stack (stack wins), or generate with a form
  SPEC-KEY-UNKNOWN           keys/sort name a variable not in the dataset
  SPEC-VLM-VARIABLE          value_level variable (or a where-clause variable) not in the dataset
  SPEC-SUPP-IDVAR            supplemental idvar not in the dataset
  SPEC-QNAM-DUPLICATE        the same QNAM twice in one dataset's supplemental qualifiers
  SPEC-QNAM-STANDARD         (warning) QNAM equals a standard variable of the domain
  SPEC-UNIT-NO-STANDARD      unit conversion for a test code with no standard unit
  SPEC-UNIT-TARGET           unit conversion converts to a unit other than the standard unit
  SPEC-ARM-ELEMENT           an arm lists an element code not declared under `elements:`
  SPEC-VISIT-ARM             a visit lists an arm code not declared under `arms:`
  SPEC-VISIT-DUPLICATE       two visits with the same VISITNUM
  SPEC-DEFINE-DATE           study.yaml define: created is not an ISO 8601 date-time, or data_cutoff
                             not an ISO 8601 date (a cut-off in another form would switch the check off)
  SPEC-FORM-OPTION           a reader option on a form of another format (warning), or a delimiter
                             that is not one character
  SPEC-FORM-COLUMNS          a form's columns: map gives two raw columns the same name
  SPEC-FORM-HEADER           (loader) header_row and skip_rows disagree
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Callable, Iterable, Iterator, Mapping

from cdisc_dpn.errors import Finding, Severity
from cdisc_dpn.spec.model import (
    AlgorithmCall, DatasetSpec, SpecLocation, Specs,
)
from cdisc_dpn.spec.params import describe, path_text
from cdisc_dpn.spec.yamlsafe import LineDict, LineList

STAGE = "spec"
AlgorithmTable = Mapping[str, object]   # name -> derive.catalogue.Algorithm (.required, .optional, .params model)


def _finding(code: str, message: str, where: SpecLocation | None, fix: str, *,
             severity: Severity = Severity.ERROR, dataset: str | None = None,
             variable: str | None = None, value: str | None = None) -> Finding:
    where = where or SpecLocation("")
    return Finding(code=code, severity=severity, message=message, stage=STAGE, dataset=dataset,
                   variable=variable, value=value, file=where.file or None, spec_line=where.line, fix=fix)


# --------------------------------------------------------------------------- algorithms
# where an algorithm is named -> the registry kind it must have
KIND_OF_USE = {"source generate": "source", "derived_records": "records"}


def _algorithm_calls_of(ds: DatasetSpec) -> Iterator[tuple[AlgorithmCall, str, str | None, str]]:
    """(call, dataset, variable, what) for every algorithm a dataset spec names."""
    if ds.source.generator is not None:
        yield ds.source.generator, ds.name, None, "source generate"
    for v in ds.variables:
        yield v.algorithm, ds.name, v.name, f"variable {v.name}"
    for q in ds.supplemental:
        yield q.algorithm, ds.name, q.qnam, f"supplemental qualifier {q.qnam}"
    for d in ds.derived_records:
        yield d.algorithm, ds.name, None, "derived_records"


def _kind_for(what: str) -> str:
    return KIND_OF_USE.get(what, "variable")


def _algorithm_calls(specs: Specs) -> Iterator[tuple[AlgorithmCall, str, str | None, str]]:
    for ds in specs.datasets:
        yield from _algorithm_calls_of(ds)


def check_algorithms(specs: Specs, algorithms: AlgorithmTable) -> list[Finding]:
    """Every named algorithm is registered and receives exactly the parameters it accepts."""
    findings = []
    known = ", ".join(sorted(algorithms)) or "(none registered)"
    for call, dataset, variable, what in _algorithm_calls(specs):
        algo = algorithms.get(call.name)
        if algo is None:
            findings.append(_finding(
                "SPEC-ALGO-UNKNOWN", f"{dataset} {what}: unknown algorithm '{call.name}'; known algorithms: {known}",
                call.where, "use one of the known algorithm names (see docs/spec-format.md)",
                dataset=dataset, variable=variable, value=call.name))
            continue
        kind, expected = getattr(algo, "kind", "variable"), _kind_for(what)
        if kind != expected:
            usable = ", ".join(n for n, a in sorted(algorithms.items()) if getattr(a, "kind", "variable") == expected)
            findings.append(_finding(
                "SPEC-ALGO-KIND", f"{dataset} {what}: algorithm '{call.name}' is a {kind} algorithm, "
                f"not usable here", call.where, f"use one of: {usable or '(none registered)'}",
                dataset=dataset, variable=variable, value=call.name))
            continue
        given = set(call.params)
        required = set(getattr(algo, "required", ()))
        accepted = required | set(getattr(algo, "optional", ()))
        for name in sorted(required - given):
            findings.append(_finding(
                "SPEC-ALGO-PARAM-MISSING", f"{dataset} {what}: algorithm '{call.name}' needs parameter '{name}'",
                call.where, f"add '{name}:' under params: (required: {', '.join(sorted(required))})",
                dataset=dataset, variable=variable, value=name))
        for name in sorted(given - accepted):
            findings.append(_finding(
                "SPEC-ALGO-PARAM-UNKNOWN",
                f"{dataset} {what}: algorithm '{call.name}' has no parameter '{name}'", call.where,
                f"remove it or use one of: {', '.join(sorted(accepted)) or '(no parameters)'}",
                dataset=dataset, variable=variable, value=name))
        model = getattr(algo, "params", None)
        if model is not None:
            problems = _param_findings(call, model, dataset, variable, what)
            findings.extend(problems)
            if not problems and not (required - given):
                findings.extend(_variables_read(specs, algo, call, dataset, variable, what))
    return findings


def _variables_read(specs: Specs, algo, call: AlgorithmCall, dataset: str, variable: str | None,
                    what: str) -> list[Finding]:
    """Every variable of the dataset the call reads, as its algorithm declares them (with defaults and fixed
    inputs such as USUBJID), is a variable of the dataset: else the call could never run."""
    ds = specs.dataset(dataset)
    names = {v.name for v in ds.variables} if ds is not None else set()
    ref = call.params.get("variable")
    said = ref if isinstance(ref, str) and not ("dataset" in call.params or "from" in call.params) else None
    findings = []
    for name in algo.inputs(call.params).variables:
        if name in names or name == said:       # `variable:` itself: check_algorithm_references says so
            continue
        findings.append(_finding(
            "SPEC-ALGO-VARIABLE", f"{dataset} {what}: algorithm '{call.name}' uses variable {name}, which is not a "
            f"variable of {dataset}", call.where, "fix the variable name or add the variable", dataset=dataset,
            variable=variable, value=name))
    return findings


def _line_below(params, path: tuple, fallback: int | None) -> int | None:
    """The spec line of the value at `path` under params: (nearest known line on the way down)."""
    line, node = getattr(params, "line", None) or fallback, params
    for part in path:
        if isinstance(node, LineDict) and part in node:
            line, node = node.line_of(part), node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and part < len(node):
            line, node = node.item_lines[part], node[part]
        else:
            break
    return line


def _param_findings(call: AlgorithmCall, model, dataset: str, variable: str | None, what: str) -> list[Finding]:
    """Each value that is not of its declared type: a spec error at the value's line, never a data error."""
    findings = []
    for problem in model.problems(call.params):
        name = path_text(problem.path) or "params"
        where = SpecLocation(call.where.file, _line_below(call.params, problem.path, call.where.line))
        findings.append(_finding(
            "SPEC-ALGORITHM-PARAM", f"{dataset} {what}: algorithm '{call.name}' parameter {name}: "
            f"{describe(problem)}", where, f"write {name}: {problem.example}", dataset=dataset,
            variable=variable, value=name))
    return findings


def check_algorithm_references(specs: Specs) -> list[Finding]:
    """Parameters that name a raw form (`form:`) or an SDTM variable (`variable:`) point at real ones."""
    forms = {f.name for f in specs.study.forms}
    findings = []
    for ds in specs.datasets:
        names = {v.name for v in ds.variables}
        for call, dataset, variable, what in _algorithm_calls_of(ds):
            form = call.params.get("form")
            if isinstance(form, str) and form not in forms:
                findings.append(_finding(
                    "SPEC-FORM-UNDECLARED", f"{dataset} {what}: algorithm '{call.name}' reads form '{form}', which "
                    "is not declared under forms: in study.yaml", call.where,
                    "fix the form name or declare the form in study.yaml", dataset=dataset, variable=variable,
                    value=form))
            ref = call.params.get("variable")
            other_dataset = "dataset" in call.params or "from" in call.params
            if isinstance(ref, str) and ref not in names and not other_dataset:
                findings.append(_finding(
                    "SPEC-ALGO-VARIABLE", f"{dataset} {what}: algorithm '{call.name}' uses variable {ref}, which is "
                    f"not a variable of {dataset}", call.where, "fix the variable name or add the variable",
                    dataset=dataset, variable=variable, value=ref))
    return findings


def _no_catalogue() -> Finding:
    return _finding("SPEC-ALGO-REGISTRY", "no algorithm catalogue was given; algorithm names and parameters "
                    "were not checked", None, "check the specs with `cdisc-dpn spec check`",
                    severity=Severity.NOTICE)


# --------------------------------------------------------------------------- SDTMIG conformance
def _sdtmig(domain: str):
    from cdisc_dpn.standards.sdtmig import domain_metadata
    return domain_metadata(domain)


def check_domain_known(ds: DatasetSpec) -> list[Finding]:
    if _sdtmig(ds.domain) is not None:
        return []
    return [_finding("SPEC-DOMAIN-UNKNOWN", f"{ds.name}: domain '{ds.domain}' is not in SDTMIG 3.4; "
                     "its variables are not checked against the standard", ds.where,
                     "check `domain:`; a custom domain needs every variable `sponsor_defined: true`",
                     severity=Severity.WARNING, dataset=ds.name)]


def _model_names(ds: DatasetSpec) -> frozenset[str]:
    from cdisc_dpn.standards.sdtmig import model_variable_names
    return model_variable_names(ds.dataset_class, ds.domain)


def check_variables_in_sdtmig(ds: DatasetSpec) -> list[Finding]:
    meta = _sdtmig(ds.domain)
    if meta is None:
        return [_finding("SPEC-VAR-NOT-IN-SDTMIG", f"{ds.name}.{v.name}: custom domain '{ds.domain}' variable "
                         "is not marked sponsor_defined", v.where, "add `sponsor_defined: true`",
                         dataset=ds.name, variable=v.name)
                for v in ds.variables if not v.sponsor_defined]
    findings = []
    for v in ds.variables:
        standard = meta.variable(v.name)
        if standard is None and not v.sponsor_defined and v.name not in _model_names(ds):
            findings.append(_finding(
                "SPEC-VAR-NOT-IN-SDTMIG", f"{ds.name}.{v.name}: variable is not in SDTMIG 3.4 domain {ds.domain}",
                v.where, "fix the name, move it under supplemental: as a QNAM, or set `sponsor_defined: true`",
                dataset=ds.name, variable=v.name))
        elif standard is not None and v.sponsor_defined:
            findings.append(_finding(
                "SPEC-VAR-SPONSOR-STANDARD", f"{ds.name}.{v.name}: marked sponsor_defined but SDTMIG 3.4 defines it",
                v.where, "remove `sponsor_defined: true`", severity=Severity.WARNING,
                dataset=ds.name, variable=v.name))
    return findings


def check_required_variables(ds: DatasetSpec) -> list[Finding]:
    meta = _sdtmig(ds.domain)
    if meta is None:
        return []
    present = {v.name for v in ds.variables}
    return [_finding("SPEC-VAR-REQ-MISSING", f"{ds.name}: required SDTMIG variable {s.name} ({s.label}) is missing",
                     ds.where, f"add a variable entry for {s.name} under variables:", dataset=ds.name,
                     variable=s.name)
            for s in meta.variables if s.core == "Req" and s.name not in present]


def check_labels_and_types(ds: DatasetSpec) -> list[Finding]:
    meta = _sdtmig(ds.domain)
    if meta is None:
        return []
    findings = []
    for v in ds.variables:
        standard = meta.variable(v.name)
        if standard is None:
            continue
        if v.label != standard.label:
            findings.append(_finding(
                "SPEC-VAR-LABEL", f"{ds.name}.{v.name}: label '{v.label}' differs from SDTMIG 3.4 '{standard.label}'",
                v.where, f"use label: {standard.label}", severity=Severity.WARNING, dataset=ds.name,
                variable=v.name))
        if v.type != standard.type:
            findings.append(_finding(
                "SPEC-VAR-TYPE", f"{ds.name}.{v.name}: type {v.type} differs from SDTMIG 3.4 {standard.type}",
                v.where, f"use type: {standard.type}", severity=Severity.WARNING, dataset=ds.name,
                variable=v.name))
    return findings


# --------------------------------------------------------------------------- duplicates
def _duplicates(names: Iterable[str]) -> set[str]:
    return {n for n, c in Counter(names).items() if c > 1}


def check_duplicate_datasets(specs: Specs) -> list[Finding]:
    dups = _duplicates(ds.name for ds in specs.datasets)
    seen: set[str] = set()
    findings = []
    for ds in specs.datasets:
        if ds.name in dups and ds.name in seen:
            findings.append(_finding("SPEC-DATASET-DUPLICATE", f"dataset {ds.name} is specified more than once",
                                     ds.where, "keep one spec file per dataset in study.yaml datasets:",
                                     dataset=ds.name))
        seen.add(ds.name)
    return findings


def check_duplicate_variables(ds: DatasetSpec) -> list[Finding]:
    seen: set[str] = set()
    findings = []
    for v in ds.variables:
        if v.name in seen:
            findings.append(_finding("SPEC-VAR-DUPLICATE", f"{ds.name}.{v.name}: variable declared twice",
                                     v.where, "remove or rename one of the entries", dataset=ds.name,
                                     variable=v.name))
        seen.add(v.name)
    return findings


def check_qnams(ds: DatasetSpec) -> list[Finding]:
    meta = _sdtmig(ds.domain)
    seen: set[str] = set()
    findings = []
    for q in ds.supplemental:
        if q.qnam in seen:
            findings.append(_finding("SPEC-QNAM-DUPLICATE", f"{ds.supp_name}: QNAM {q.qnam} declared twice",
                                     q.where, "give each supplemental qualifier its own QNAM",
                                     dataset=ds.supp_name, variable=q.qnam))
        elif meta is not None and meta.variable(q.qnam) is not None:
            findings.append(_finding("SPEC-QNAM-STANDARD", f"{ds.supp_name}: QNAM {q.qnam} is a standard "
                                     f"{ds.domain} variable", q.where,
                                     "map it as a variable of the parent domain instead",
                                     severity=Severity.WARNING, dataset=ds.supp_name, variable=q.qnam))
        seen.add(q.qnam)
    return findings


# --------------------------------------------------------------------------- references inside a dataset
def check_keys(ds: DatasetSpec) -> list[Finding]:
    names = {v.name for v in ds.variables}
    findings = []
    lists = [("keys", ds.keys)] + ([("sort", ds.sort)] if ds.sort != ds.keys else [])  # sort defaults to keys
    for what, seq in lists:
        for key in seq:
            if key not in names:
                findings.append(_finding("SPEC-KEY-UNKNOWN", f"{ds.name}: {what} names {key}, which is not a "
                                         "variable of the dataset", ds.where,
                                         f"fix `{what}:` or add {key} under variables:", dataset=ds.name,
                                         variable=key))
    return findings


def check_value_level(ds: DatasetSpec) -> list[Finding]:
    names = {v.name for v in ds.variables}
    findings = []
    for vl in ds.value_level:
        if vl.variable not in names:
            findings.append(_finding("SPEC-VLM-VARIABLE", f"{ds.name}: value_level for {vl.variable}, which is "
                                     "not a variable of the dataset", vl.where,
                                     "fix `variable:` or add the variable under variables:", dataset=ds.name,
                                     variable=vl.variable))
        for cond in vl.where_clause:
            if cond.variable not in names:
                findings.append(_finding("SPEC-VLM-VARIABLE", f"{ds.name}: value_level where clause tests "
                                         f"{cond.variable}, which is not a variable of the dataset", vl.where,
                                         "fix the variable name under where:", dataset=ds.name,
                                         variable=cond.variable))
    return findings


def check_supp_idvar(ds: DatasetSpec) -> list[Finding]:
    names = {v.name for v in ds.variables}
    return [_finding("SPEC-SUPP-IDVAR", f"{ds.supp_name}.{q.qnam}: idvar {q.idvar} is not a variable of {ds.name}",
                     q.where, f"use a variable of {ds.name} (usually {ds.domain}SEQ) or leave idvar out",
                     dataset=ds.supp_name, variable=q.qnam, value=q.idvar)
            for q in ds.supplemental if q.idvar and q.idvar not in names]


# --------------------------------------------------------------------------- forms and sources
def check_source_forms(specs: Specs, ds: DatasetSpec) -> list[Finding]:
    declared = {f.name: f for f in specs.study.forms}
    src = ds.source
    uses = []
    if src.form:
        uses.append(("source form", src.form, src.where))
    uses += [("join form", j.form, j.where) for j in src.joins]
    uses += [("stack form", m.form, m.where) for m in src.stack]
    findings = []
    for what, form, where in uses:
        if form not in declared:
            findings.append(_finding(
                "SPEC-FORM-UNDECLARED", f"{ds.name}: {what} '{form}' is not declared under forms: in study.yaml; "
                f"declared forms: {', '.join(sorted(declared)) or '(none)'}", where,
                "fix the form name or declare the form in study.yaml", dataset=ds.name, value=form))
        elif declared[form].exclude_reason:
            findings.append(_finding(
                "SPEC-FORM-EXCLUDED", f"{ds.name}: {what} '{form}' is declared as not mapped "
                f"({declared[form].exclude_reason})", where, "remove exclude_reason from the form or stop using it",
                severity=Severity.WARNING, dataset=ds.name, value=form))
    return findings


def check_source_shape(ds: DatasetSpec) -> list[Finding]:
    src = ds.source
    if not (src.form or src.stack or src.generator):
        return [_finding("SPEC-SOURCE-EMPTY", f"{ds.name}: source has neither form nor stack nor generate",
                         src.where, "add `form: <form name>`, a `stack:` or `generate: <algorithm>`",
                         dataset=ds.name)]
    findings = []
    if src.form and src.stack:
        findings.append(_finding("SPEC-SOURCE-AMBIGUOUS", f"{ds.name}: source has both form and stack; "
                                 "the stack is used and form is ignored", src.where,
                                 "remove `form:` or put that form into the stack", severity=Severity.WARNING,
                                 dataset=ds.name))
    if src.generator and (src.form or src.stack):
        findings.append(_finding("SPEC-SOURCE-AMBIGUOUS", f"{ds.name}: source has generate and raw forms",
                                 src.where, "a generated dataset reads no form: remove form/stack",
                                 severity=Severity.WARNING, dataset=ds.name))
    return findings


def check_long_text(ds: DatasetSpec) -> list[Finding]:
    """`long_text: supp` needs a Char variable and QNAMs of its own (SDTMIG 4.5.3.2)."""
    from cdisc_dpn.spec.supp import long_text_qnam
    declared = {q.qnam: q for q in ds.supplemental}
    findings = []
    for v in ds.variables:
        if not v.long_text:
            continue
        if v.type != "Char":
            findings.append(_finding("SPEC-LONG-TEXT", f"{ds.name}.{v.name}: long_text applies to Char variables; "
                                     f"{v.name} is {v.type}", v.where, "remove long_text from the variable",
                                     dataset=ds.name, variable=v.name, value=v.long_text))
        for part in range(1, 10):
            clash = declared.get(long_text_qnam(v.name, part))
            if clash is not None:
                findings.append(_finding("SPEC-LONG-TEXT", f"{ds.name}.{v.name}: the supplemental qualifier "
                                         f"{clash.qnam} is also the QNAM of part {part} of {v.name}'s long text",
                                         clash.where, "rename the qualifier (SDTMIG 4.5.3.2 reserves "
                                         f"{long_text_qnam(v.name, 1)}, {long_text_qnam(v.name, 2)}...)",
                                         dataset=ds.name, variable=v.name, value=clash.qnam))
    return findings


# --------------------------------------------------------------------------- terminology
def _ct():
    from cdisc_dpn.terminology.ct import load_ct
    return load_ct()


def _codelist_uses(ds: DatasetSpec) -> Iterator[tuple[str, str, SpecLocation, str]]:
    for v in ds.variables:
        if v.codelist:
            yield v.codelist, v.name, v.where, "variable"
    for vl in ds.value_level:
        if vl.codelist:
            yield vl.codelist, vl.variable, vl.where, "value_level"
    for q in ds.supplemental:
        if q.codelist:
            yield q.codelist, q.qnam, q.where, "supplemental qualifier"


def check_codelist_references(specs: Specs) -> list[Finding]:
    ct = _ct()
    sponsor = {cl.id for cl in specs.terminology.codelists}
    findings = []
    for ds in specs.datasets:
        for code, variable, where, what in _codelist_uses(ds):
            if code not in sponsor and ct.get(code) is None:
                findings.append(_finding(
                    "SPEC-CODELIST-UNKNOWN", f"{ds.name}.{variable}: {what} codelist '{code}' is neither in CDISC CT "
                    f"{ct.version} nor a sponsor codelist", where,
                    "use an NCI codelist code (e.g. C66731) or submission name (SEX), or declare it in the "
                    "study terminology file", dataset=ds.name, variable=variable, value=code))
    term_file = next((cl.where.file for cl in specs.terminology.codelists), None)
    for code in specs.terminology.collected_values:
        if code not in sponsor and ct.get(code) is None:
            findings.append(_finding(
                "SPEC-CODELIST-UNKNOWN", f"collected_values for codelist '{code}', which is neither in CDISC CT nor "
                "a sponsor codelist", SpecLocation(term_file or ""), "fix the codelist code under collected_values:",
                value=code))
    return findings


def _recoded_codelists(ds: DatasetSpec, name: str, call: AlgorithmCall, own: str | None) -> list[str]:
    """Codelists the targets of a variable's `map:` may come from: its own and its value-level ones."""
    codes = {str(c) for c in (call.params.get("codelist"), own) if c}
    return sorted(codes | {vl.codelist for vl in ds.value_level if vl.variable == name and vl.codelist})


def _terms_named(cl, raw: str) -> list:
    """Terms whose submission value or a synonym is `raw` (case and blanks ignored)."""
    return cl.terms_named(raw)


def _recode_findings(terminology, codes: list[str], mapping: Mapping, what: str, where: SpecLocation,
                     dataset: str | None, variable: str | None, check_targets: bool = True) -> list[Finding]:
    lists = [cl for cl in (terminology.get(c) for c in codes) if cl is not None]
    if not lists:
        return []
    findings = []
    for raw, target in mapping.items():
        if not isinstance(target, str) or target == "":
            continue
        homes = [cl for cl in lists if cl.term(target) is not None]
        if not homes:
            if not check_targets or any(cl.extensible for cl in lists):
                continue      # a sponsor term of an extensible codelist: validation warns (DPN-GX-CT-EXT)
            findings.append(_finding(
                "SPEC-RECODE-TARGET", f"{what}: '{raw}' is recoded to '{target}', which is not a term of "
                f"{' or '.join(f'{cl.code} ({cl.submission_name})' for cl in lists)} in CT {terminology.version}",
                where, "use the codelist's submission value (see the CT package), or declare the term in a "
                "sponsor extension of an extensible codelist", dataset=dataset, variable=variable, value=str(raw)))
            continue
        for cl in homes:
            matches = _terms_named(cl, str(raw))
            if len(matches) != 1 or matches[0].value == target:
                continue      # no term, the target itself, or ambiguous ("eGFR": EGFR's value, GFRE's synonym)
            term = matches[0]
            findings.append(_finding(
                "SPEC-RECODE-CHANGES-TERM", f"{what}: '{raw}' is the term {term.value}"
                f"{f' ({term.code})' if term.code else ''} of {cl.code} ({cl.submission_name}) in CT "
                f"{terminology.version}, but it is recoded to {target}", where,
                f"map '{raw}' to {term.value} (with `recode` and the codelist, the entry is not needed)",
                dataset=dataset, variable=variable, value=str(raw)))
    return findings


def check_recode_maps(specs: Specs) -> list[Finding]:
    """A value map must land on the codelist's terms and must not turn one CT term into another.

    Why: `map_values` and `recode ... map:` bypass the codelist lookup, so a stale belief about
    CT (e.g. "PROTOCOL VIOLATION is gone") silently recodes a valid term into a different one.
    """
    from cdisc_dpn.terminology.ct import load_terminology
    terminology = load_terminology(specs.terminology)
    findings = []
    for ds in specs.datasets:
        for v in ds.variables:
            call = v.algorithm
            if call.name not in ("recode", "map_values") or not isinstance(call.params.get("map"), Mapping):
                continue
            codes = _recoded_codelists(ds, v.name, call, v.codelist)
            findings += _recode_findings(terminology, codes, call.params["map"], f"{ds.name}.{v.name} map",
                                         call.where if call.where.line else v.where, ds.name, v.name)
    term_file = next((cl.where.file for cl in specs.terminology.codelists), None)
    for code, mapping in specs.terminology.collected_values.items():
        # targets outside the codelist: SPEC-COLLECTED-TERM (check_collected_value_maps), at the entry's line
        where = specs.terminology.collected_where.get(code, {})
        for raw, target in mapping.items():
            findings += _recode_findings(terminology, [code], {raw: target}, f"collected_values of {code}",
                                         where.get(raw) or SpecLocation(term_file or ""), None, None,
                                         check_targets=False)
    return findings


def check_sponsor_codelists(specs: Specs) -> list[Finding]:
    ct = _ct()
    findings = []
    seen: set[str] = set()
    for cl in specs.terminology.codelists:
        if cl.id in seen:
            findings.append(_finding("SPEC-CODELIST-DUPLICATE", f"sponsor codelist '{cl.id}' is declared twice",
                                     cl.where, "merge the two entries", value=cl.id))
        seen.add(cl.id)
        if not cl.extends:
            continue
        base = ct.get(cl.extends)
        if base is None:
            findings.append(_finding("SPEC-CODELIST-EXTENDS", f"sponsor codelist '{cl.id}' extends '{cl.extends}', "
                                     f"which is not a codelist of CDISC CT {ct.version}", cl.where,
                                     "use the NCI code of the CDISC codelist (e.g. C71620 for UNIT)", value=cl.extends))
        elif not base.extensible:
            findings.append(_finding("SPEC-CODELIST-NOT-EXTENSIBLE", f"sponsor codelist '{cl.id}' extends "
                                     f"{base.code} ({base.submission_name}), which CDISC marks non-extensible",
                                     cl.where, "map the collected values to existing terms via collected_values: "
                                     "instead of adding terms", value=cl.extends))
    return findings


def check_collected_value_maps(specs: Specs) -> list[Finding]:
    """Every collected-value map entry lands on a term of its codelist (CT terms + declared extensions),
    so a typo in the map is a spec error at its line, not a stream of off-codelist findings in the data."""
    terminology = _ct().with_study(specs.terminology)
    term_file = next((cl.where.file for cl in specs.terminology.codelists), "")
    findings = []
    for code, mapping in specs.terminology.collected_values.items():
        codelist = terminology.get(code)
        if codelist is None:
            continue                                  # SPEC-CODELIST-UNKNOWN says so already
        values = codelist.values()
        known = set(values)
        where_of = specs.terminology.collected_where.get(code, {})
        for raw, target in mapping.items():
            if target in known:
                continue
            near = [v for v in values if v.casefold() == target.casefold()]
            if near:
                fix = f"write the term exactly as CDISC does: {near[0]!r}"
            elif codelist.extensible or codelist.sponsor:
                fix = (f"map it to one of the codelist's terms, or declare {target!r} as a sponsor extension "
                       f"under codelists: (extends: {codelist.code})")
            else:
                fix = f"map it to one of the codelist's terms; {codelist.code} is not extensible"
            shown = ", ".join(values[:12]) + (f", ... ({len(values)} terms)" if len(values) > 12 else "")
            findings.append(_finding(
                "SPEC-COLLECTED-TERM", f"collected_values: {code} ({codelist.submission_name}) maps {raw!r} to "
                f"{target!r}, which is not a term of the codelist nor a declared sponsor extension; terms: {shown}",
                where_of.get(raw) or SpecLocation(term_file), fix, value=target))
    return findings


def check_unit_conversions(specs: Specs) -> list[Finding]:
    std = specs.terminology.standard_units
    findings = []
    for u in specs.terminology.unit_conversions:
        if u.testcd not in std:
            findings.append(_finding("SPEC-UNIT-NO-STANDARD", f"unit conversion for {u.testcd} but {u.testcd} has no "
                                     "standard unit", u.where, f"add '{u.testcd}: {u.to_unit}' under standard_units:",
                                     value=u.testcd))
        elif std[u.testcd] != u.to_unit:
            findings.append(_finding("SPEC-UNIT-TARGET", f"unit conversion for {u.testcd} converts to {u.to_unit} "
                                     f"but the standard unit is {std[u.testcd]}", u.where,
                                     f"set to: {std[u.testcd]}", value=u.testcd))
    return findings


# --------------------------------------------------------------------------- study design
def check_trial_design(specs: Specs) -> list[Finding]:
    study = specs.study
    etcds = {e.etcd for e in study.elements}
    armcds = {a.armcd for a in study.arms}
    findings = []
    for arm in study.arms:
        for etcd in arm.elements:
            if etcd not in etcds:
                findings.append(_finding("SPEC-ARM-ELEMENT", f"arm {arm.armcd} lists element {etcd}, which is not "
                                         "declared under elements:", arm.where,
                                         f"declare element {etcd} or fix the code", value=etcd))
    visitnums: set[float] = set()
    for visit in study.visits:
        for armcd in visit.arms:
            if armcd not in armcds:
                findings.append(_finding("SPEC-VISIT-ARM", f"visit {visit.visit} lists arm {armcd}, which is not "
                                         "declared under arms:", visit.where, "fix the arm code", value=armcd))
        if visit.visitnum in visitnums:
            findings.append(_finding("SPEC-VISIT-DUPLICATE", f"VISITNUM {visit.visitnum:g} is used by two visits",
                                     visit.where, "give each planned visit its own visitnum",
                                     value=f"{visit.visitnum:g}"))
        visitnums.add(visit.visitnum)
    return findings


# --------------------------------------------------------------------------- study dates
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")


def _iso_problem(text: str, pattern: re.Pattern) -> bool:
    from datetime import datetime
    if not pattern.fullmatch(text):
        return True
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return True
    return False


def check_define_dates(specs: Specs) -> list[Finding]:
    """define: created (stamped into define.xml) and data_cutoff (dates after it are reported) are ISO 8601."""
    define = specs.study.define
    findings = []
    for key, pattern, form, example in (("created", _DATETIME, "YYYY-MM-DDThh:mm:ss", "2026-12-31T00:00:00"),
                                        ("data_cutoff", _DATE, "YYYY-MM-DD", "2026-12-31")):
        value = define.get(key)
        if value is None or not _iso_problem(str(value), pattern):
            continue
        line = define.line_of(key) if hasattr(define, "line_of") else specs.study.where.line
        findings.append(_finding("SPEC-DEFINE-DATE", f"define: {key} {value!r} is not an ISO 8601 {form}",
                                 SpecLocation(specs.study.where.file or "study.yaml", line),
                                 f"write it as {form}, e.g. {example}", value=str(value)))
    return findings


# --------------------------------------------------------------------------- assembly
DATASET_CHECKS: tuple[Callable[[DatasetSpec], list[Finding]], ...] = (
    check_domain_known, check_duplicate_variables, check_variables_in_sdtmig, check_required_variables,
    check_labels_and_types, check_keys, check_value_level, check_supp_idvar, check_qnams, check_source_shape,
    check_long_text,
)
# --------------------------------------------------------------------------- form options
_FORMAT_OPTIONS = {  # option -> (formats it applies to, its default)
    "delimiter": (("csv",), ","), "header_row": (("csv", "xlsx"), 1), "numbers": (("xpt", "sas7bdat"), "formatted"),
    "format_catalog": (("xpt", "sas7bdat"), None), "value_formats": (("xpt", "sas7bdat"), {}),
    "form_oid": (("odm", "xml"), None), "item_groups": (("odm", "xml"), ()),
}


def check_form_options(specs: Specs) -> list[Finding]:
    """Reader options fit the form's format; the columns: map gives every spec name once."""
    findings = []
    for form in specs.study.forms:
        for option, (formats, default) in _FORMAT_OPTIONS.items():
            value = getattr(form, option)
            if value not in (default, None) and form.format not in formats:
                findings.append(_finding(
                    "SPEC-FORM-OPTION", f"form {form.name!r}: {option} applies to {'/'.join(formats)} forms, "
                    f"not to format {form.format}; it is ignored", form.where, f"remove {option}: from this form",
                    severity=Severity.WARNING, value=str(value)))
        if len(form.delimiter) != 1:
            findings.append(_finding(
                "SPEC-FORM-OPTION", f"form {form.name!r}: delimiter {form.delimiter!r} is not one character",
                form.where, 'use one character or a name: delimiter: ";" / tab / pipe / comma',
                value=form.delimiter))
        targets = Counter(form.columns.values())
        for name, count in sorted(targets.items()):
            if count > 1:
                raws = [raw for raw, new in form.columns.items() if new == name]
                findings.append(_finding(
                    "SPEC-FORM-COLUMNS", f"form {form.name!r}: the columns: map renames {', '.join(raws)} all to "
                    f"{name!r}", form.where, "give each raw column its own name", value=name))
    return findings


SPECS_CHECKS: tuple[Callable[[Specs], list[Finding]], ...] = (
    check_form_options, check_duplicate_datasets, check_algorithm_references, check_codelist_references,
    check_sponsor_codelists, check_unit_conversions, check_trial_design, check_collected_value_maps,
    check_define_dates, check_recode_maps,
)


def check_specs(specs: Specs, algorithms: AlgorithmTable | None = None) -> list[Finding]:
    """Every semantic problem of the specs. `algorithms` is the catalogue (derive.catalogue), passed in by
    the layer above: spec sits below the stages whose functions the catalogue lists."""
    findings: list[Finding] = []
    if algorithms is None:
        findings.append(_no_catalogue())
    else:
        findings.extend(check_algorithms(specs, algorithms))
    for ds in specs.datasets:
        findings.extend(check_source_forms(specs, ds))
        for check in DATASET_CHECKS:
            findings.extend(check(ds))
    for check in SPECS_CHECKS:
        findings.extend(check(specs))
    return findings
