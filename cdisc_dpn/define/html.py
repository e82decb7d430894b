"""render_define_html: a readable define.html made from define.xml itself (not from the spec).

Plain string building with html.escape, CSS inlined from templates/define.css, no scripts and
nothing fetched. Anchors are the define OIDs (IG.DM, IT.DM.AGE, VL.LB.LBORRES, CL.C66731,
MT.DM.AGE, COM.DM, LF.acrf), so every internal link names what it points to.
"""
from __future__ import annotations

import os
from html import escape
from importlib import resources
from pathlib import Path
from typing import Callable

from lxml import etree

from cdisc_dpn.atomic import write_atomic
from .xmlns import NS, XL_HREF, df, safe_parser


def _default_xpt_href(name: str) -> str:
    return f"{name.lower()}.xpt"


def _e(text: object) -> str:
    return escape("" if text is None else str(text), quote=True)


def _text(el: etree._Element | None, path: str = "odm:Description/odm:TranslatedText") -> str:
    if el is None:
        return ""
    found = el.find(path, NS)
    return (found.text or "") if found is not None else ""


def _link(target: str, label: str | None = None) -> str:
    return f'<a href="#{_e(target)}">{_e(label if label is not None else target)}</a>'


class _Renderer:
    def __init__(self, root: etree._Element, xpt_href: Callable[[str], str]):
        self.root = root
        self.xpt_href = xpt_href
        self.mdv = root.find(".//odm:MetaDataVersion", NS)
        m = self.mdv
        self.items = {el.get("OID"): el for el in m.iterfind("odm:ItemDef", NS)}
        self.codelists = {el.get("OID"): el for el in m.iterfind("odm:CodeList", NS)}
        self.methods = {el.get("OID"): el for el in m.iterfind("odm:MethodDef", NS)}
        self.comments = {el.get("OID"): el for el in m.iterfind("def:CommentDef", NS)}
        self.value_lists = {el.get("OID"): el for el in m.iterfind("def:ValueListDef", NS)}
        self.where = {el.get("OID"): el for el in m.iterfind("def:WhereClauseDef", NS)}
        self.leaves = {el.get("ID"): el for el in m.iterfind(".//def:leaf", NS)}
        self.groups = list(m.iterfind("odm:ItemGroupDef", NS))
        self.doc_leaves = list(m.iterfind("def:leaf", NS))
        self.ids: set[str] = set()

    # -------------------------------------------------------------- small pieces
    def ref(self, oid: str | None, known: dict) -> str:
        if not oid:
            return ""
        return _link(oid) if oid in known else _e(oid)

    def doc_ref(self, ref: etree._Element) -> str:
        leaf = self.leaves.get(ref.get("leafID"))
        title = leaf.findtext("def:title", default=ref.get("leafID"), namespaces=NS) if leaf is not None else \
            ref.get("leafID")
        pages = [p.get("PageRefs") or f"{p.get('FirstPage')}-{p.get('LastPage')}"
                 for p in ref.iterfind("def:PDFPageRef", NS)]
        text = _link(ref.get("leafID"), title) if leaf is not None else _e(title)
        return text + (f" p. {_e(', '.join(pages))}" if pages else "")

    def origin(self, item: etree._Element) -> str:
        parts = []
        for o in item.iterfind("def:Origin", NS):
            text = _e(o.get("Type"))
            if o.get("Source"):
                text += f" ({_e(o.get('Source'))})"
            pred = _text(o)
            if pred:
                text += f": {_e(pred)}"
            refs = [self.doc_ref(r) for r in o.iterfind("def:DocumentRef", NS)]
            if refs:
                text += " " + "; ".join(refs)
            parts.append(text)
        return "<br>".join(parts)

    def terms(self, item: etree._Element) -> str:
        cl = item.find("odm:CodeListRef", NS)
        out = []
        if cl is not None:
            target = self.codelists.get(cl.get("CodeListOID"))
            out.append(_link(cl.get("CodeListOID"), target.get("Name") if target is not None else None)
                       if target is not None else _e(cl.get("CodeListOID")))
        vl = item.find("def:ValueListRef", NS)
        if vl is not None:
            oid = vl.get("ValueListOID")
            out.append(_link(oid, "Value-level metadata") if oid in self.value_lists else _e(oid))
        return "<br>".join(out)

    @staticmethod
    def type_length(item: etree._Element) -> tuple[str, str]:
        length = item.get("Length") or ""
        if item.get("SignificantDigits"):
            length += f" ({item.get('SignificantDigits')} decimals)"
        return item.get("DataType") or "", length

    def where_text(self, oid: str | None) -> str:
        wc = self.where.get(oid or "")
        if wc is None:
            return _e(oid)
        parts = []
        for rc in wc.iterfind("odm:RangeCheck", NS):
            target = self.items.get(rc.get(df("ItemOID")))
            name = target.get("Name") if target is not None else rc.get(df("ItemOID"))
            values = ", ".join(v.text or "" for v in rc.iterfind("odm:CheckValue", NS))
            parts.append(f"{name} {rc.get('Comparator')} {values}")
        return _e(" and ".join(parts))

    # -------------------------------------------------------------- sections
    def header(self) -> str:
        gv = self.root.find(".//odm:GlobalVariables", NS)
        study = gv.findtext("odm:StudyName", default="", namespaces=NS) if gv is not None else ""
        rows = [("Study", study),
                ("Description", gv.findtext("odm:StudyDescription", default="", namespaces=NS) if gv is not None
                 else ""),
                ("Protocol", gv.findtext("odm:ProtocolName", default="", namespaces=NS) if gv is not None else ""),
                ("Metadata version", self.mdv.get("Name")),
                ("Define-XML version", self.mdv.get(df("DefineVersion"))),
                ("Context", self.root.get(df("Context"))),
                ("Created", self.root.get("CreationDateTime")),
                ("Source system", f"{self.root.get('SourceSystem', '')} {self.root.get('SourceSystemVersion', '')}")]
        body = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows)
        return f'<header id="top"><h1>{_e(study)} — Data Definition</h1><dl class="meta">{body}</dl></header>'

    def standards(self) -> str:
        rows = "".join(
            f'<tr id="{_e(s.get("OID"))}"><td>{_e(s.get("Name"))}</td><td>{_e(s.get("Type"))}</td>'
            f'<td>{_e(s.get("PublishingSet", ""))}</td><td>{_e(s.get("Version"))}</td><td>{_e(s.get("Status"))}</td></tr>'
            for s in self.mdv.iterfind("def:Standards/def:Standard", NS))
        return ('<section id="standards"><h2>Standards</h2><table><thead><tr><th>Name</th><th>Type</th>'
                f'<th>Publishing set</th><th>Version</th><th>Status</th></tr></thead><tbody>{rows}</tbody></table>'
                '</section>')

    def documents(self) -> str:
        kinds = {}
        for kind, label in (("AnnotatedCRF", "Annotated CRF"), ("SupplementalDoc", "Supplemental document")):
            for ref in self.mdv.iterfind(f"def:{kind}/def:DocumentRef", NS):
                kinds.setdefault(ref.get("leafID"), label)
        rows = "".join(f'<tr id="{_e(leaf.get("ID"))}"><td>{_e(kinds.get(leaf.get("ID"), "Document"))}</td>'
                       f'<td>{_e(leaf.findtext("def:title", "", NS))}</td>'
                       f'<td><a href="{_e(leaf.get(XL_HREF))}">{_e(leaf.get(XL_HREF))}</a></td></tr>'
                       for leaf in self.doc_leaves)
        return ('<section id="documents"><h2>Documents</h2><table><thead><tr><th>Kind</th><th>Title</th>'
                f'<th>File</th></tr></thead><tbody>{rows}</tbody></table></section>')

    def datasets_table(self) -> str:
        rows = []
        for g in self.groups:
            name = g.get("Name")
            cls = g.find("def:Class", NS)
            keys = sorted(((int(r.get("KeySequence")), self.items.get(r.get("ItemOID")))
                           for r in g.iterfind("odm:ItemRef", NS) if r.get("KeySequence")), key=lambda t: t[0])
            key_names = ", ".join(i.get("Name") for _k, i in keys if i is not None)
            leaf = g.find("def:leaf", NS)
            href = self.xpt_href(name)
            title = leaf.findtext("def:title", default=href, namespaces=NS) if leaf is not None else href
            rows.append(
                f'<tr><td>{_link(g.get("OID"), name)}</td><td>{_e(_text(g))}</td>'
                f'<td>{_e(cls.get("Name") if cls is not None else "")}</td><td>{_e(g.get(df("Structure")))}</td>'
                f'<td>{_e(g.get("Purpose"))}</td><td>{_e(key_names)}</td>'
                f'<td>{self.ref(g.get(df("CommentOID")), self.comments)}</td>'
                f'<td><a class="xpt" href="{_e(href)}">{_e(title)}</a></td></tr>')
        return ('<section id="datasets"><h2>Datasets</h2><table id="datasets-table"><thead><tr><th>Dataset</th>'
                '<th>Description</th><th>Class</th><th>Structure</th><th>Purpose</th><th>Keys</th>'
                f'<th>Comment</th><th>Location</th></tr></thead><tbody>{"".join(rows)}</tbody></table></section>')

    def dataset(self, g: etree._Element) -> str:
        rows = []
        for r in g.iterfind("odm:ItemRef", NS):
            item = self.items.get(r.get("ItemOID"))
            if item is None:
                rows.append(f'<tr><td colspan="9">{_e(r.get("ItemOID"))} (not defined)</td></tr>')
                continue
            dtype, length = self.type_length(item)
            rows.append(
                f'<tr id="{_e(item.get("OID"))}"><td>{_e(item.get("Name"))}</td><td>{_e(_text(item))}</td>'
                f'<td>{_e(r.get("KeySequence", ""))}</td><td>{_e(dtype)}</td><td>{_e(length)}</td>'
                f'<td>{_e(r.get("Mandatory"))}</td><td>{self.terms(item)}</td><td>{self.origin(item)}</td>'
                f'<td>{self.ref(r.get("MethodOID"), self.methods)}'
                f'{"<br>" if r.get("MethodOID") and item.get(df("CommentOID")) else ""}'
                f'{self.ref(item.get(df("CommentOID")), self.comments)}</td></tr>')
        name = g.get("Name")
        return (f'<section id="{_e(g.get("OID"))}" class="dataset"><h3>{_e(name)} — {_e(_text(g))} '
                f'(<a class="xpt" href="{_e(self.xpt_href(name))}">{_e(self.xpt_href(name))}</a>)</h3>'
                f'<table class="variables"><thead><tr><th>Variable</th><th>Label</th><th>Key</th><th>Type</th>'
                f'<th>Length</th><th>Mandatory</th><th>Controlled terms or format</th><th>Origin</th>'
                f'<th>Derivation / comment</th></tr></thead><tbody>{"".join(rows)}</tbody></table></section>')

    def value_level(self) -> str:
        out = []
        for oid, vl in self.value_lists.items():
            rows = []
            for r in vl.iterfind("odm:ItemRef", NS):
                item = self.items.get(r.get("ItemOID"))
                if item is None:
                    continue
                where = "; ".join(self.where_text(w.get("WhereClauseOID"))
                                  for w in r.iterfind("def:WhereClauseRef", NS))
                dtype, length = self.type_length(item)
                rows.append(
                    f'<tr id="{_e(item.get("OID"))}"><td>{_e(item.get("Name"))}</td><td>{where}</td>'
                    f'<td>{_e(_text(item))}</td><td>{_e(dtype)}</td><td>{_e(length)}</td>'
                    f'<td>{_e(r.get("Mandatory"))}</td><td>{self.terms(item)}</td><td>{self.origin(item)}</td>'
                    f'<td>{self.ref(r.get("MethodOID"), self.methods)}'
                    f'{"<br>" if r.get("MethodOID") and item.get(df("CommentOID")) else ""}'
                    f'{self.ref(item.get(df("CommentOID")), self.comments)}</td></tr>')
            out.append(f'<table id="{_e(oid)}"><caption>{_e(oid)}</caption><thead><tr><th>Variable</th>'
                       '<th>Where</th><th>Description</th><th>Type</th><th>Length</th><th>Mandatory</th>'
                       '<th>Controlled terms</th><th>Origin</th><th>Derivation / comment</th></tr></thead>'
                       f'<tbody>{"".join(rows)}</tbody></table>')
        return f'<section id="valuelevel"><h2>Value-level metadata</h2>{"".join(out)}</section>'

    def codelist_section(self) -> str:
        out = []
        for oid, cl in self.codelists.items():
            alias = cl.find("odm:Alias[@Context='nci:ExtCodeID']", NS)
            head = f'{_e(cl.get("Name"))} <span class="muted">({_e(oid)}'
            head += f', NCI {_e(alias.get("Name"))})' if alias is not None else ")"
            head += "</span>"
            rows = []
            for it in cl:
                tag = etree.QName(it).localname
                if tag not in ("CodeListItem", "EnumeratedItem"):
                    continue
                code = it.find("odm:Alias[@Context='nci:ExtCodeID']", NS)
                ext = ' <span class="ext">(sponsor extension)</span>' if it.get(df("ExtendedValue")) == "Yes" else ""
                rows.append(f'<tr><td>{_e(it.get("CodedValue"))}{ext}</td>'
                            f'<td>{_e(_text(it, "odm:Decode/odm:TranslatedText"))}</td>'
                            f'<td>{_e(code.get("Name") if code is not None else "")}</td></tr>')
            external = cl.find("odm:ExternalCodeList", NS)
            if external is not None:
                rows.append(f'<tr><td colspan="3">External dictionary {_e(external.get("Dictionary"))} '
                            f'{_e(external.get("Version", ""))}</td></tr>')
            out.append(f'<table id="{_e(oid)}"><caption>{head}</caption><thead><tr><th>Value</th><th>Decode</th>'
                       f'<th>NCI code</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
        return f'<section id="codelists"><h2>Controlled terminology</h2>{"".join(out)}</section>'

    def methods_section(self) -> str:
        rows = "".join(
            f'<tr id="{_e(oid)}"><td>{_e(m.get("Name"))}</td><td>{_e(m.get("Type"))}</td>'
            f'<td><pre>{_e(_text(m))}</pre>{"".join("<br>" + self.doc_ref(r) for r in m.iterfind("def:DocumentRef", NS))}'
            f'</td></tr>' for oid, m in self.methods.items())
        return ('<section id="methods"><h2>Methods</h2><table><thead><tr><th>Method</th><th>Type</th>'
                f'<th>Description</th></tr></thead><tbody>{rows}</tbody></table></section>')

    def comments_section(self) -> str:
        rows = "".join(
            f'<tr id="{_e(oid)}"><td>{_e(oid)}</td><td><pre>{_e(_text(c))}</pre>'
            f'{"".join("<br>" + self.doc_ref(r) for r in c.iterfind("def:DocumentRef", NS))}</td></tr>'
            for oid, c in self.comments.items())
        return ('<section id="comments"><h2>Comments</h2><table><thead><tr><th>Comment</th><th>Text</th></tr>'
                f'</thead><tbody>{rows}</tbody></table></section>')

    def toc(self) -> str:
        ds = "".join(f'<li>{_link(g.get("OID"), g.get("Name"))}</li>' for g in self.groups)
        vls = "".join(f'<li>{_link(oid, oid[3:])}</li>' for oid in self.value_lists)
        return ('<nav id="toc"><strong>Contents</strong><ul>'
                '<li><a href="#top">Study</a></li><li><a href="#standards">Standards</a></li>'
                '<li><a href="#documents">Documents</a></li>'
                f'<li><a href="#datasets">Datasets</a><ul>{ds}</ul></li>'
                f'<li><a href="#valuelevel">Value-level metadata</a><ul>{vls}</ul></li>'
                '<li><a href="#codelists">Controlled terminology</a></li>'
                '<li><a href="#methods">Methods</a></li><li><a href="#comments">Comments</a></li></ul></nav>')

    def page(self) -> str:
        css = resources.files("cdisc_dpn.define").joinpath("templates", "define.css").read_text(encoding="utf-8")
        gv = self.root.find(".//odm:GlobalVariables", NS)
        study = gv.findtext("odm:StudyName", default="", namespaces=NS) if gv is not None else ""
        body = [self.header(), self.standards(), self.documents(), self.datasets_table(),
                *(self.dataset(g) for g in self.groups), self.value_level(), self.codelist_section(),
                self.methods_section(), self.comments_section()]
        return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                f'<title>{_e(study)} — Define-XML</title>\n<style>\n{css}</style>\n</head>\n<body>\n'
                f'{self.toc()}\n<main>\n' + "\n".join(body) + '\n</main>\n</body>\n</html>\n')


def render_define_html(tree: etree._ElementTree | str | os.PathLike, path: str | os.PathLike, *,
                       xpt_href: Callable[[str], str] = _default_xpt_href) -> None:
    """Write define.html for a define tree (or a define.xml path), atomically and deterministically.

    Dataset links use `xpt_href(dataset name)`; the default gives the def:leaf href the builder
    writes (dm.xpt), so pass another function only when the HTML does not sit beside the XPTs.
    """
    if isinstance(tree, (str, os.PathLike)):
        tree = etree.parse(str(Path(tree)), safe_parser())
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    write_atomic(path, _Renderer(root, xpt_href).page().encode("utf-8"))
