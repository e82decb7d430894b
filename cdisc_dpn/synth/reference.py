"""RELEASE-DPN reference data the generator draws from: visits, sites, lab tests, criteria, terms.

Kept apart from the generator so that the protocol facts (windows, eligibility limits, units) are
read in one place and the generator code only says how values are sampled.
"""
from __future__ import annotations

from dataclasses import dataclass

STUDY_ID = "RELEASE-DPN"
COUNTRY = "CHN"
# first screening date of the synthetic study, as days since 1970-01-01 (2025-10-13)
FIRST_SCREENING_DAY = 20374
ENROLMENT_SPAN_DAYS = 540
# the constant timestamp written into XLSX/XPT headers so files are byte-identical run to run
FILE_TIMESTAMP = (2026, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Visit:
    code: str          # stable key used inside the generator
    label: str         # label as the EDC shows it
    day: int           # protocol day (Day 0 = first injection / randomization)
    window: int        # +/- days


SCREENING = Visit("SCR", "Screening", -28, 0)
# scheduled post-randomization visits, in order; index 0 is Day 0
TREATMENT_VISITS = (
    Visit("D0", "Day 0", 0, 0),
    Visit("D7", "Day 7", 7, 2),
    Visit("D28", "Day 28", 28, 3),
    Visit("W8", "Week 8", 56, 7),
    Visit("W12", "Week 12", 84, 7),
    Visit("W24", "Week 24", 168, 7),
    Visit("W52", "Week 52", 364, 14),
    Visit("W104", "Week 104", 728, 14),
)
UNSCHEDULED_LABEL = "Unscheduled"
INJECTION_VISITS = ("D0", "D7", "D28")

# which visits each visit-based form is collected at (UNS = some unscheduled visits)
FORM_VISITS = {
    "vs": ("SCR", "D0", "D7", "D28", "W8", "W12", "W24", "W52", "W104", "UNS"),
    "tcss": ("SCR", "D0", "D28", "W8", "W12", "W24", "W52", "W104"),
    "ncs": ("SCR", "W12", "W24", "W52", "W104"),
    "lab": ("SCR", "W12", "W24", "W52", "W104", "UNS"),
}

# variants a site user may type instead of the EDC label (rare)
VISIT_LABEL_VARIANTS = {
    "Screening": ("SCREENING", "Screening "),
    "Day 0": ("Day 0 ", "DAY 0", "Baseline"),
    "Day 7": ("DAY 7", "Day 7 "),
    "Day 28": ("Week 4", "DAY 28"),
    "Week 8": ("WEEK 8", "Wk 8 "),
    "Week 12": ("WEEK 12", "Wk 12 "),
    "Week 24": ("WEEK 24", "Wk 24 "),
    "Week 52": ("WEEK 52", "Wk 52"),
    "Week 104": ("WEEK 104", "Week 104 "),
    "Unscheduled": ("UNSCHEDULED", "Unscheduled visit", "Unsch"),
}

CITIES = (
    ("Beijing", "Peking Union Medical College Hospital"),
    ("Shanghai", "Ruijin Hospital"),
    ("Guangzhou", "Sun Yat-sen Memorial Hospital"),
    ("Chengdu", "West China Hospital"),
    ("Wuhan", "Tongji Hospital"),
    ("Hangzhou", "Zhejiang Provincial People's Hospital"),
    ("Nanjing", "Jiangsu Province Hospital"),
    ("Xi'an", "Xijing Hospital"),
    ("Changsha", "Xiangya Hospital"),
    ("Tianjin", "Tianjin Medical University General Hospital"),
    ("Jinan", "Qilu Hospital"),
    ("Shenyang", "China Medical University First Hospital"),
)

ARMS = (
    # (ARMCD as the IWRS stores it, arm text as the IWRS stores it)
    ("CON", "Conventional therapy"),
    ("MSC", "hUC-MSC + conventional therapy"),
)


@dataclass(frozen=True)
class Criterion:
    code: str
    category: str      # Inclusion / Exclusion
    text: str


IE_CRITERIA = (
    Criterion("INCL01", "Inclusion", "Age 18 to 80 years"),
    Criterion("INCL02", "Inclusion", "Type 2 diabetes by 2023 ADA criteria"),
    Criterion("INCL03", "Inclusion", "Lower-limb neuropathy symptoms and signs"),
    Criterion("INCL04", "Inclusion", "NCV reduced by ≥ 2 SD in at least one lower-limb nerve"),
    Criterion("INCL05", "Inclusion", "TCSS ≥ 9"),
    Criterion("INCL06", "Inclusion", "TCSS fall < 2 points after ≥ 3 months conventional therapy"),
    Criterion("INCL07", "Inclusion", "Signed informed consent"),
    Criterion("EXCL01", "Exclusion", "Other causes of neuropathy or pain"),
    Criterion("EXCL02", "Exclusion", "HbA1c > 12 %"),
    Criterion("EXCL03", "Exclusion", "Neutrophils < 1.5, platelets < 90 x10^9/L or haemoglobin < 80 g/L"),
    Criterion("EXCL04", "Exclusion", "ALT or AST > 3 x ULN or total bilirubin > 1.5 x ULN"),
    Criterion("EXCL05", "Exclusion", "eGFR < 30 mL/min/1.73 m2 (MDRD) or renal replacement therapy"),
    Criterion("EXCL06", "Exclusion", "Creatine kinase > 2 x ULN"),
    Criterion("EXCL07", "Exclusion", "Allergy to stem-cell products"),
    Criterion("EXCL08", "Exclusion", "Uncontrolled systemic disease or NYHA class III-IV"),
    Criterion("EXCL09", "Exclusion", "Severe diabetic foot or ulcer needing amputation"),
    Criterion("EXCL10", "Exclusion", "Pregnancy, lactation or planned pregnancy within 2 years"),
    Criterion("EXCL11", "Exclusion", "Another interventional trial within 3 months"),
)
# how often each criterion is the reason for screen failure (weights, same order as codes below)
SCREEN_FAIL_WEIGHTS = {
    "INCL04": 0.14, "INCL05": 0.26, "INCL06": 0.08, "EXCL01": 0.07, "EXCL02": 0.14,
    "EXCL03": 0.05, "EXCL04": 0.06, "EXCL05": 0.07, "EXCL06": 0.03, "EXCL08": 0.04,
    "EXCL09": 0.03, "EXCL10": 0.01, "EXCL11": 0.02,
}


@dataclass(frozen=True)
class LabUnit:
    unit: str
    factor: float       # value_in_this_unit = value_in_base_unit * factor (+ offset)
    decimals: int
    low: float | None   # normal range in this unit (None = not reported)
    high: float | None
    offset: float = 0.0


@dataclass(frozen=True)
class LabTest:
    code: str
    names: tuple[str, ...]           # names as different sites' labs print them
    category: str
    base_mean: float                 # base (first) unit, typical randomized DPN subject
    base_sd: float
    lognormal: bool
    units: tuple[LabUnit, ...]       # index 0 = SI, index 1 = conventional (if any)
    lloq: tuple[float, ...] = ()     # per unit; a value below is reported as "<lloq"


LAB_TESTS = (
    LabTest("HBA1C", ("HbA1c", "Glycated haemoglobin"), "Biochemistry", 8.6, 1.1, False,
            (LabUnit("%", 1.0, 1, 4.0, 6.0), LabUnit("mmol/mol", 10.929, 0, 20, 42, -23.5))),
    LabTest("GLUC", ("Fasting glucose", "FPG"), "Biochemistry", 8.4, 1.9, False,
            (LabUnit("mmol/L", 1.0, 1, 3.9, 6.1), LabUnit("mg/dL", 18.016, 0, 70, 110))),
    LabTest("NEUT", ("Neutrophils", "NEUT#"), "Haematology", 3.9, 1.1, False,
            (LabUnit("10^9/L", 1.0, 2, 1.8, 6.3), LabUnit("×10⁹/L", 1.0, 2, 2.0, 7.0))),
    LabTest("PLAT", ("Platelets", "PLT"), "Haematology", 225.0, 55.0, False,
            (LabUnit("10^9/L", 1.0, 0, 125, 350), LabUnit("×10⁹/L", 1.0, 0, 100, 300))),
    LabTest("HGB", ("Haemoglobin", "HGB"), "Haematology", 136.0, 14.0, False,
            (LabUnit("g/L", 1.0, 0, 115, 175), LabUnit("g/dL", 0.1, 1, 11.5, 17.5))),
    LabTest("ALT", ("ALT", "Alanine aminotransferase"), "Biochemistry", 22.0, 0.45, True,
            (LabUnit("U/L", 1.0, 0, 9, 50), LabUnit("IU/L", 1.0, 0, 7, 40))),
    LabTest("AST", ("AST", "Aspartate aminotransferase"), "Biochemistry", 21.0, 0.35, True,
            (LabUnit("U/L", 1.0, 0, 15, 40), LabUnit("IU/L", 1.0, 0, 13, 35))),
    LabTest("BILI", ("Total bilirubin", "TBIL"), "Biochemistry", 9.0, 0.55, True,
            (LabUnit("umol/L", 1.0, 1, 3.4, 20.5), LabUnit("mg/dL", 1 / 17.1, 2, 0.2, 1.2)),
            lloq=(2.0, 0.2)),
    LabTest("CREAT", ("Creatinine", "CREA"), "Biochemistry", 78.0, 0.22, True,
            (LabUnit("umol/L", 1.0, 0, 57, 111), LabUnit("mg/dL", 1 / 88.4, 2, 0.64, 1.25))),
    LabTest("EGFR", ("eGFR (MDRD)", "eGFR"), "Biochemistry", 0.0, 0.0, False,
            (LabUnit("mL/min/1.73m2", 1.0, 0, 90, None), LabUnit("mL/min/1.73m²", 1.0, 0, 90, None))),
    LabTest("CK", ("Creatine kinase", "CK"), "Biochemistry", 105.0, 0.4, True,
            (LabUnit("U/L", 1.0, 0, 40, 200), LabUnit("IU/L", 1.0, 0, 38, 174))),
    LabTest("HCG", ("Pregnancy test", "hCG"), "Pregnancy", 0.0, 0.0, False,
            (LabUnit("", 1.0, 0, None, None),)),
)
LAB_NOT_DONE_REASONS = ("Sample haemolysed", "Insufficient sample", "Sample lost in transit",
                        "Analyser failure")

MH_TERMS = (
    "Hypertension", "Hyperlipidaemia", "Diabetic retinopathy", "Coronary heart disease",
    "Fatty liver", "Cataract", "Hyperuricaemia", "Benign prostatic hyperplasia", "Osteoarthritis",
    "Chronic gastritis", "Hypothyroidism", "Diabetic nephropathy (early)", "Ménière's disease",
    "Lumbar disc herniation", "Insomnia", "高血压",
)

# concomitant medications: (name as entered, indication, dose, unit, frequency, route, probability)
CM_DRUGS = (
    ("Metformin", "Type 2 diabetes", "500", "mg", "BID", "Oral", 0.70),
    ("Insulin glargine", "Type 2 diabetes", "16", "U", "QD", "Subcutaneous", 0.40),
    ("Gliclazide", "Type 2 diabetes", "30", "mg", "QD", "Oral", 0.15),
    ("Sitagliptin", "T2DM", "100", "mg", "QD", "Oral", 0.20),
    ("Dapagliflozin", "Type 2 diabetes", "10", "mg", "QD", "Oral", 0.20),
    ("Acarbose", "T2DM", "50", "mg", "TID", "Oral", 0.15),
    ("Atorvastatin", "Hyperlipidaemia", "20", "mg", "QN", "Oral", 0.35),
    ("Amlodipine", "Hypertension", "5", "mg", "QD", "Oral", 0.30),
    ("Aspirin", "CHD prophylaxis", "100", "mg", "QD", "Oral", 0.25),
    ("Valsartan", "Hypertension", "80", "mg", "QD", "Oral", 0.15),
)
# medication used to treat adverse events (start on AE start)
CM_FOR_AE = ("Paracetamol", "Ibuprofen", "Amoxicillin", "Loratadine", "Omeprazole")

# conventional neuropathy therapy: (names as entered, dose, unit, frequency variants, route variants, prob)
CONVENTIONAL_THERAPY = (
    (("Mecobalamin", "Methylcobalamin", "mecobalamin tablets"), "0.5", "mg", ("TID", "tid", "Three times daily"),
     ("Oral", "PO"), 1.00),
    (("Alpha-lipoic acid", "alpha lipoic acid", "Thioctic acid"), "600", "mg", ("QD", "qd"), ("Oral", "PO"), 0.60),
    (("Epalrestat", "epalrestat"), "50", "mg", ("TID", "tid"), ("Oral", "PO"), 0.40),
)

INJECTION_LOCATIONS = ("Left calf", "Right calf", "Left thigh", "Right thigh", "Bilateral calves")


@dataclass(frozen=True)
class MeddraTerm:
    """One coded term; codes look like MedDRA codes but are illustrative, not a licensed extract."""
    verbatims: tuple[str, ...]
    llt: str
    llt_code: int
    pt: str
    pt_code: int
    hlt: str
    hlt_code: int
    hlgt: str
    hlgt_code: int
    soc: str
    soc_code: int


_GEN = ("General disorders and administration site conditions", 10018065)
_INF = ("Infections and infestations", 10021881)
_NER = ("Nervous system disorders", 10029205)
_GI = ("Gastrointestinal disorders", 10017947)
_MET = ("Metabolism and nutrition disorders", 10027433)
_MSK = ("Musculoskeletal and connective tissue disorders", 10028395)
_SKN = ("Skin and subcutaneous tissue disorders", 10040785)
_VAS = ("Vascular disorders", 10047065)
_CAR = ("Cardiac disorders", 10007541)


def _term(verbatims, llt, llt_code, pt, pt_code, hlt, hlt_code, hlgt, hlgt_code, soc):
    return MeddraTerm(tuple(verbatims), llt, llt_code, pt, pt_code, hlt, hlt_code, hlgt, hlgt_code, soc[0], soc[1])


INJECTION_SITE_TERMS = (
    _term(("Pain at injection site", "injection site pain", "注射部位疼痛"), "Injection site pain", 10022086,
          "Injection site pain", 10022086, "Injection site reactions", 10022095,
          "Administration site reactions", 10001316, _GEN),
    _term(("Swelling at injection site", "injection site swelling"), "Injection site swelling", 10053425,
          "Injection site swelling", 10053425, "Injection site reactions", 10022095,
          "Administration site reactions", 10001316, _GEN),
    _term(("Redness at injection site", "Injection site erythema"), "Injection site redness", 10022098,
          "Injection site erythema", 10022061, "Injection site reactions", 10022095,
          "Administration site reactions", 10001316, _GEN),
)
GENERAL_AE_TERMS = (
    _term(("Fever", "fever 38.5°C", "Pyrexia"), "Fever", 10016558, "Pyrexia", 10037660,
          "Febrile disorders", 10016286, "Body temperature conditions", 10005908, _GEN),
    _term(("Headache", "HEADACHE", "headache"), "Headache", 10019211, "Headache", 10019211,
          "Headaches NEC", 10019233, "Headaches", 10019231, _NER),
    _term(("Dizziness", "dizzy"), "Dizziness", 10013573, "Dizziness", 10013573,
          "Neurological signs and symptoms NEC", 10029301, "Neurological disorders NEC", 10029305, _NER),
    _term(("Common cold", "Cold", "感冒"), "Common cold", 10010106, "Nasopharyngitis", 10028810,
          "Upper respiratory tract infections", 10046309, "Infections - pathogen unspecified", 10021879, _INF),
    _term(("URTI", "Upper respiratory tract infection"), "URTI", 10046300,
          "Upper respiratory tract infection", 10046306, "Upper respiratory tract infections", 10046309,
          "Infections - pathogen unspecified", 10021879, _INF),
    _term(("Hypoglycaemia", "low blood sugar", "Hypoglycemia"), "Hypoglycaemia", 10020993, "Hypoglycaemia",
          10020993, "Hypoglycaemic conditions NEC", 10020994, "Glucose metabolism disorders (incl diabetes mellitus)",
          10018424, _MET),
    _term(("Diarrhoea", "diarrhea", "Loose stools"), "Diarrhoea", 10012735, "Diarrhoea", 10012735,
          "Diarrhoea (excl infective)", 10012736, "Gastrointestinal motility and defaecation conditions",
          10017977, _GI),
    _term(("Nausea",), "Nausea", 10028813, "Nausea", 10028813, "Nausea and vomiting symptoms", 10028817,
          "Gastrointestinal signs and symptoms", 10018012, _GI),
    _term(("Urinary tract infection", "UTI"), "Urinary tract infection", 10046571, "Urinary tract infection",
          10046571, "Urinary tract infections", 10046577, "Infections - pathogen unspecified", 10021879, _INF),
    _term(("Back pain", "Low back pain"), "Back pain", 10003988, "Back pain", 10003988,
          "Musculoskeletal and connective tissue pain and discomfort", 10068757,
          "Musculoskeletal and connective tissue disorders NEC", 10028393, _MSK),
    _term(("Pain in leg", "leg pain"), "Pain in leg", 10033432, "Pain in extremity", 10033425,
          "Musculoskeletal and connective tissue pain and discomfort", 10068757,
          "Musculoskeletal and connective tissue disorders NEC", 10028393, _MSK),
    _term(("Rash", "skin rash"), "Rash", 10037844, "Rash", 10037844, "Rashes, eruptions and exanthems NEC",
          10037868, "Epidermal and dermal conditions", 10014982, _SKN),
    _term(("Blood pressure high", "Hypertension aggravated"), "Blood pressure high", 10005750, "Hypertension",
          10020772, "Vascular hypertensive disorders NEC", 10047113, "Vascular hypertensive disorders", 10047114, _VAS),
    _term(("Fatigue", "tiredness"), "Fatigue", 10016256, "Fatigue", 10016256, "Asthenic conditions", 10003550,
          "General system disorders NEC", 10018073, _GEN),
)
SERIOUS_AE_TERMS = (
    _term(("Pneumonia",), "Pneumonia", 10035664, "Pneumonia", 10035664, "Lower respiratory tract infections NEC",
          10024970, "Infections - pathogen unspecified", 10021879, _INF),
    _term(("Cellulitis of left foot", "Cellulitis"), "Cellulitis", 10007882, "Cellulitis", 10007882,
          "Skin structures and soft tissue infections", 10040789, "Infections - pathogen unspecified", 10021879, _INF),
    _term(("Severe hypoglycaemia",), "Hypoglycaemia", 10020993, "Hypoglycaemia", 10020993,
          "Hypoglycaemic conditions NEC", 10020994, "Glucose metabolism disorders (incl diabetes mellitus)",
          10018424, _MET),
)
FATAL_AE_TERMS = (
    _term(("Acute myocardial infarction", "AMI"), "Acute myocardial infarction", 10000891,
          "Acute myocardial infarction", 10000891, "Ischaemic coronary artery disorders", 10011082,
          "Coronary artery disorders", 10011078, _CAR),
    _term(("Cerebral infarction", "Stroke"), "Cerebral infarction", 10008118, "Cerebral infarction", 10008118,
          "Central nervous system haemorrhages and cerebrovascular accidents", 10007948,
          "Central nervous system vascular disorders", 10007963, _NER),
)

DISCONTINUATION_REASONS = (
    ("Withdrawal by subject", 0.40), ("Lost to follow-up", 0.30), ("Adverse event", 0.15),
    ("Physician decision", 0.10), ("Protocol deviation", 0.05),
)
