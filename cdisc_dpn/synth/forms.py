"""The generator's form catalogue: every raw file, its columns, labels, types and allowed values.

One source for two things: the column order the generator writes, and `data_dictionary.csv`.
"""
from __future__ import annotations

from dataclasses import dataclass

DMY = "DD/MM/YYYY"
DMY_PARTIAL = "DD/MM/YYYY; unknown parts written UN (UN/03/2026, UN/UN/2026)"
DMON = "DD-MON-YYYY (e.g. 05-MAR-2026)"
DMON_PARTIAL = "DD-MON-YYYY; unknown parts written UN (UN-MAR-2026, UN-UN-2026)"
HHMM = "HH:MM (24 h)"
YESNO = "Yes/No as entered (Yes, Y, yes, No, N, no)"
VISIT = "visit label as entered (Screening, Day 0, Day 7, Day 28, Week 8, ... Week 104, Unscheduled; rare variants)"


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    type: str            # text / integer / number / date / time
    values: str = ""     # format or allowed values
    notes: str = ""


@dataclass(frozen=True)
class Form:
    name: str
    file: str
    title: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


_KEYS = (
    Column("STUDY", "Study identifier", "text", "RELEASE-DPN"),
    Column("SITE", "Site number", "text", "two digits, e.g. 03"),
    Column("SUBJECT", "Subject number", "text", "site-number, e.g. 03-017"),
)


def _form(name, file, title, *cols):
    return Form(name, file, title, _KEYS + tuple(Column(*c) for c in cols))


TCSS_ITEMS = (
    ("SYMPAIN", "Symptom: foot pain", "0=absent 1=present"),
    ("SYMNUMB", "Symptom: numbness", "0=absent 1=present"),
    ("SYMTING", "Symptom: tingling", "0=absent 1=present"),
    ("SYMWEAK", "Symptom: weakness", "0=absent 1=present"),
    ("SYMATAX", "Symptom: ataxia", "0=absent 1=present"),
    ("SYMUPLB", "Symptom: upper-limb symptoms", "0=absent 1=present"),
    ("RFKNEEL", "Reflex: knee, left", "0=normal 1=reduced 2=absent"),
    ("RFKNEER", "Reflex: knee, right", "0=normal 1=reduced 2=absent"),
    ("RFANKL", "Reflex: ankle, left", "0=normal 1=reduced 2=absent"),
    ("RFANKR", "Reflex: ankle, right", "0=normal 1=reduced 2=absent"),
    ("SNPIN", "Sensory (first toe): pinprick", "0=normal 1=abnormal"),
    ("SNTEMP", "Sensory (first toe): temperature", "0=normal 1=abnormal"),
    ("SNTOUCH", "Sensory (first toe): light touch", "0=normal 1=abnormal"),
    ("SNVIB", "Sensory (first toe): vibration", "0=normal 1=abnormal"),
    ("SNPOS", "Sensory (first toe): position sense", "0=normal 1=abnormal"),
)
# slots per item: a reflex item scores 0-2, so it owns two of the 19 score points
TCSS_ITEM_POINTS = tuple(2 if code.startswith("RF") else 1 for code, _, _ in TCSS_ITEMS)

FORMS = (
    _form("DM", "dm.csv", "Demographics / enrolment",
          ("SCRNDAT", "Screening date", "date", DMY),
          ("BRTHDAT", "Date of birth", "date", DMY),
          ("AGE", "Age at consent", "integer", "18-80"),
          ("AGEU", "Age unit", "text", "Years"),
          ("SEX", "Sex", "text", "Male/Female as entered (Male, M, male , Female, F, female)"),
          ("CHILDPOT", "Woman of child-bearing potential", "text", YESNO, "blank for men"),
          ("RACE", "Race", "text", "Asian, Other"),
          ("ETHNIC", "Ethnicity", "text", "Not Hispanic or Latino"),
          ("ETHNGRP", "Ethnic group (Chinese census)", "text", "Han, Hui, Manchu, Zhuang, ..."),
          ("COUNTRY", "Country", "text", "CHN")),
    _form("IC", "ic.csv", "Informed consent",
          ("ICVER", "Consent form version", "text", "e.g. V2.0 01-SEP-2025"),
          ("ICYN", "Informed consent signed", "text", YESNO),
          ("ICDAT", "Date consent signed", "date", DMY),
          ("ICTIM", "Time consent signed", "time", HHMM),
          ("ICWDDAT", "Date consent withdrawn", "date", DMY, "only for subjects withdrawing consent")),
    _form("RAND", "rand.xpt", "Randomization (IWRS export, SAS transport v5, member RAND)",
          ("RANDNO", "Randomization number", "text", "R0001..."),
          ("RANDDT", "Randomization date", "date", "SAS date, format DATE9."),
          ("RANDTM", "Randomization time", "time", HHMM),
          ("ARMCD", "Arm code", "text", "MSC, CON"),
          ("ARM", "Arm", "text", "hUC-MSC + conventional therapy; Conventional therapy"),
          ("STRATUM", "Stratum (screening TCSS)", "text", "TCSS 9-11, TCSS 12-19")),
    _form("IE", "ie.csv", "Eligibility",
          ("IEDAT", "Eligibility assessment date", "date", DMY),
          ("IEYN", "All eligibility criteria met", "text", YESNO),
          ("IECAT", "Criterion category", "text", "Inclusion, Exclusion", "blank when IEYN is Yes"),
          ("IETESTCD", "Criterion code", "text", "INCL01-INCL07, EXCL01-EXCL11"),
          ("IETEST", "Criterion not met", "text", "criterion text"),
          ("IEORRES", "Criterion answer", "text", "N for an inclusion not met, Y for an exclusion met")),
    _form("MH", "mh.csv", "Medical history",
          ("MHSPID", "Line number", "integer"),
          ("MHTERM", "Condition or event", "text", "verbatim"),
          ("MHSTDAT", "Start date", "date", DMY_PARTIAL),
          ("MHONGO", "Ongoing", "text", YESNO),
          ("MHENDAT", "End date", "date", DMY_PARTIAL, "blank when ongoing")),
    _form("DH", "dh.csv", "Diabetes and neuropathy history",
          ("DIABTYP", "Type of diabetes", "text", "Type 2, T2DM, type 2"),
          ("DIAGDAT", "Date of diabetes diagnosis", "date", DMY_PARTIAL),
          ("DPNDAT", "Date of DPN diagnosis", "date", DMY_PARTIAL),
          ("CONVMON", "Months on conventional DPN therapy", "integer", ">= 3 for eligible subjects"),
          ("TCSSFALL", "TCSS fall during prior conventional therapy", "integer", "points"),
          ("INSULIN", "On insulin", "text", YESNO),
          ("FOOTULC", "History of foot ulcer", "text", YESNO)),
    _form("VS", "vs.csv", "Vital signs",
          ("VISIT", "Visit", "text", VISIT),
          ("VSDAT", "Assessment date", "date", DMY),
          ("VSTIM", "Assessment time", "time", HHMM),
          ("VSPOS", "Position", "text", "Sitting, SITTING, Supine"),
          ("HEIGHT", "Height", "number", "", "screening only"),
          ("HEIGHTU", "Height unit", "text", "cm"),
          ("WEIGHT", "Weight", "number"),
          ("WEIGHTU", "Weight unit", "text", "kg"),
          ("SYSBP", "Systolic blood pressure", "integer"),
          ("DIABP", "Diastolic blood pressure", "integer"),
          ("BPU", "Blood pressure unit", "text", "mmHg"),
          ("PULSE", "Pulse rate", "integer"),
          ("PULSEU", "Pulse unit", "text", "beats/min"),
          ("TEMP", "Body temperature", "number"),
          ("TEMPU", "Temperature unit", "text", "°C, C")),
    _form("LAB", "lab.xlsx", "Local laboratory results (sheet 'Local lab', one row per test)",
          ("VISIT", "Visit", "text", VISIT),
          ("LBDAT", "Collection date", "date", DMON),
          ("LBTIM", "Collection time", "time", HHMM),
          ("LABNAME", "Laboratory name", "text"),
          ("LBCAT", "Category", "text", "Haematology, Biochemistry, Pregnancy"),
          ("LBTEST", "Test name as printed by the lab", "text", "names vary by site"),
          ("LBORRES", "Result", "number or text", "numeric; '<x' below limit of quantitation; POSITIVE/NEGATIVE"),
          ("LBORRESU", "Unit", "text", "site-dependent: %/mmol/mol, mmol/L/mg/dL, umol/L/mg/dL, g/L/g/dL"),
          ("LBORNRLO", "Normal range lower limit", "number"),
          ("LBORNRHI", "Normal range upper limit", "number"),
          ("LBFAST", "Fasting", "text", YESNO, "glucose only"),
          ("LBSPEC", "Specimen", "text", "Blood, Serum, Urine"),
          ("LBSTAT", "Status", "text", "Not done", "blank when done"),
          ("LBREASND", "Reason not done", "text")),
    _form("TCSS", "tcss.csv", "Toronto Clinical Scoring System",
          ("VISIT", "Visit", "text", VISIT),
          ("TCSSDAT", "Assessment date", "date", DMY),
          *((code, label, "integer", values) for code, label, values in TCSS_ITEMS),
          ("TCSSTOT", "Total score as recorded", "integer", "0-19",
           "occasionally blank; very rarely disagrees with the item sum")),
    _form("NCS", "ncs.csv", "Nerve conduction study (one row per visit, nerve and side)",
          ("VISIT", "Visit", "text", VISIT),
          ("NCSDAT", "Test date", "date", DMY),
          ("NERVE", "Nerve", "text", "Common peroneal, Posterior tibial, Deep peroneal, Sural"),
          ("NERVTYP", "Nerve type", "text", "Motor, Sensory"),
          ("SIDE", "Side", "text", "Left, Right, L, R"),
          ("NCV", "Conduction velocity", "number", "m/s", "blank when no response"),
          ("AMP", "Amplitude", "number or text", "mV (motor) / µV (sensory); NR = no response"),
          ("AMPU", "Amplitude unit", "text", "mV, µV, uV"),
          ("DLAT", "Distal latency", "number", "ms", "blank when no response"),
          ("LIMBTEMP", "Limb skin temperature", "number", "°C")),
    _form("EXMSC", "exmsc.csv", "hUC-MSC administration log (experimental arm)",
          ("VISIT", "Visit", "text", VISIT),
          ("EXNO", "Injection number", "integer", "1, 2, 3"),
          ("EXDAT", "Injection date", "date", DMY),
          ("EXSTTIM", "Start time", "time", HHMM),
          ("EXENTIM", "End time", "time", HHMM),
          ("EXDOSE", "Dose per kg", "text", "1.0E6"),
          ("EXDOSU", "Dose unit", "text", "cells/kg"),
          ("EXWT", "Body weight used", "number", "kg"),
          ("EXTOTCEL", "Total cells administered", "text", "scientific notation, e.g. 6.8E7"),
          ("EXROUTE", "Route", "text", "Intramuscular, IM"),
          ("EXLOC", "Injection location", "text", "Left/Right calf/thigh, Bilateral calves"),
          ("EXLOT", "Batch number", "text")),
    _form("EXCON", "excon.csv", "Conventional therapy log (both arms)",
          ("EXTRT", "Treatment", "text", "mecobalamin, alpha-lipoic acid, epalrestat as entered"),
          ("EXDOSE", "Dose", "number"),
          ("EXDOSU", "Dose unit", "text", "mg"),
          ("EXFREQ", "Frequency", "text", "TID, tid, Three times daily, QD"),
          ("EXROUTE", "Route", "text", "Oral, PO"),
          ("EXSTDAT", "Start date", "date", DMY),
          ("EXENDAT", "End date", "date", DMY, "blank when ongoing"),
          ("EXONGO", "Ongoing at end of study", "text", YESNO)),
    _form("CM", "cm.csv", "Prior and concomitant medications",
          ("CMSPID", "Line number", "integer"),
          ("CMTRT", "Medication", "text", "verbatim"),
          ("CMINDC", "Indication", "text"),
          ("CMDOSE", "Dose", "text"),
          ("CMDOSU", "Dose unit", "text"),
          ("CMFREQ", "Frequency", "text"),
          ("CMROUTE", "Route", "text"),
          ("CMSTDAT", "Start date", "date", DMON_PARTIAL),
          ("CMENDAT", "End date", "date", DMON, "blank when ongoing"),
          ("CMONGO", "Ongoing", "text", YESNO)),
    _form("AE", "ae.csv", "Adverse events (verbatim plus EDC MedDRA coding)",
          ("AESPID", "AE number", "integer"),
          ("AETERM", "Adverse event (verbatim)", "text"),
          ("LLT", "MedDRA lowest level term", "text", "", "blank when not yet coded"),
          ("LLT_CODE", "LLT code", "integer"),
          ("PT", "MedDRA preferred term", "text"),
          ("PT_CODE", "PT code", "integer"),
          ("HLT", "MedDRA high level term", "text"),
          ("HLT_CODE", "HLT code", "integer"),
          ("HLGT", "MedDRA high level group term", "text"),
          ("HLGT_CODE", "HLGT code", "integer"),
          ("SOC", "MedDRA system organ class", "text"),
          ("SOC_CODE", "SOC code", "integer", "", "codes illustrative, not a licensed MedDRA extract"),
          ("AESTDAT", "Start date", "date", DMY_PARTIAL),
          ("AESTTIM", "Start time", "time", HHMM, "often blank"),
          ("AEENDAT", "End date", "date", DMY, "blank when ongoing"),
          ("AEONGO", "Ongoing", "text", YESNO),
          ("AESEV", "Severity", "text", "MILD, MODERATE, SEVERE (as entered, case varies)"),
          ("AESER", "Serious", "text", YESNO),
          ("AESDTH", "Results in death", "text", YESNO, "blank unless serious"),
          ("AESLIFE", "Life threatening", "text", YESNO),
          ("AESHOSP", "Requires or prolongs hospitalisation", "text", YESNO),
          ("AESDISAB", "Disability / incapacity", "text", YESNO),
          ("AESCONG", "Congenital anomaly", "text", YESNO),
          ("AESMIE", "Other medically important event", "text", YESNO),
          ("AERELMSC", "Relationship to hUC-MSC", "text",
           "Related, Possibly related, Unlikely related, Not related, Not applicable"),
          ("AERELCON", "Relationship to conventional therapy", "text", "Related, Possibly related, Not related"),
          ("AEACN", "Action taken with hUC-MSC", "text",
           "Dose not changed, Drug withdrawn, Not applicable"),
          ("AEOUT", "Outcome", "text",
           "Recovered/Resolved, Recovering/Resolving, Not recovered/Not resolved, Fatal"),
          ("AELOC", "Location (injection-site reactions)", "text", "Left calf, Right thigh, ...")),
    _form("DS", "ds.csv", "Disposition / end of study",
          ("DSCAT", "Disposition stage", "text", "Screening, End of study"),
          ("DSDAT", "Disposition date", "date", DMY),
          ("COMPLYN", "Completed the study", "text", YESNO),
          ("DSREAS", "Primary reason", "text",
           "Completed, Screen failure, Withdrawal by subject, Lost to follow-up, Adverse event, "
           "Physician decision, Protocol deviation, Death"),
          ("DSSPEC", "Specify", "text", "", "criterion for screen failures, free text otherwise"),
          ("DTHDAT", "Date of death", "date", DMY),
          ("LASTCDAT", "Date of last contact", "date", DMY)),
    _form("SV", "sv.csv", "Visit dates (one row per visit attended)",
          ("VISIT", "Visit", "text", VISIT),
          ("VISITDAT", "Visit date", "date", DMY),
          ("VISITTIM", "Visit time", "time", HHMM)),
)
FORMS_BY_NAME = {form.name: form for form in FORMS}

DICTIONARY_COLUMNS = ("form", "file", "column", "label", "type", "format_or_values", "notes")


def data_dictionary_rows() -> list[tuple[str, ...]]:
    """One row per form and column, in catalogue order."""
    return [(form.name, form.file, col.name, col.label, col.type, col.values, col.notes)
            for form in FORMS for col in form.columns]
