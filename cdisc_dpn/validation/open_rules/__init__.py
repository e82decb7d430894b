"""CDISC Open Rules (CORE rule language) evaluated natively on SDTM datasets.

    load_rulebook(folder=None) -> RuleBook      the shipped SDTMIG rules, or a newer rules folder
    run_rules(rules, study) -> [RuleRun]        scope, Match Datasets, Operations, Check tree
    read_csv_folder(folder) -> StudyData        a CORE test case (CSV + _datasets.csv + _variables.csv)
    run_all(folder) -> (RuleBook, [RuleCases])  every rule's positive/negative test cases
"""
from cdisc_dpn.validation.open_rules.engine import Hit, RuleRun, run_rule, run_rules
from cdisc_dpn.validation.open_rules.rulebook import SHIPPED_RULES, OpenRule, RuleBook, load_rulebook
from cdisc_dpn.validation.open_rules.study import StudyData, StudyDataset, from_frames, read_csv_folder

__all__ = ["Hit", "OpenRule", "RuleBook", "RuleRun", "SHIPPED_RULES", "StudyData", "StudyDataset", "from_frames",
           "load_rulebook", "read_csv_folder", "run_rule", "run_rules"]
