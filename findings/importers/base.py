"""The contract every importer module keeps.

An importer module turns one scanner's output into normalized ``FindingRecord`` objects and nothing
else: no Django, no database, no asset matching. Each module exposes:

- ``NAME``: the format key stored on import jobs (``"trivy"``, ``"sarif"``, ...).
- ``LABEL``: what people read (``"Trivy JSON"``).
- ``sniff(head: bytes) -> bool``: whether the first bytes of a file (up to ``SNIFF_BYTES``) look
  like this format. Cheap, never raises.
- ``parse(stream: BinaryIO) -> Iterator[FindingRecord]``: stream the records. Raises
  ``ImportFailed`` with a message that names the format, what is wrong and where.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from findings.categories import Category, Severity

SNIFF_BYTES = 64 * 1024
MAX_TEXT = 4000


__all__ = ["Category", "FindingRecord", "ImportExtras", "Importer", "ProbeStat", "Severity"]


@dataclass(slots=True)
class FindingRecord:
    category: str
    rule_id: str
    title: str
    severity: str
    package: str = ""
    installed_version: str = ""
    fixed_version: str = ""
    # Where in the target: file path with line, or the package path inside an image.
    location: str = ""
    # What the scanner scanned (image reference, repository URL, directory, package URL); used to
    # match the finding to an asset when the uploader names none.
    target: str = ""
    cvss: float | None = None
    published_at: dt.datetime | None = None
    description: str = ""
    url: str = ""
    # The tool inside a format that many tools write (SARIF: CodeQL, Semgrep...); findings one tool
    # stops reporting are mitigated, not those of another tool on the same asset.
    tool: str = ""
    # What tells apart two findings of one rule at one place, when the scanner says (SARIF: the
    # message and partial fingerprints); part of the fingerprint only when set.
    identity: str = ""


class Importer(Protocol):
    NAME: str
    LABEL: str

    def sniff(self, head: bytes) -> bool: ...

    def parse(self, stream: BinaryIO) -> Iterator[FindingRecord]: ...


@dataclass(slots=True)
class ProbeStat:
    """What one red-team probe (garak) or plugin (promptfoo) did against its target, pass or fail."""

    probe: str
    attempts: int
    passed: int
    detectors: list[str]
    owasp: list[str]
    atlas: list[str]
    target: str = ""

    @property
    def failed(self) -> int:
        return self.attempts - self.passed

    @property
    def pass_rate(self) -> float:
        return self.passed / self.attempts if self.attempts else 1.0


@dataclass
class ImportExtras:
    """What a format says besides findings, filled while its records stream (red-team probe stats)."""

    probes: list[ProbeStat] = field(default_factory=list)
