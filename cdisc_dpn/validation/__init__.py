"""Validation stage: GX suites generated from the spec, conformance rules kept as data, reports.

    build_suite(spec, terminology) -> dict            GX 1.x suite of one dataset (JSON-able)
    write_suites(specs, terminology, out_dir)         validation/suites/<dataset>.json
    validate_domains(domains, terminology, ...)       in-memory DomainFrames -> ValidationResult
    running_gx_worker() / submit_suite(gx, ...)      the suites in a worker process, beside the run
    validate_folder(folder, define_path=, specs=)     any folder of SDTM XPT files -> ValidationResult
    write_reports(result, out_dir, run_id=)           report.json / report.html / report.xlsx
"""
from cdisc_dpn.validation.catalogue import Catalogue, load_catalogue
from cdisc_dpn.validation.reports import write_reports
from cdisc_dpn.validation.gx_worker import running_gx_worker
from cdisc_dpn.validation.runner import RuleCount, ValidationResult, submit_suite, validate_domains, validate_folder
from cdisc_dpn.validation.suites import build_suite, write_suites

__all__ = ["Catalogue", "RuleCount", "ValidationResult", "build_suite", "load_catalogue", "running_gx_worker",
           "submit_suite", "validate_domains", "validate_folder", "write_reports", "write_suites"]
