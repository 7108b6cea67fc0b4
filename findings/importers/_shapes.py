"""Required shapes in decoded JSON from hostile files, shared by the SCA and secret importers.

Scan files are untrusted: any value may have the wrong type. These helpers turn a wrong shape into
``ImportFailed`` naming the format and the JSON path, so no importer ever leaks a
KeyError/TypeError/AttributeError to the person who uploaded the file. Optional fields, where a wrong
shape counts as absent, are read with ``common.as_text``/``as_dict``/``as_list``/``as_score``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from findings.errors import ImportFailed

from .common import clip


def kind(value: object) -> str:
    """How a JSON value reads in an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


def need_dict(value: object, *, label: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ImportFailed(f"{label}: expected an object at {where}, found {kind(value)}.")
    return value


def need_list(value: object, *, label: str, where: str, missing_ok: bool = True) -> list[Any]:
    if value is None and missing_ok:
        return []
    if not isinstance(value, list):
        raise ImportFailed(f"{label}: expected an array at {where}, found {kind(value)}.")
    return value


def raw_text(value: object) -> str:
    """A scalar as text, unbounded; containers count as absent.

    Never ``str()`` a container: a list nested 1000 levels deep (which orjson accepts) makes repr()
    raise RecursionError.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return ""


def join_lines(parts: list[str]) -> str:
    return clip("\n".join(part for part in parts if part))


_PURL = re.compile(r"^pkg:(?P<type>[^/]+)/(?P<path>[^@?#]+)(?:@(?P<version>[^?#]+))?")


def parse_purl(purl: str) -> tuple[str, str, str]:
    """(type, name, version) of a package URL; the name keeps its namespace as ecosystems spell it."""
    match = _PURL.match(purl.strip())
    if not match:
        return "", "", ""
    kind_ = match.group("type").lower()
    segments = [unquote(part) for part in match.group("path").split("/") if part]
    if not segments:
        return kind_, "", ""
    if kind_ == "maven" and len(segments) >= 2:
        name = f"{segments[-2]}:{segments[-1]}"
    elif kind_ in {"deb", "rpm", "apk", "alpm"}:
        # The namespace of OS packages is the distribution, not part of the package name.
        name = segments[-1]
    else:
        name = "/".join(segments)
    return kind_, name, unquote(match.group("version") or "")
