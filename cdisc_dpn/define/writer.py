"""write_define: the tree as pretty, UTF-8 XML, written atomically (temp file + rename)."""
from __future__ import annotations

import os

from lxml import etree

from cdisc_dpn.atomic import write_atomic


def serialise(tree: etree._ElementTree | etree._Element) -> bytes:
    """Deterministic bytes: same tree, same bytes (attribute order is insertion order, no clock)."""
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    root = _copy_without_blank_text(root)
    etree.indent(root, space="  ")
    body = etree.tostring(root, encoding="UTF-8", pretty_print=True, xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def _copy_without_blank_text(root: etree._Element) -> etree._Element:
    copy = etree.fromstring(etree.tostring(root), etree.XMLParser(remove_blank_text=True, resolve_entities=False,
                                                                   no_network=True))
    return copy


def write_define(tree: etree._ElementTree, path: str | os.PathLike) -> None:
    """Write define.xml to `path` (UTF-8, two-space indent); nothing is left behind on failure."""
    write_atomic(path, serialise(tree))
