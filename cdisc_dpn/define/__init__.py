"""Define-XML 2.1 for the written SDTM datasets: build, check, write, render as HTML.

    tree, findings = build_define(specs, terminology, domains, lengths, created=run.created)
    findings += check_define(tree, domains, lengths)
    write_define(tree, out / "define.xml")
    render_define_html(tree, out / "define.html")
"""
from __future__ import annotations

from .assemble import build_define
from .checks import check_define
from .html import render_define_html
from .writer import write_define

__all__ = ["build_define", "check_define", "write_define", "render_define_html"]
