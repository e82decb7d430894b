"""CDISC controlled terminology (NCI EVS export shipped as data) plus the study's sponsor terms.

Lookups are by codelist: NCI code (C66731), CDISC submission short name (SEX) or a sponsor
codelist id declared in mappings/. Recoding a collected value tries, in order: the study's
collected-value map, the submission value, the CDISC synonyms and the NCI preferred term,
all compared case- and blank-insensitively.
"""
from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping, Protocol

CT_VERSION = "2025-03-28"
CT_FILE = f"sdtm-terminology-{CT_VERSION}.txt.gz"


class StudyCodelists(Protocol):
    """What the study adds to CT (spec.model.StudyTerminology has it); a protocol so that terminology,
    a standards-layer package, does not import the spec layer above it."""

    codelists: tuple[Any, ...]                        # spec.model.SponsorCodelist
    collected_values: Mapping[str, Mapping[str, str]]  # codelist -> raw -> submission value


def normalise(value: str) -> str:
    return " ".join(str(value).split()).upper()


@dataclass(frozen=True)
class Term:
    value: str                      # CDISC submission value (or sponsor value)
    code: str | None                # NCI C-code; None for sponsor terms
    decode: str | None              # NCI preferred term, for decoded lists
    synonyms: tuple[str, ...] = ()
    extended: bool = False          # sponsor extension of a CDISC list


@dataclass
class Codelist:
    code: str                       # NCI code, or sponsor id
    name: str
    submission_name: str            # the codelist's own submission value (e.g. SEX)
    extensible: bool
    terms: list[Term] = field(default_factory=list)
    sponsor: bool = False           # wholly sponsor-defined
    data_type: str = "text"
    _index: dict[str, str] | None = field(default=None, repr=False)
    _named: tuple[int, dict[str, list[Term]]] | None = field(default=None, repr=False, compare=False)

    def values(self) -> list[str]:
        return [t.value for t in self.terms]

    def term(self, value: str) -> Term | None:
        return next((t for t in self.terms if t.value == value), None)

    def terms_named(self, raw: str) -> list[Term]:
        """Terms whose submission value or a synonym is `raw` (case and blanks ignored), in list order.

        The index is built once per list of terms (rebuilt when terms were added since)."""
        if self._named is None or self._named[0] != len(self.terms):
            named: dict[str, list[Term]] = {}
            for t in self.terms:
                for key in dict.fromkeys(normalise(x) for x in (t.value, *t.synonyms)):
                    named.setdefault(key, []).append(t)
            self._named = (len(self.terms), named)
        return list(self._named[1].get(normalise(raw), ()))

    def lookup(self, collected: str) -> str | None:
        """Submission value for a collected value via value, synonyms or preferred term."""
        if self._index is None:
            index: dict[str, str] = {}
            # Lowest priority first, so exact submission values win on clashes.
            for t in self.terms:
                if t.decode:
                    index.setdefault(normalise(t.decode), t.value)
                for s in t.synonyms:
                    index.setdefault(normalise(s), t.value)
            for t in self.terms:
                index[normalise(t.value)] = t.value
            self._index = index
        return self._index.get(normalise(collected))


class Terminology:
    """The CT package plus sponsor codelists/extensions, looked up by code or name."""

    def __init__(self, codelists: dict[str, Codelist], version: str = CT_VERSION):
        self.version = version
        self._by_code = codelists
        self._by_name = {cl.submission_name: cl for cl in codelists.values() if cl.submission_name}
        self.collected_values: dict[str, dict[str, str]] = {}

    def get(self, key: str) -> Codelist | None:
        return self._by_code.get(key) or self._by_name.get(key)

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def codelists(self) -> list[Codelist]:
        return list(self._by_code.values())

    def recode(self, codelist: str, collected: str) -> str | None:
        """Submission value for a collected answer, or None when it cannot be mapped."""
        if collected is None or str(collected).strip() == "":
            return None
        cl = self.get(codelist)
        study_map = self.collected_values.get(codelist) or (
            self.collected_values.get(cl.submission_name) if cl else None) or (
            self.collected_values.get(cl.code) if cl else None) or {}
        key = normalise(collected)
        for raw, value in study_map.items():
            if normalise(raw) == key:
                return value
        return cl.lookup(collected) if cl else None

    def with_study(self, study: StudyCodelists) -> "Terminology":
        """A copy that includes the study's sponsor codelists, extensions and collected-value maps."""
        codelists = {k: Codelist(v.code, v.name, v.submission_name, v.extensible, list(v.terms), v.sponsor,
                                 v.data_type) for k, v in self._by_code.items()}
        for sc in study.codelists:
            terms = [Term(t.value, t.code, t.decode, t.synonyms, extended=t.extended if sc.extends else False)
                     for t in sc.terms]
            if sc.extends and sc.extends in codelists:
                base = codelists[sc.extends]
                known = set(base.values())
                base.terms.extend(t for t in terms if t.value not in known)
                base._index = base._named = None
            else:
                codelists[sc.id] = Codelist(sc.id, sc.name, sc.id, extensible=False, terms=terms, sponsor=True,
                                            data_type=sc.data_type)
        result = Terminology(codelists, self.version)
        result.collected_values = {k: dict(v) for k, v in study.collected_values.items()}
        return result


def _synonyms(text: str) -> tuple[str, ...]:
    if ";" not in text:                     # most terms have none or one
        text = text.strip()
        return (text,) if text else ()
    return tuple(s.strip() for s in text.split(";") if s.strip())


def _parse_ct(text: str) -> dict[str, Codelist]:
    codelists: dict[str, Codelist] = {}
    reader = csv.reader(io.StringIO(text), delimiter="\t")
    next(reader)
    pending: list[list[str]] = []
    for row in reader:
        if len(row) < 8:
            continue
        if not row[1]:             # code, parent, extensible, name, value, synonyms, definition, preferred
            codelists[row[0]] = Codelist(row[0], row[3], row[4], row[2].strip().lower() == "yes")
        else:
            pending.append(row)
    for row in pending:
        cl = codelists.get(row[1])
        if cl is None:
            continue
        cl.terms.append(Term(row[4], row[0], row[7] or None, _synonyms(row[5]) if row[5] else ()))
    return codelists


@lru_cache(maxsize=1)
def load_ct() -> Terminology:
    """The shipped CDISC SDTM CT package (parsed once per process)."""
    raw = resources.files("cdisc_dpn.terminology").joinpath("data", CT_FILE).read_bytes()
    return Terminology(_parse_ct(gzip.decompress(raw).decode("utf-8")))


def load_terminology(study: StudyCodelists | None = None) -> Terminology:
    base = load_ct()
    return base.with_study(study if study is not None else _NO_STUDY)


class _NoStudyCodelists:
    codelists: tuple = ()
    collected_values: Mapping[str, Mapping[str, str]] = {}


_NO_STUDY = _NoStudyCodelists()
