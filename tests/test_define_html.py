"""define.html: rendered from define.xml, opened in headless Chromium, internal links resolve."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "define"))
import define_study as S  # noqa: E402

from cdisc_dpn.define import build_define, render_define_html, write_define  # noqa: E402


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: list[str] = []
        self.internal: list[str] = []
        self.external: list[str] = []
        self.tables: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        href = a.get("href")
        if tag == "a" and href:
            (self.internal if href.startswith("#") else self.external).append(href)
        if tag == "table":
            self.tables.append(a.get("class") or a.get("id") or "")


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:   # a failure, not a skip: CI installs chromium (.ci/run)
        pytest.fail("chromium is not installed; install it (apt-get install -y chromium) to check define.html")
    return exe


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("define")
    spec = S.specs()
    domains = S.frames(spec)
    tree, _f = build_define(spec, S.terminology(spec), domains, S.lengths(domains), created=S.CREATED)
    write_define(tree, out / "define.xml")
    render_define_html(out / "define.xml", out / "define.html")
    return out, tree


@pytest.mark.browser
def test_chromium_renders_dataset_tables_and_links_resolve(rendered, tmp_path):
    out, _tree = rendered
    exe = _chromium()
    result = subprocess.run(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", (out / "define.html").as_uri()],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    parser = _Links()
    parser.feed(dom)
    assert 'id="datasets-table"' in dom
    for oid in ("IG.DM", "IG.LB", "IG.SUPPDM", "VL.LB.LBORRES", "CL.C66731", "MT.DM.USUBJID", "COM.DM", "LF.acrf"):
        assert oid in parser.ids, oid
    assert parser.tables.count("variables") == 3
    ids = set(parser.ids)
    assert len(ids) == len(parser.ids), "duplicate ids"
    dangling = sorted({h for h in parser.internal if h[1:] not in ids})
    assert dangling == []
    assert {"dm.xpt", "lb.xpt", "suppdm.xpt"} <= set(parser.external)


def test_html_is_escaped_and_self_contained(rendered):
    out, _tree = rendered
    html = (out / "define.html").read_text(encoding="utf-8")
    assert "Reviewer&#x27;s Guide &lt;SDTM&gt;" in html
    assert "<script" not in html and not re.search(r'(src|href)="https?:', html)
    assert "<style>" in html


def test_html_deterministic_and_from_tree(rendered, tmp_path):
    out, tree = rendered
    render_define_html(tree, tmp_path / "a.html")
    assert (tmp_path / "a.html").read_bytes() == (out / "define.html").read_bytes()
    render_define_html(tree, tmp_path / "b.html", xpt_href=lambda name: f"../xpt/{name.lower()}.xpt")
    assert 'href="../xpt/dm.xpt"' in (tmp_path / "b.html").read_text(encoding="utf-8")
