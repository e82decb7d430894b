"""Namespaces, the Define-XML version this package writes, and small lxml helpers."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from lxml import etree

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
NSMAP = {None: ODM_NS, "def": DEF_NS, "xlink": XLINK_NS}
NS = {"odm": ODM_NS, "def": DEF_NS, "xlink": XLINK_NS}

ODM_VERSION = "1.3.2"
#: The shipped define-enumerations.xsd is Define-XML 2.1.9 (CT package 2025-03-28, the CT we ship);
#: def:DefineVersion names the schema release the file is validated against.
DEFINE_VERSION = "2.1.9"
SCHEMA_ENTRY = "cdisc-define-2.1/define2-1-0.xsd"


def odm(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def df(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


def xl(tag: str) -> str:
    return f"{{{XLINK_NS}}}{tag}"


XML_LANG = f"{{{XML_NS}}}lang"
XL_HREF = f"{{{XLINK_NS}}}href"


def safe_parser() -> etree.XMLParser:
    """A parser that never fetches anything and never expands entities."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_blank_text=True)


def schema_dir() -> Path:
    """Folder of the Define-XML 2.1 schemas shipped inside the package."""
    return Path(str(resources.files("cdisc_dpn.define").joinpath("schema")))


def sub(parent: etree._Element, tag: str, attrib: dict[str, str | None] | None = None,
        text: str | None = None) -> etree._Element:
    """SubElement that drops None attributes (so optional attributes are written only when known)."""
    el = etree.SubElement(parent, tag)
    for key, value in (attrib or {}).items():
        if value is not None:
            el.set(key, str(value))
    if text is not None:
        el.text = text
    return el


def translated(parent: etree._Element, tag: str, text: str) -> etree._Element:
    """<Description><TranslatedText xml:lang="en">text</TranslatedText></Description> (or Decode)."""
    el = sub(parent, tag)
    sub(el, odm("TranslatedText"), {XML_LANG: "en"}, text)
    return el
