"""OSCAL catalogs, JSON or XML, with any nesting of groups and controls.

XML is parsed by defusedxml with DTDs forbidden: a document that declares entities (XXE, billion
laughs) or any DTD is refused before anything is expanded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from django.utils.text import slugify

from controls.catalogs import CatalogError, ParsedCatalog, ParsedRequirement

NS = "{http://csrc.nist.gov/ns/oscal/1.0}"
MAX_BYTES = 64 * 1024 * 1024
MAX_DESCRIPTION = 2000
_SPACES = re.compile(r"\s+")
_INSERT = re.compile(r"\{\{\s*insert:\s*param,\s*([^}\s]+)\s*\}\}")
# Catalogs we map the baseline to get stable slugs whatever their exact titles.
KNOWN_SLUGS = [
    ("800-53", "nist-sp-800-53-rev5"),
    ("cybersecurity framework 2.0", "nist-csf-2"),
]


def catalog_slug(title: str) -> str:
    lowered = title.lower()
    for marker, slug in KNOWN_SLUGS:
        if marker in lowered:
            return slug
    return slugify(title)[:60] or "catalog"


def _clean(text: str) -> str:
    text = _INSERT.sub(lambda m: f"[{m.group(1)}]", text)
    return _SPACES.sub(" ", text).strip()


def read_oscal(path: Path, *, slug: str = "") -> ParsedCatalog:
    """Parse an OSCAL catalog file (JSON or XML, told apart by its first byte)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CatalogError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    if size > MAX_BYTES:
        raise CatalogError(f"{path.name} is {size // (1024 * 1024)} MB; catalogs over 64 MB are refused.")
    data = path.read_bytes()
    head = data.lstrip()[:1]
    if head == b"<":
        catalog = _from_xml(data, path.name)
    elif head in (b"{", b"["):
        catalog = _from_json(data, path.name)
    else:
        raise CatalogError(f"{path.name} is neither JSON nor XML: it is not an OSCAL catalog.")
    if slug:
        catalog.slug = slug
    if not catalog.requirements:
        raise CatalogError(f"{path.name} is an OSCAL catalog with no groups or controls: nothing to load.")
    return catalog


# --- JSON -------------------------------------------------------------------------------------------


def _from_json(data: bytes, name: str) -> ParsedCatalog:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise CatalogError(f"{name} is not valid JSON (truncated or damaged?): {str(exc)[:200]}.") from exc
    if not isinstance(document, dict) or not isinstance(document.get("catalog"), dict):
        raise CatalogError(f"{name} is not an OSCAL catalog: it has no top-level “catalog” object.")
    root = document["catalog"]
    metadata = root.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("title"), str):
        raise CatalogError(f"{name} is not an OSCAL catalog: catalog.metadata.title is missing.")
    catalog = _catalog_from_metadata(metadata["title"], str(metadata.get("version", "")), name)
    catalog.publisher = _json_publisher(metadata)
    for group in _json_list(root, "groups", "catalog"):
        _json_node(catalog, group, None, 0, is_group=True)
    for control in _json_list(root, "controls", "catalog"):
        _json_node(catalog, control, None, 0, is_group=False)
    return catalog


def _json_list(node: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = node.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise CatalogError(f"Not an OSCAL catalog: {where}.{key} should be a list of objects.")
    return value


def _json_publisher(metadata: dict[str, Any]) -> str:
    for party in metadata.get("parties", []) or []:
        if isinstance(party, dict) and party.get("type") == "organization" and party.get("name"):
            return str(party["name"])[:200]
    return ""


def _json_node(
    catalog: ParsedCatalog, node: dict[str, Any], parent: str | None, depth: int, *, is_group: bool
) -> None:
    identifier = node.get("id")
    title = node.get("title")
    if not isinstance(identifier, str) or not identifier or not isinstance(title, str):
        where = f"a {'group' if is_group else 'control'} under {parent or 'the catalog'}"
        raise CatalogError(f"Not an OSCAL catalog: {where} has no id or title.")
    props = {p.get("name"): p.get("value") for p in node.get("props", []) or [] if isinstance(p, dict)}
    catalog.requirements.append(
        ParsedRequirement(
            identifier=identifier[:100],
            title=_clean(title)[:500],
            parent=parent,
            label=str(props.get("label") or "")[:100],
            description=_clean(" ".join(_json_prose(node.get("parts", []))))[:MAX_DESCRIPTION],
            kind=str(node.get("class") or ("group" if is_group else "control"))[:40],
            is_group=is_group,
            withdrawn=props.get("status") == "withdrawn",
            depth=depth,
        )
    )
    where = f"“{identifier}”"
    for child in _json_list(node, "groups", where):
        _json_node(catalog, child, identifier, depth + 1, is_group=True)
    for child in _json_list(node, "controls", where):
        _json_node(catalog, child, identifier, depth + 1, is_group=False)


def _json_prose(parts: Any) -> Iterable[str]:
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict) or part.get("name") not in ("statement", "item", "overview"):
            continue
        if isinstance(part.get("prose"), str):
            yield part["prose"]
        yield from _json_prose(part.get("parts", []))


# --- XML --------------------------------------------------------------------------------------------


def _from_xml(data: bytes, name: str) -> ParsedCatalog:
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise CatalogError(
            f"{name} was refused: it declares a DTD or entities ({type(exc).__name__}). Catalogs with entity "
            "declarations can read local files or expand without bound (XXE, billion laughs)."
        ) from exc
    except ParseError as exc:
        raise CatalogError(f"{name} is not well-formed XML (truncated or damaged?): {exc}.") from exc
    if root.tag != f"{NS}catalog":
        raise CatalogError(f"{name} is not an OSCAL catalog: its root element is <{_local(root.tag)}>.")
    metadata = root.find(f"{NS}metadata")
    title = metadata.findtext(f"{NS}title") if metadata is not None else None
    if metadata is None or not title:
        raise CatalogError(f"{name} is not an OSCAL catalog: catalog/metadata/title is missing.")
    catalog = _catalog_from_metadata(_clean(title), metadata.findtext(f"{NS}version") or "", name)
    for party in metadata.findall(f"{NS}party"):
        if party.get("type") == "organization" and party.findtext(f"{NS}name"):
            catalog.publisher = (party.findtext(f"{NS}name") or "")[:200]
            break
    for child in root:
        if child.tag in (f"{NS}group", f"{NS}control"):
            _xml_node(catalog, child, None, 0)
    return catalog


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_node(catalog: ParsedCatalog, node: Element, parent: str | None, depth: int) -> None:
    is_group = node.tag == f"{NS}group"
    identifier = node.get("id")
    title = node.findtext(f"{NS}title")
    if not identifier or title is None:
        where = f"a <{_local(node.tag)}> under {parent or 'the catalog'}"
        raise CatalogError(f"Not an OSCAL catalog: {where} has no id or title.")
    props = {p.get("name"): p.get("value") for p in node.findall(f"{NS}prop")}
    prose = []
    for part in node.findall(f"{NS}part"):
        if part.get("name") in ("statement", "overview"):
            prose.append(" ".join(part.itertext()))
    label = str(props.get("label") or "")
    if label.endswith(f"({identifier})"):  # CSF labels groups "GOVERN (GV)": the id says it already
        label = ""
    catalog.requirements.append(
        ParsedRequirement(
            identifier=identifier[:100],
            title=_clean(title)[:500],
            parent=parent,
            label=label[:100],
            description=_clean(" ".join(prose))[:MAX_DESCRIPTION],
            kind=(node.get("class") or ("group" if is_group else "control"))[:40],
            is_group=is_group,
            withdrawn=props.get("status") == "withdrawn",
            depth=depth,
        )
    )
    for child in node:
        if child.tag in (f"{NS}group", f"{NS}control"):
            _xml_node(catalog, child, identifier, depth + 1)


def _catalog_from_metadata(title: str, version: str, name: str) -> ParsedCatalog:
    return ParsedCatalog(
        slug=catalog_slug(title),
        name=_clean(title)[:200],
        version=version[:60],
        source=f"OSCAL catalog {name}",
        licence="See the catalog's publisher",
    )
