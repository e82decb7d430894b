"""The types an algorithm's parameters are declared in, and what a call's parameters read.

Why in the spec layer: a parameter mistake is a spec mistake, found by `spec check` at its line and shown to
editors by the JSON Schema, while the catalogue that declares each algorithm's parameters with these types
(derive/catalogue.py) sits above spec and is passed in. One declaration serves four readers: the spec check
(`problems`), the JSON Schema (`schema`), the mapping engine's order of variables and the raw-column checks
(`reads`), and the docs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator

NO_DEFAULT = object()

VARIABLE_PATTERN = r"^[A-Z][A-Z0-9_]{0,7}$"
DATASET_PATTERN = r"^[A-Za-z][A-Za-z0-9]{1,7}$"


@dataclass(frozen=True)
class Problem:
    """One parameter mistake: where below `params:`, what was expected, what was given, how to write it."""

    path: tuple
    expected: str
    given: Any
    example: str
    detail: str = ""


@dataclass
class Reads:
    """The inputs a call names, by kind (each list in first-seen order, no repeats)."""

    variables: list[str] = field(default_factory=list)          # SDTM variables of the dataset being mapped
    other_variables: list[tuple[str, str]] = field(default_factory=list)   # (dataset, variable) elsewhere
    columns: list[str] = field(default_factory=list)            # raw columns of the dataset's working frame
    form_columns: list[tuple[str, str]] = field(default_factory=list)      # (form, column) of another form
    datasets: list[str] = field(default_factory=list)           # finished datasets read (built first)
    dataset_rows: list[str] = field(default_factory=list)       # other datasets' mapped rows (no order needed)
    forms: list[str] = field(default_factory=list)

    def add(self, kind: str, item) -> None:
        target = getattr(self, kind)
        if item not in target:
            target.append(item)


def _shown(value: Any) -> str:
    """A given value in words and YAML-like text: "a list ([QSTESTCD, TCSS01])"."""
    kind = ("nothing" if value is None else "true/false" if isinstance(value, bool) else
            "a number" if isinstance(value, (int, float)) else "a text" if isinstance(value, str) else
            "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else type(value).__name__)
    text = _yaml(value)
    return kind if value is None else f"{kind} ({text if len(text) <= 60 else text[:57] + '...'})"


def _yaml(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) and (not value or value != value.strip()) else str(value)


class ParamType:
    """A parameter's type: in words, as an example, as JSON Schema; its problems; the inputs it names."""

    words = "a value"
    example = "..."

    def schema(self) -> dict:
        return {}

    def problems(self, value: Any, path: tuple) -> Iterator[Problem]:
        return iter(())

    def collect(self, value: Any, reads: Reads, siblings: dict) -> None:
        """Add the inputs `value` names to `reads`; `siblings` is the mapping the value sits in."""

    def wrong(self, value: Any, path: tuple, detail: str = "") -> Problem:
        return Problem(path, self.words, value, self.example, detail)

    def brief(self) -> str:
        """The type in a few words, for the algorithm list in docs/spec-format.md."""
        return self.words


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Text(ParamType):
    """Text; a number is accepted where the algorithm reads it as text (a test code 1, a separator)."""

    words: str = "a text"
    example: str = '"Y"'
    numbers: bool = True
    nonempty: bool = False

    def schema(self) -> dict:
        out: dict = {"type": ["string", "number"] if self.numbers else "string"}
        if self.nonempty:
            out["minLength"] = 1
        return out

    def brief(self) -> str:
        return "text"

    def problems(self, value, path):
        if not (isinstance(value, str) or (self.numbers and _is_number(value))):
            yield self.wrong(value, path)
        elif self.nonempty and value == "":
            yield Problem(path, "a text of at least one character", value, '"-"')


@dataclass(frozen=True)
class Number(ParamType):
    integer: bool = False
    minimum: float | None = None
    nonzero: bool = False

    @property
    def words(self) -> str:
        kind = "a whole number" if self.integer else "a number"
        return kind + (f" >= {self.minimum:g}" if self.minimum is not None else "") + \
            (" other than 0" if self.nonzero else "")

    @property
    def example(self) -> str:
        return "1"

    def brief(self) -> str:
        return self.words[2:]

    def schema(self) -> dict:
        out: dict = {"type": "integer" if self.integer else "number"}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.nonzero:
            out["not"] = {"const": 0}
        return out

    def problems(self, value, path):
        if not _is_number(value) or (self.integer and isinstance(value, float) and not value.is_integer()):
            yield self.wrong(value, path)
        elif (self.minimum is not None and value < self.minimum) or (self.nonzero and value == 0):
            yield self.wrong(value, path)


@dataclass(frozen=True)
class Flag(ParamType):
    words: str = "true or false"
    example: str = "true"

    def schema(self) -> dict:
        return {"type": "boolean"}

    def brief(self) -> str:
        return "true/false"

    def problems(self, value, path):
        if not isinstance(value, bool):
            yield self.wrong(value, path)


@dataclass(frozen=True)
class Choice(ParamType):
    values: tuple[str, ...] = ()

    @property
    def words(self) -> str:
        return "one of " + ", ".join(self.values)

    @property
    def example(self) -> str:
        return self.values[0]

    def schema(self) -> dict:
        return {"enum": list(self.values)}

    def brief(self) -> str:
        return " | ".join(self.values)

    def problems(self, value, path):
        if value not in self.values:
            yield self.wrong(value, path)


@dataclass(frozen=True)
class Scalar(ParamType):
    """A literal value put into the data as is: text, a number or true/false."""

    words: str = "a value (text or number)"
    example: str = "YEARS"
    nullable: bool = False      # empty (`key:` with no value) allowed, read as ""

    def schema(self) -> dict:
        return {"type": ["string", "number", "boolean"] + (["null"] if self.nullable else [])}

    def brief(self) -> str:
        return "value"

    def problems(self, value, path):
        if not isinstance(value, (str, int, float)) and not (self.nullable and value is None):
            yield self.wrong(value, path)


@dataclass(frozen=True)
class Variable(ParamType):
    """An SDTM variable name: of the dataset being mapped, or of the dataset named by sibling `of`
    (default `of_default` when the sibling is absent; no default: this dataset's)."""

    of: str | None = None
    of_default: str | None = None
    words: str = "a variable name (upper case, up to 8 characters)"
    example: str = "VSTESTCD"

    def schema(self) -> dict:
        return {"type": "string", "pattern": VARIABLE_PATTERN}

    def brief(self) -> str:
        if not self.of:
            return "variable"
        return f"variable of `{self.of}`" + (f" ({self.of_default})" if self.of_default else "")

    def problems(self, value, path):
        if not isinstance(value, str) or not re.match(VARIABLE_PATTERN, value):
            yield self.wrong(value, path)

    def collect(self, value, reads, siblings):
        if not isinstance(value, str):
            return
        other = siblings.get(self.of, self.of_default) if self.of else None
        if other is None:
            reads.add("variables", value)
        else:
            reads.add("other_variables", (str(other).upper(), value))


@dataclass(frozen=True)
class Target(Variable):
    """A variable the algorithm writes (a derived record's `set:` and `results:` keys): not an input."""

    def collect(self, value, reads, siblings):
        pass


@dataclass(frozen=True)
class Column(ParamType):
    """A raw column: of the dataset's working frame (a joined form's as <form>.<COLUMN>), or of the form
    named by sibling `form_key`; with `frame_unless`, also of the working frame when that sibling is absent
    (lookup's key, matched on the same name)."""

    form_key: str | None = None
    frame_unless: str | None = None
    words: str = "a raw column name"
    example: str = "AETERM"

    def schema(self) -> dict:
        return {"type": "string", "minLength": 1}

    def brief(self) -> str:
        return f"raw column of `{self.form_key}`" if self.form_key else "raw column"

    def problems(self, value, path):
        if not isinstance(value, str) or not value.strip():
            yield self.wrong(value, path)

    def collect(self, value, reads, siblings):
        if not isinstance(value, str):
            return
        form = siblings.get(self.form_key) if self.form_key else None
        if self.form_key and isinstance(form, str):
            reads.add("form_columns", (form, value))
        if not self.form_key or (self.frame_unless and self.frame_unless not in siblings):
            reads.add("columns", value)


@dataclass(frozen=True)
class Form(ParamType):
    words: str = "a form name declared under forms: in study.yaml"
    example: str = "demog"

    def schema(self) -> dict:
        return {"type": "string", "minLength": 1}

    def problems(self, value, path):
        if not isinstance(value, str) or not value.strip():
            yield self.wrong(value, path)

    def brief(self) -> str:
        return "form"

    def collect(self, value, reads, siblings):
        if isinstance(value, str):
            reads.add("forms", value)


@dataclass(frozen=True)
class Dataset(ParamType):
    """Another dataset's name; `finished`: read complete (built first), else its mapped rows."""

    finished: bool = True
    words: str = "a dataset name"
    example: str = "DM"

    def schema(self) -> dict:
        return {"type": "string", "pattern": DATASET_PATTERN}

    def problems(self, value, path):
        if not isinstance(value, str) or not re.match(DATASET_PATTERN, value):
            yield self.wrong(value, path)

    def brief(self) -> str:
        return "dataset"

    def collect(self, value, reads, siblings):
        if isinstance(value, str):
            reads.add("datasets" if self.finished else "dataset_rows", value.upper())


@dataclass(frozen=True)
class ListOf(ParamType):
    """A list of `item`; `single`: one item may be written without the list."""

    item: ParamType = field(default_factory=Text)
    single: bool = False
    min_items: int = 0

    @property
    def words(self) -> str:
        many = f"a list of {_plural(self.item.words)}"
        if self.min_items:
            many = f"a list of at least {self.min_items} {_plural(self.item.words)}"
        return f"{self.item.words} or {many}" if self.single else many

    @property
    def example(self) -> str:
        return f"[{self.item.example}, ...]"

    def schema(self) -> dict:
        many: dict = {"type": "array", "items": self.item.schema()}
        if self.min_items:
            many["minItems"] = self.min_items
        return {"anyOf": [self.item.schema(), many]} if self.single else many

    def problems(self, value, path):
        if not isinstance(value, list):
            if not self.single or list(self.item.problems(value, path)):
                yield self.wrong(value, path)
            return
        if len(value) < self.min_items:
            yield self.wrong(value, path)
        for i, item in enumerate(value):
            yield from self.item.problems(item, path + (i,))

    def brief(self) -> str:
        item = self.item.brief()
        return f"{item} or list of {item}" if self.single else f"list of {item}"

    def collect(self, value, reads, siblings):
        for item in value if isinstance(value, list) else [value]:
            self.item.collect(item, reads, siblings)


@dataclass(frozen=True)
class MapOf(ParamType):
    """A mapping from keys of type `key` to values of type `value`."""

    value: ParamType = field(default_factory=Text)
    key: ParamType = field(default_factory=lambda: Text(numbers=False))
    min_items: int = 0
    max_items: int | None = None
    words_: str = ""
    example_: str = ""

    @property
    def words(self) -> str:
        if self.words_:
            return self.words_
        return f"a mapping of {_plural(self.key.words)} to {_plural(self.value.words)}"

    @property
    def example(self) -> str:
        return self.example_ or f"{{{self.key.example}: {self.value.example}}}"

    def schema(self) -> dict:
        out: dict = {"type": "object", "additionalProperties": self.value.schema()}
        key = {k: v for k, v in self.key.schema().items() if k != "type"}
        if key:
            out["propertyNames"] = key
        if self.min_items:
            out["minProperties"] = self.min_items
        if self.max_items is not None:
            out["maxProperties"] = self.max_items
        return out

    def problems(self, value, path):
        if not isinstance(value, dict):
            yield self.wrong(value, path)
            return
        if len(value) < self.min_items or (self.max_items is not None and len(value) > self.max_items):
            yield self.wrong(value, path)
            return
        for k, v in value.items():
            if list(self.key.problems(k, path + (k,))):
                yield Problem(path + (k,), f"a key that is {self.key.words}", k, self.key.example)
            yield from self.value.problems(v, path + (k,))

    def brief(self) -> str:
        if self.max_items == 1:
            return f"one {self.key.brief()}: {self.value.brief()}"
        return f"mapping {self.key.brief()} -> {self.value.brief()}"

    def collect(self, value, reads, siblings):
        if isinstance(value, dict):     # keys and values name inputs relative to the mapping's own siblings
            for k, v in value.items():
                self.key.collect(k, reads, siblings)
                self.value.collect(v, reads, siblings)


@dataclass(frozen=True)
class Param:
    name: str
    type: ParamType
    required: bool = False
    default: Any = NO_DEFAULT
    doc: str = ""


@dataclass(frozen=True)
class Record(ParamType):
    """A mapping with named keys; `one_of`: groups of keys of which exactly one must be given."""

    fields: tuple[Param, ...] = ()
    one_of: tuple[tuple[str, ...], ...] = ()
    words_: str = ""
    example_: str = ""

    @property
    def words(self) -> str:
        if self.words_:
            return self.words_
        return "a mapping with " + ", ".join(f"{p.name}:" for p in self.fields)

    @property
    def example(self) -> str:
        if self.example_:
            return self.example_
        shown = [p for p in self.fields if p.required] or list(self.fields[:1])
        return "{" + ", ".join(f"{p.name}: {p.type.example}" for p in shown) + "}"

    def brief(self) -> str:
        return "{" + ", ".join(f"{p.name}{'' if p.required else '?'}: {p.type.brief()}" for p in self.fields) + "}"

    def schema(self) -> dict:
        out: dict = {"type": "object", "properties": {p.name: _property(p) for p in self.fields},
                     "additionalProperties": False}
        required = [p.name for p in self.fields if p.required]
        if required:
            out["required"] = required
        groups = [{"oneOf": [{"required": [k]} for k in group]} for group in self.one_of]
        if len(groups) == 1:
            out.update(groups[0])
        elif groups:
            out["allOf"] = groups
        return out

    def problems(self, value, path, *, top: bool = False):
        """Shape problems; at the top level (`params:` itself) unknown and missing keys are the caller's."""
        if not isinstance(value, dict):
            yield self.wrong(value, path)
            return
        names = {p.name for p in self.fields}
        if not top:
            for key in value:
                if key not in names:
                    yield Problem(path + (key,), "one of the keys " + ", ".join(sorted(names)), key,
                                  self.example, detail="unknown key")
            for p in self.fields:
                if p.required and p.name not in value:
                    yield Problem(path, f"{self.words} (with {p.name}:)", value, self.example,
                                  detail=f"{p.name}: is missing")
        unknown = not top and any(key not in names for key in value)
        for group in self.one_of if not unknown else ():      # a misspelt key is the one meant: said above
            given = [k for k in group if k in value]
            if len(given) != 1:
                keys = " or ".join(f"{k}:" for k in group)
                detail = f"give {keys}" if not given else f"give only one of {keys}, not {' and '.join(given)}"
                yield Problem(path, f"exactly one of {keys}", {k: value[k] for k in given} if given else value,
                              self.example, detail=detail)
        for p in self.fields:
            if p.name in value:
                yield from p.type.problems(value[p.name], path + (p.name,))

    def collect(self, value, reads, siblings):
        if isinstance(value, dict):
            for p in self.fields:
                if p.name in value:
                    p.type.collect(value[p.name], reads, value)


@dataclass(frozen=True)
class AnyOf(ParamType):
    """One of several shapes (e.g. one source or a list of sources)."""

    options: tuple[ParamType, ...] = ()
    words_: str = ""

    @property
    def words(self) -> str:
        return self.words_ or " or ".join(o.words for o in self.options)

    @property
    def example(self) -> str:
        return self.options[0].example

    def brief(self) -> str:
        lists = [o for o in self.options if isinstance(o, ListOf) and o.item in self.options]
        if len(self.options) == 2 and lists:
            return f"{lists[0].item.brief()} or list of them"
        return " or ".join(o.brief() for o in self.options)

    def schema(self) -> dict:
        return {"anyOf": [o.schema() for o in self.options]}

    def problems(self, value, path):
        found = [list(o.problems(value, path)) for o in self.options]
        if all(found):
            best = min(found, key=len)
            yield from (best if len(best) == 1 and best[0].path != path else [self.wrong(value, path)])

    def collect(self, value, reads, siblings):
        for option in self.options:
            if not list(option.problems(value, ())):
                option.collect(value, reads, siblings)
                return


def _plural(words: str) -> str:
    """ "a variable name (upper case)" -> "variable names (upper case)"; "a mapping with x:" -> "mappings with x:"."""
    for article in ("an ", "a "):
        if words.startswith(article):
            rest = words[len(article):]
            cut = min([i for i in (rest.find(m) for m in (" (", " with ", " of ", " to ", " or ")) if i > 0]
                      or [len(rest)])
            head, tail = rest[:cut], rest[cut:]
            return (head if head.endswith("s") else head + "s") + tail
    return words


def _property(p: Param) -> dict:
    out = dict(p.type.schema())
    if p.doc:
        out["description"] = p.doc
    if p.default is not NO_DEFAULT:
        out["default"] = p.default
    return out


@dataclass(frozen=True)
class ParamModel:
    """An algorithm's parameters: each named, typed, required or optional with its default."""

    params: tuple[Param, ...] = ()
    one_of: tuple[tuple[str, ...], ...] = ()
    implicit: tuple[str, ...] = ()      # variables of the dataset read whatever the parameters (USUBJID)

    @property
    def record(self) -> Record:
        return Record(self.params, self.one_of)

    @property
    def required(self) -> frozenset[str]:
        return frozenset(p.name for p in self.params if p.required)

    @property
    def optional(self) -> frozenset[str]:
        return frozenset(p.name for p in self.params if not p.required)

    @property
    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params if p.default is not NO_DEFAULT}

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def problems(self, params: dict) -> list[Problem]:
        """Type and shape problems of the given parameters (unknown and missing names are checked apart)."""
        return list(self.record.problems(dict(params), (), top=True))

    def reads(self, params: dict) -> Reads:
        """The inputs a call names, its defaults applied."""
        reads = Reads()
        merged = {**self.defaults, **dict(params)}
        self.record.collect(merged, reads, merged)
        for name in self.implicit:
            reads.add("variables", name)
        return reads

    def schema(self) -> dict:
        return self.record.schema()

    def markdown(self) -> str:
        """The parameters as the algorithm list in docs/spec-format.md shows them (generated, tested)."""
        if not self.params:
            return "Parameters: none."
        lines = ["Parameters:"]
        for p in sorted(self.params, key=lambda p: (not p.required, p.name)):
            name = f"**{p.name}**" if p.required else p.name
            default = f"; default `{_yaml(p.default)}`" if p.default is not NO_DEFAULT else ""
            doc = f" — {p.doc}" if p.doc else ""
            lines.append(f"- {name} ({p.type.brief()}{default}){doc}")
        for group in self.one_of:
            lines.append(f"- exactly one of {', '.join(f'`{k}`' for k in group)}")
        if self.implicit:
            lines.append(f"- reads also {', '.join(self.implicit)}")
        return "\n".join(lines)


def path_text(path: tuple) -> str:
    """("items", 0) -> "items[0]"; ("cases", 1, "in") -> "cases[1].in"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def describe(problem: Problem) -> str:
    """The problem in one sentence, without the parameter's name (the caller says which)."""
    if problem.detail == "unknown key":
        return f"unknown key {problem.given!r}; expected {problem.expected}"
    if problem.detail:
        return f"{problem.detail} (expected {problem.expected})"
    return f"expected {problem.expected}, given {_shown(problem.given)}"
