"""Registry of conformance check functions named by validation/rules.yaml.

A check receives a CheckContext and the rule's params and returns Violations: per dataset and
variable, a frame of the failing records (row = 0-based position in the dataset, -1 for
dataset-level problems; usubjid; value; and the fields the rule's message template names).
Checks are vectorised with pandas: no loop over records, only over datasets and variables.
Checks never decide severity or wording; the rule does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from cdisc_dpn.spec.model import DatasetSpec, PlausibleRange
from cdisc_dpn.distinct import first_rows, joint_codes, on_distinct, value_codes
from cdisc_dpn.standards.kinds import number_texts
from cdisc_dpn.validation.plausibility import find_out_of_range

TRIAL_DESIGN = frozenset({"TA", "TD", "TE", "TI", "TM", "TS", "TV"})


@dataclass(frozen=True)
class DefineVariable:
    name: str
    data_type: str
    length: int | None


@dataclass(frozen=True)
class DefineMetadata:
    """What define.xml says about datasets: name -> variables (in ItemRef order)."""

    file: str
    datasets: Mapping[str, tuple[DefineVariable, ...]]


@dataclass
class Violation:
    dataset: str | None
    variable: str | None
    records: pd.DataFrame          # row, usubjid, value, + template fields


@dataclass
class CheckContext:
    frames: Mapping[str, pd.DataFrame]                       # dataset -> frame with a RangeIndex
    specs: Mapping[str, DatasetSpec] = field(default_factory=dict)
    define: DefineMetadata | None = None
    lengths: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    plausible_ranges: tuple[PlausibleRange, ...] = ()         # the study's units.yaml plausible_ranges

    def prefix(self, name: str) -> str:
        spec = self.specs.get(name)
        if spec is not None and spec.domain:
            return spec.domain
        frame = self.frames[name]
        if "DOMAIN" in frame.columns and len(frame):
            first = str(frame["DOMAIN"].iloc[0]).strip()
            if first:
                return first
        return name[:2]

    def subject_frames(self) -> Iterable[tuple[str, pd.DataFrame]]:
        for name in sorted(self.frames):
            frame = self.frames[name]
            if "USUBJID" in frame.columns:
                yield name, frame

    def dm_column(self, column: str) -> pd.Series | None:
        """DM column indexed by USUBJID (first record per subject), or None."""
        dm = self.frames.get("DM")
        if dm is None or column not in dm.columns or "USUBJID" not in dm.columns:
            return None
        sub = dm.drop_duplicates("USUBJID")
        return pd.Series(text(sub[column]).to_numpy(), index=text(sub["USUBJID"]).to_numpy())


@dataclass(frozen=True)
class Check:
    name: str
    function: Callable[..., list[Violation]]
    needs_define: bool = False


CHECKS: dict[str, Check] = {}


def check(name: str, *, needs_define: bool = False) -> Callable:
    def wrap(function: Callable) -> Callable:
        if name in CHECKS:
            raise ValueError(f"check {name!r} registered twice")
        CHECKS[name] = Check(name, function, needs_define)
        return function
    return wrap


# --------------------------------------------------------------------------- helpers
def text(series: pd.Series) -> pd.Series:
    """Values as stripped strings, missing as "" (numbers as they print, integral floats without .0)."""
    if pd.api.types.is_numeric_dtype(series.dtype):
        return number_text(series)
    return on_distinct(series, _stripped_text)


def _stripped_text(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), "").astype(str).str.strip()


number_text = number_texts


def records(frame: pd.DataFrame, mask: np.ndarray | pd.Series, value: pd.Series | np.ndarray | str,
            **fields: Any) -> pd.DataFrame:
    """Failing records of `frame` selected by a boolean mask, with template fields aligned to it."""
    mask = np.asarray(mask, dtype=bool)
    rows = np.flatnonzero(mask)
    data: dict[str, Any] = {"row": rows}
    data["usubjid"] = text(frame["USUBJID"]).to_numpy()[rows] if "USUBJID" in frame.columns else ""
    for key, val in (("value", value), *fields.items()):
        if isinstance(val, pd.Series):
            data[key] = val.to_numpy()[rows]
        elif isinstance(val, np.ndarray):
            data[key] = val[rows]
        else:
            data[key] = val
    return pd.DataFrame(data)


def dataset_record(value: str = "", usubjid: str = "", **fields: Any) -> pd.DataFrame:
    return pd.DataFrame([{"row": -1, "usubjid": usubjid, "value": value, **fields}])


def _comparable(values: pd.Series) -> pd.Series:
    """ISO 8601 text usable for prefix comparison ("" when not a plain date/datetime)."""
    return on_distinct(text(values), _comparable_text)


def _comparable_text(values: pd.Series) -> pd.Series:
    ok = values.str.match(r"^[0-9]{4}") & ~values.str.contains("/", regex=False) & \
        ~values.str.contains("--", regex=False)
    return values.where(ok, "")


def iso_after(a: pd.Series, b: pd.Series) -> np.ndarray:
    """True where date/time a is after b, compared at the precision both have."""
    a, b = _comparable(a), _comparable(b)
    pairs = joint_codes([value_codes(a), value_codes(b)], len(a))
    first = first_rows(pairs)
    if len(first) < len(a):
        return _iso_after(a.iloc[first], b.iloc[first])[pairs]
    return _iso_after(a, b)


def _iso_after(a: pd.Series, b: pd.Series) -> np.ndarray:
    la, lb = a.str.len().to_numpy(), b.str.len().to_numpy()
    common = np.minimum(la, lb)
    valid = (la >= 4) & (lb >= 4)
    out = np.zeros(len(a), dtype=bool)
    for n in np.unique(common[valid]):
        m = valid & (common == n)
        out[m] = a[m].str.slice(0, int(n)).to_numpy() > b[m].str.slice(0, int(n)).to_numpy()
    return out


def full_date(values: pd.Series) -> pd.Series:
    """datetime64 of complete dates (first 10 characters YYYY-MM-DD), NaT otherwise."""
    return on_distinct(text(values), _full_date_text)


def _full_date_text(values: pd.Series) -> pd.Series:
    head = values.str.slice(0, 10).where(values.str.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"))
    return pd.to_datetime(head, format="%Y-%m-%d", errors="coerce")


def subject_values(frame: pd.DataFrame, by_subject: pd.Series) -> pd.Series:
    """A DM column looked up for every record of `frame` ("" when the subject is not in DM)."""
    return pd.Series(text(frame["USUBJID"]).map(by_subject).fillna("").to_numpy(), index=frame.index)


def normalised_key(values: pd.Series) -> pd.Series:
    """Text for matching IDVARVAL with parent values: numbers in one canonical form."""
    as_text = text(values)
    numbers = pd.to_numeric(as_text, errors="coerce")
    canonical = number_text(numbers)
    return as_text.where(numbers.isna(), canonical)


def _date_pairs(frame: pd.DataFrame, suffix: str, partner_suffix: str) -> list[tuple[str, str]]:
    return [(c, c[: -len(suffix)] + partner_suffix) for c in frame.columns
            if c.endswith(suffix) and len(c) > len(suffix) and c[: -len(suffix)] + partner_suffix in frame.columns]


def _record_date_column(frame: pd.DataFrame, prefix: str) -> str | None:
    for candidate in (f"{prefix}DTC", f"{prefix}STDTC"):
        if candidate in frame.columns:
            return candidate
    return None


# --------------------------------------------------------------------------- dataset / subject
@check("dataset_present")
def dataset_present(ctx: CheckContext, *, dataset: str) -> list[Violation]:
    if dataset in ctx.frames:
        return []
    return [Violation(dataset, None, dataset_record(value=dataset))]


@check("one_record_per_subject")
def one_record_per_subject(ctx: CheckContext, *, dataset: str = "DM") -> list[Violation]:
    frame = ctx.frames.get(dataset)
    if frame is None or "USUBJID" not in frame.columns:
        return []
    subjects = text(frame["USUBJID"])
    counts = subjects.map(subjects.value_counts())
    mask = counts > 1
    return [Violation(dataset, "USUBJID", records(frame, mask, subjects, count=counts))] if mask.any() else []


@check("subject_in_dm")
def subject_in_dm(ctx: CheckContext) -> list[Violation]:
    dm = ctx.frames.get("DM")
    if dm is None or "USUBJID" not in dm.columns:
        return []
    known = set(text(dm["USUBJID"]))
    out = []
    for name, frame in ctx.subject_frames():
        if name == "DM":
            continue
        subjects = text(frame["USUBJID"])
        mask = (subjects != "") & ~subjects.isin(known)
        if mask.any():
            out.append(Violation(name, "USUBJID", records(frame, mask, subjects)))
    return out


@check("treated_subjects_have_arm")
def treated_subjects_have_arm(ctx: CheckContext, *, exposure: str = "EX", untreated: Iterable[str] = (),
                              unplanned: Iterable[str] = ()) -> list[Violation]:
    """Subjects with exposure records: DM.ACTARMCD is a treated arm and DM.ARMNRS is empty, unless
    ARMNRS says the treatment was unplanned (then ACTARMCD is empty by SDTMIG) (on DM rows)."""
    dm, ex = ctx.frames.get("DM"), ctx.frames.get(exposure)
    if dm is None or ex is None or "USUBJID" not in dm.columns or "USUBJID" not in ex.columns:
        return []
    exposed = text(dm["USUBJID"]).isin(set(text(ex["USUBJID"])))
    reason = text(dm["ARMNRS"]) if "ARMNRS" in dm.columns else pd.Series("", index=dm.index)
    is_unplanned = reason.isin(set(unplanned))
    out = []
    if "ACTARMCD" in dm.columns:
        arm = text(dm["ACTARMCD"])
        mask = exposed & ~is_unplanned & ((arm == "") | arm.isin(set(untreated)))
        if mask.any():
            out.append(Violation("DM", "ACTARMCD", records(dm, mask, arm, exposure=exposure)))
    mask = exposed & (reason != "") & ~is_unplanned
    if mask.any():
        out.append(Violation("DM", "ARMNRS", records(dm, mask, reason, exposure=exposure)))
    return out


@check("treated_arm_has_exposure")
def treated_arm_has_exposure(ctx: CheckContext, *, exposure: str = "EX",
                             untreated: Iterable[str] = ()) -> list[Violation]:
    dm, ex = ctx.frames.get("DM"), ctx.frames.get(exposure)
    if dm is None or ex is None or "ACTARMCD" not in dm.columns or "USUBJID" not in ex.columns:
        return []
    arm = text(dm["ACTARMCD"])
    mask = (arm != "") & ~arm.isin(set(untreated)) & ~text(dm["USUBJID"]).isin(set(text(ex["USUBJID"])))
    return [Violation("DM", "ACTARMCD", records(dm, mask, arm, exposure=exposure))] if mask.any() else []


@check("exposure_only_for_treated")
def exposure_only_for_treated(ctx: CheckContext, *, exposure: str = "EX", untreated: Iterable[str] = (),
                              unplanned: Iterable[str] = ()) -> list[Violation]:
    """Exposure records of subjects whose DM.ACTARMCD is empty or a not-treated code (on EX rows)."""
    ex, arm_by_subject = ctx.frames.get(exposure), ctx.dm_column("ACTARMCD")
    if ex is None or arm_by_subject is None or "USUBJID" not in ex.columns:
        return []
    arm = subject_values(ex, arm_by_subject)
    reason_by_subject = ctx.dm_column("ARMNRS")
    is_unplanned = subject_values(ex, reason_by_subject).isin(set(unplanned)) if reason_by_subject is not None \
        else pd.Series(False, index=ex.index)
    known = text(ex["USUBJID"]).isin(set(arm_by_subject.index))
    mask = known & ~is_unplanned & ((arm == "") | arm.isin(set(untreated)))
    return [Violation(exposure, "USUBJID", records(ex, mask, arm))] if mask.any() else []


# --------------------------------------------------------------------------- dates
@check("study_day_consistent")
def study_day_consistent(ctx: CheckContext) -> list[Violation]:
    rfst_by_subject = ctx.dm_column("RFSTDTC")
    if rfst_by_subject is None:
        return []
    out = []
    for name, frame in ctx.subject_frames():
        rfst_text = subject_values(frame, rfst_by_subject)
        rfst = full_date(rfst_text)
        for dy_col, dtc_col in _date_pairs(frame, "DY", "DTC"):
            if dy_col in ("VISITDY",):
                continue
            dy = pd.to_numeric(frame[dy_col], errors="coerce")
            date = full_date(frame[dtc_col])
            delta = (date - rfst).dt.days
            expected = delta + (delta >= 0).astype(int)
            mask = (dy.notna() & expected.notna() & (dy != expected)) | (dy == 0)
            if mask.any():
                out.append(Violation(name, dy_col, records(
                    frame, mask, number_text(dy), date_variable=dtc_col, date=text(frame[dtc_col]),
                    rfstdtc=rfst_text, expected=number_text(expected))))
    return out


@check("start_not_after_end")
def start_not_after_end(ctx: CheckContext) -> list[Violation]:
    out = []
    for name in sorted(ctx.frames):
        frame = ctx.frames[name]
        for st, en in _date_pairs(frame, "STDTC", "ENDTC"):
            mask = iso_after(frame[st], frame[en])
            if mask.any():
                out.append(Violation(name, st, records(frame, mask, text(frame[st]), end_variable=en,
                                                       end=text(frame[en]))))
    return out


@check("start_not_before_reference")
def start_not_before_reference(ctx: CheckContext, *, datasets: Iterable[str], reference: str = "RFICDTC"
                               ) -> list[Violation]:
    ref_by_subject = ctx.dm_column(reference)
    if ref_by_subject is None:
        return []
    out = []
    for name in datasets:
        frame = ctx.frames.get(name)
        if frame is None or "USUBJID" not in frame.columns:
            continue
        start = f"{ctx.prefix(name)}STDTC"
        if start not in frame.columns:
            continue
        ref = subject_values(frame, ref_by_subject)
        mask = iso_after(ref, frame[start])
        if mask.any():
            out.append(Violation(name, start, records(frame, mask, text(frame[start]), reference=ref)))
    return out


@check("exposure_within_reference")
def exposure_within_reference(ctx: CheckContext, *, exposure: str = "EX") -> list[Violation]:
    ex = ctx.frames.get(exposure)
    first, last = ctx.dm_column("RFXSTDTC"), ctx.dm_column("RFXENDTC")
    if ex is None or first is None or last is None or "USUBJID" not in ex.columns:
        return []
    prefix = ctx.prefix(exposure)
    st, en = f"{prefix}STDTC", f"{prefix}ENDTC"
    rfx_st, rfx_en = subject_values(ex, first), subject_values(ex, last)
    span = rfx_st + ".." + rfx_en
    out = []
    if st in ex.columns:
        mask = iso_after(rfx_st, ex[st]) | iso_after(ex[st], rfx_en)
        if mask.any():
            out.append(Violation(exposure, st, records(ex, mask, text(ex[st]), reference=span)))
    if en in ex.columns:
        mask = iso_after(ex[en], rfx_en) | iso_after(rfx_st, ex[en])
        if mask.any():
            out.append(Violation(exposure, en, records(ex, mask, text(ex[en]), reference=span)))
    return out


@check("epoch_matches_se")
def epoch_matches_se(ctx: CheckContext) -> list[Violation]:
    se = ctx.frames.get("SE")
    if se is None or not {"USUBJID", "EPOCH", "SESTDTC"} <= set(se.columns):
        return []
    elements = pd.DataFrame({"USUBJID": text(se["USUBJID"]), "EPOCH": text(se["EPOCH"]),
                             "_st": text(se["SESTDTC"]),
                             "_en": text(se["SEENDTC"]) if "SEENDTC" in se.columns else ""})
    out = []
    for name, frame in ctx.subject_frames():
        if name in ("SE", "DM") or "EPOCH" not in frame.columns:
            continue
        date_col = _record_date_column(frame, ctx.prefix(name))
        if date_col is None:
            continue
        recs = pd.DataFrame({"_row": np.arange(len(frame)), "USUBJID": text(frame["USUBJID"]),
                             "EPOCH": text(frame["EPOCH"]), "_d": _comparable(frame[date_col])})
        # Empty subject or epoch: nothing to match (a merge would pair "" with "").
        recs = recs[(recs["USUBJID"] != "") & (recs["EPOCH"] != "") & (recs["_d"].str.len() >= 10)]
        if recs.empty:
            continue
        pairs = recs.merge(elements, on=["USUBJID", "EPOCH"], how="left")
        has_element = pairs["_st"].notna()
        st, en = pairs["_st"].fillna(""), pairs["_en"].fillna("")
        inside = has_element & ~iso_after(st, pairs["_d"]) & ~iso_after(pairs["_d"], en)
        ok = inside.groupby(pairs["_row"], dropna=False).any()
        matched = has_element.groupby(pairs["_row"], dropna=False).any()
        bad_rows = ok.index[~ok.to_numpy()]
        if len(bad_rows) == 0:
            continue
        mask = np.zeros(len(frame), dtype=bool)
        mask[bad_rows] = True
        detail = pd.Series("", index=frame.index)
        no_element = matched.index[~matched.to_numpy()]
        detail.iloc[no_element] = " (the subject has no SE element with this EPOCH)"
        out.append(Violation(name, "EPOCH", records(frame, mask, text(frame["EPOCH"]), date_variable=date_col,
                                                    date=text(frame[date_col]), detail=detail)))
    return out


# --------------------------------------------------------------------------- visits, findings
@check("visit_matches_tv")
def visit_matches_tv(ctx: CheckContext) -> list[Violation]:
    tv = ctx.frames.get("TV")
    if tv is None or not {"VISITNUM", "VISIT"} <= set(tv.columns):
        return []
    planned = pd.Series(text(tv["VISIT"]).to_numpy(), index=number_text(tv["VISITNUM"]).to_numpy())
    planned_keys = set(planned.index + "\x1f" + planned.to_numpy())
    first_name = planned[~planned.index.duplicated()]
    out = []
    for name in sorted(ctx.frames):
        frame = ctx.frames[name]
        if name == "TV" or not {"VISITNUM", "VISIT"} <= set(frame.columns):
            continue
        num = pd.to_numeric(frame["VISITNUM"], errors="coerce")
        scheduled = num.notna() & (num == num.round())
        num_text, visit = number_text(num), text(frame["VISIT"])
        mask = scheduled & ~(num_text + "\x1f" + visit).isin(planned_keys)
        if mask.any():
            expected = num_text.map(first_name)
            detail = pd.Series(np.where(expected.notna(), " (TV calls it " + expected.fillna("").astype(str) + ")",
                                        " (no such VISITNUM in TV)"), index=frame.index)
            out.append(Violation(name, "VISIT", records(frame, mask, visit, visitnum=num_text, detail=detail)))
    return out


@check("stresn_matches_stresc")
def stresn_matches_stresc(ctx: CheckContext) -> list[Violation]:
    out = []
    for name in sorted(ctx.frames):
        frame = ctx.frames[name]
        for stresn, stresc in _date_pairs(frame, "STRESN", "STRESC"):
            n = pd.to_numeric(frame[stresn], errors="coerce")
            c_text = text(frame[stresc])
            c = pd.to_numeric(c_text, errors="coerce")
            tolerance = 1e-9 * np.maximum(1.0, c.abs().fillna(0))
            differs = c.notna() & (n.isna() | ((n - c).abs() > tolerance))
            orphan = n.notna() & (c_text == "")
            mask = differs | orphan
            if mask.any():
                out.append(Violation(name, stresn, records(frame, mask, number_text(n), stresc_variable=stresc,
                                                           stresc=c_text)))
    return out


@check("result_in_plausible_range")
def result_in_plausible_range(ctx: CheckContext) -> list[Violation]:
    """Numeric results outside the study's plausible range for the test and unit; the range's spec line rides along."""
    out = []
    for name, frame in ctx.subject_frames():
        for hit in find_out_of_range(frame, ctx.prefix(name), ctx.plausible_ranges):
            r = hit.range
            mask = np.zeros(len(frame), dtype=bool)
            mask[hit.rows] = True
            shown = np.full(len(frame), "", dtype=object)
            shown[hit.rows] = [number_text(pd.Series([v])).iat[0] for v in hit.values]
            bounds = f"{'' if r.low is None else f'{r.low:g}'}-{'' if r.high is None else f'{r.high:g}'}"
            out.append(Violation(name, hit.variable, records(
                frame, mask, shown, testcd=r.testcd, unit=r.unit, range=bounds,
                spec_file=r.where.file, spec_line=r.where.line if r.where.line else "")))
    return out


@check("single_baseline_flag")
def single_baseline_flag(ctx: CheckContext, *, flag: str = "LOBXFL", by: Iterable[str] = ("TESTCD",)
                         ) -> list[Violation]:
    out = []
    for name, frame in ctx.subject_frames():
        prefix = ctx.prefix(name)
        flag_col = f"{prefix}{flag}"
        if flag_col not in frame.columns:
            continue
        group_cols = ["USUBJID"] + [f"{prefix}{s}" for s in by if f"{prefix}{s}" in frame.columns]
        flagged = text(frame[flag_col]) == "Y"
        keys = pd.DataFrame({c: text(frame[c]) for c in group_cols})
        sub = keys[flagged]
        dup = sub.duplicated(keep=False)
        if not dup.any():
            continue
        mask = np.zeros(len(frame), dtype=bool)
        mask[np.flatnonzero(flagged.to_numpy())[dup.to_numpy()]] = True
        group_text = pd.Series("", index=frame.index)
        for c in group_cols[1:]:
            group_text = group_text + np.where(group_text == "", "", ", ") + c + "=" + keys[c]
        count = pd.Series(0, index=frame.index)
        count[flagged] = sub.assign(_n=1).groupby(group_cols, dropna=False)["_n"].transform("size")
        out.append(Violation(name, flag_col, records(frame, mask, "Y", count=count, group=group_text)))
    return out


# --------------------------------------------------------------------------- SUPP--
def _supp_frames(ctx: CheckContext) -> Iterable[tuple[str, pd.DataFrame]]:
    for name in sorted(ctx.frames):
        frame = ctx.frames[name]
        if name.startswith("SUPP") and {"RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL"} <= set(frame.columns):
            yield name, frame


@check("supp_parent_exists")
def supp_parent_exists(ctx: CheckContext) -> list[Violation]:
    out = []
    for name, supp in _supp_frames(ctx):
        rdomain, idvar = text(supp["RDOMAIN"]), text(supp["IDVAR"])
        subject, idvarval = text(supp["USUBJID"]), normalised_key(supp["IDVARVAL"])
        resolved = np.zeros(len(supp), dtype=bool)
        detail = pd.Series("", index=supp.index)
        pairs = pd.DataFrame({"d": rdomain, "v": idvar})
        for (dom, var), index in pairs.groupby(["d", "v"], dropna=False).groups.items():
            parent = ctx.frames.get(dom)
            pos = supp.index.get_indexer(index)
            if parent is None or "USUBJID" not in parent.columns:
                detail.iloc[pos] = f" (dataset {dom} not given)"
                continue
            if var == "":
                resolved[pos] = subject.iloc[pos].isin(set(text(parent["USUBJID"]))).to_numpy()
                continue
            if var not in parent.columns:
                detail.iloc[pos] = f" ({dom} has no variable {var})"
                continue
            parent_keys = set(text(parent["USUBJID"]) + "\x1f" + normalised_key(parent[var]))
            resolved[pos] = (subject.iloc[pos] + "\x1f" + idvarval.iloc[pos]).isin(parent_keys).to_numpy()
        mask = ~resolved
        if mask.any():
            out.append(Violation(name, "IDVARVAL", records(supp, mask, text(supp["IDVARVAL"]), rdomain=rdomain,
                                                           idvar=idvar, detail=detail)))
    return out


@check("supp_qnam_unique")
def supp_qnam_unique(ctx: CheckContext) -> list[Violation]:
    out = []
    for name, supp in _supp_frames(ctx):
        if "QNAM" not in supp.columns:
            continue
        cols = ["RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"]
        keys = pd.DataFrame({c: (normalised_key(supp[c]) if c == "IDVARVAL" else text(supp[c])) for c in cols})
        dup = keys.duplicated(keep=False)
        if not dup.any():
            continue
        count = keys.groupby(cols, dropna=False)["QNAM"].transform("size")
        parent = keys["RDOMAIN"] + " " + keys["USUBJID"] + " " + keys["IDVAR"] + "=" + keys["IDVARVAL"]
        out.append(Violation(name, "QNAM", records(supp, dup, keys["QNAM"], count=count, parent=parent)))
    return out


# --------------------------------------------------------------------------- TS
@check("ts_parameters_present")
def ts_parameters_present(ctx: CheckContext, *, required: Iterable[str]) -> list[Violation]:
    ts = ctx.frames.get("TS")
    if ts is None or "TSPARMCD" not in ts.columns:
        return []
    present = set(text(ts["TSPARMCD"]))
    missing = sorted(set(required) - present)
    if not missing:
        return []
    return [Violation("TS", "TSPARMCD", pd.DataFrame({"row": -1, "usubjid": "", "value": missing}))]


# --------------------------------------------------------------------------- define.xml
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
