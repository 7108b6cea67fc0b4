"""Reading framework catalogs into one neutral shape: OSCAL (JSON or XML), MITRE ATLAS (YAML) and
the frameworks shipped as data in code (NIST AI RMF 1.0, OWASP Top 10 for LLM Applications 2025)."""

from __future__ import annotations

from dataclasses import dataclass, field


class CatalogError(ValueError):
    """A catalog file that cannot be loaded; the message says why, and nothing was written."""


@dataclass
class ParsedRequirement:
    identifier: str
    title: str
    parent: str | None = None
    label: str = ""
    description: str = ""
    kind: str = ""
    is_group: bool = False
    withdrawn: bool = False
    depth: int = 0


@dataclass
class ParsedCatalog:
    slug: str
    name: str
    version: str = ""
    publisher: str = ""
    source: str = ""
    url: str = ""
    licence: str = ""
    attribution: str = ""
    requirements: list[ParsedRequirement] = field(default_factory=list)
