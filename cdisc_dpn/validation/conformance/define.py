"""Checks of the datasets against define.xml: datasets and variables described, types and lengths."""
from __future__ import annotations


import pandas as pd

from .base import CheckContext, Violation, check
from .columns import dataset_record, text


NUM_DATA_TYPES = frozenset({"integer", "float", "double", "decimal"})


def _variable_type(ctx: CheckContext, dataset: str, variable: str) -> str:
    spec = ctx.specs.get(dataset)
    var = spec.variable(variable) if spec is not None else None
    if var is not None:
        return var.type
    return "Num" if pd.api.types.is_numeric_dtype(ctx.frames[dataset][variable].dtype) else "Char"


def _variable_length(ctx: CheckContext, dataset: str, variable: str) -> int:
    declared = (ctx.lengths.get(dataset) or {}).get(variable)
    if declared:
        return int(declared)
    spec = ctx.specs.get(dataset)
    var = spec.variable(variable) if spec is not None else None
    if var is not None and var.length:
        return int(var.length)
    values = text(ctx.frames[dataset][variable])
    return max(1, int(values.str.encode("utf-8").str.len().max())) if len(values) else 1


@check("define_dataset_described", needs_define=True)
def define_dataset_described(ctx: CheckContext) -> list[Violation]:
    assert ctx.define is not None
    return [Violation(name, None, dataset_record(value=name))
            for name in sorted(ctx.frames) if name not in ctx.define.datasets]


@check("define_dataset_has_data", needs_define=True)
def define_dataset_has_data(ctx: CheckContext) -> list[Violation]:
    assert ctx.define is not None
    return [Violation(name, None, dataset_record(value=name))
            for name in sorted(ctx.define.datasets) if name not in ctx.frames]


@check("define_variable_described", needs_define=True)
def define_variable_described(ctx: CheckContext) -> list[Violation]:
    assert ctx.define is not None
    out = []
    for name in sorted(ctx.frames):
        described = {v.name for v in ctx.define.datasets.get(name, ())}
        if name not in ctx.define.datasets:
            continue
        out += [Violation(name, c, dataset_record(value=c)) for c in ctx.frames[name].columns if c not in described]
    return out


@check("define_variable_has_data", needs_define=True)
def define_variable_has_data(ctx: CheckContext) -> list[Violation]:
    assert ctx.define is not None
    out = []
    for name in sorted(ctx.frames):
        columns = set(ctx.frames[name].columns)
        out += [Violation(name, v.name, dataset_record(value=v.name))
                for v in ctx.define.datasets.get(name, ()) if v.name not in columns]
    return out


@check("define_type_matches", needs_define=True)
def define_type_matches(ctx: CheckContext) -> list[Violation]:
    assert ctx.define is not None
    out = []
    for name in sorted(ctx.frames):
        columns = set(ctx.frames[name].columns)
        for v in ctx.define.datasets.get(name, ()):
            if v.name not in columns:
                continue
            actual = _variable_type(ctx, name, v.name)
            define_num = v.data_type in NUM_DATA_TYPES
            if (actual == "Num") != define_num:
                out.append(Violation(name, v.name, dataset_record(value=v.data_type, type=actual)))
    return out


@check("define_length_matches", needs_define=True)
def define_length_matches(ctx: CheckContext) -> list[Violation]:
    assert ctx.define is not None
    out = []
    for name in sorted(ctx.frames):
        columns = set(ctx.frames[name].columns)
        for v in ctx.define.datasets.get(name, ()):
            if v.name not in columns or v.length is None or _variable_type(ctx, name, v.name) == "Num":
                continue
            actual = _variable_length(ctx, name, v.name)
            if actual != v.length:
                out.append(Violation(name, v.name, dataset_record(value=str(v.length), length=actual)))
    return out
