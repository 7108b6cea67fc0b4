"""The importer registry: every scan format by name, format detection, and parsing by name.

Each module follows the contract in ``base.py``. ``detect_format`` asks the modules in an order that
settles the ambiguous cases (a Trivy SARIF log is SARIF; a CycloneDX SBOM written by Trivy is
CycloneDX), and ``parse`` turns any stray low-level error into ``ImportFailed``.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from types import ModuleType
from typing import BinaryIO

import msgspec

from findings.errors import ImportFailed

from . import (
    bandit,
    checkov,
    cyclonedx,
    dependabot,
    fickling,
    garak,
    gitleaks,
    grype,
    modelscan,
    npm_audit,
    osv_scanner,
    picklescan,
    pip_audit,
    promptfoo,
    sarif,
    spdx,
    trivy,
    trufflehog,
)
from .base import FindingRecord, ImportExtras

# Detection order. Containers of other formats first (SARIF carries any tool, SBOMs carry
# vulnerabilities), then reports keyed by distinctive top-level fields, then the bare lists.
_ORDER: tuple[ModuleType, ...] = (
    sarif,
    cyclonedx,
    spdx,
    trivy,
    grype,
    modelscan,
    fickling,
    promptfoo,
    garak,
    picklescan,
    osv_scanner,
    checkov,
    bandit,
    npm_audit,
    dependabot,
    pip_audit,
    gitleaks,
    trufflehog,
)
FORMATS: dict[str, ModuleType] = {module.NAME: module for module in _ORDER}

# What a scanner writes when it finds nothing, and which format to call it when the file name gives
# no better clue: osv-scanner writes nothing at all, legacy Trivy `null`, pip-audit `[]`.
_EMPTY_DEFAULTS = {b"": osv_scanner.NAME, b"null": trivy.NAME, b"[]": pip_audit.NAME}
_NAME_HINTS = (
    ("sarif", sarif.NAME),
    ("trivy", trivy.NAME),
    ("grype", grype.NAME),
    ("pip-audit", pip_audit.NAME),
    ("pip_audit", pip_audit.NAME),
    ("pipaudit", pip_audit.NAME),
    ("bandit", bandit.NAME),
    ("osv", osv_scanner.NAME),
    ("checkov", checkov.NAME),
    ("gitleaks", gitleaks.NAME),
    ("trufflehog", trufflehog.NAME),
    ("npm", npm_audit.NAME),
    ("dependabot", dependabot.NAME),
    ("cyclonedx", cyclonedx.NAME),
    ("cdx", cyclonedx.NAME),
    ("spdx", spdx.NAME),
    ("modelscan", modelscan.NAME),
    ("picklescan", picklescan.NAME),
    ("fickling", fickling.NAME),
    ("garak", garak.NAME),
    ("promptfoo", promptfoo.NAME),
)
_BLANKS = re.compile(rb"\s+")
# Low-level errors no module should let through; if one does, the person still gets a message.
_STRAY = (
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    IndexError,
    RecursionError,
    MemoryError,
    OverflowError,
    msgspec.MsgspecError,
)


def supported() -> str:
    return ", ".join(f"{module.LABEL} ({module.NAME})" for module in _ORDER)


def detect_format(head: bytes, filename: str = "") -> str:
    """The name of the format of a file, from its first bytes (and its name for empty reports)."""
    head = head.removeprefix(codecs.BOM_UTF8)
    compact = _BLANKS.sub(b"", head[:64])
    if compact in _EMPTY_DEFAULTS and len(head.strip()) < 64:
        return _empty_report_format(compact, filename)
    for module in _ORDER:
        try:
            if module.sniff(head):
                return module.NAME
        except Exception:  # noqa: S112 - a sniffer must never stop detection; the next one may know
            continue
    start = head.lstrip()[:1]
    if start not in (b"{", b"["):
        shown = head.lstrip()[:20].decode("utf-8", "replace")
        problem = f"it is not JSON (it starts with {shown!r})"
    else:
        problem = "no importer recognizes its content"
    raise ImportFailed(
        f"Unrecognized scan file: {problem}. Supported formats: {supported()}. "
        "Other scanners can usually export SARIF 2.1.0."
    )


def _empty_report_format(content: bytes, filename: str) -> str:
    # Only a format whose importer reads this empty report as "no findings" may claim it.
    name = filename.lower()
    for hint, format_name in _NAME_HINTS:
        if hint in name:
            try:
                if not any(True for _ in FORMATS[format_name].parse(io.BytesIO(content))):
                    return format_name
            except ImportFailed:
                continue
    return _EMPTY_DEFAULTS[content]


def parse(format_name: str, stream: BinaryIO, extras: ImportExtras | None = None) -> Iterator[FindingRecord]:
    """Stream the records of a file in the named format; ``extras`` collects what it says besides
    findings (red-team probe statistics), complete once the records are exhausted."""
    module = FORMATS.get(format_name)
    if module is None:
        raise ImportFailed(f"Unknown scan format {format_name!r}. Supported formats: {supported()}.")
    return _guarded(module, stream, extras)


def _guarded(module: ModuleType, stream: BinaryIO, extras: ImportExtras | None) -> Iterator[FindingRecord]:
    try:
        if getattr(module, "HAS_EXTRAS", False):
            yield from module.parse(stream, extras)
        else:
            yield from module.parse(stream)
    except ImportFailed:
        raise
    except _STRAY as exc:
        what = type(exc).__name__
        raise ImportFailed(f"{module.LABEL}: the file could not be read ({what}: {str(exc)[:200]}).") from exc
