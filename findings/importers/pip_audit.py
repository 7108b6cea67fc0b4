"""pip-audit JSON: the old top-level list of dependencies and the newer ``{"dependencies": [...]}``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from findings.errors import ImportFailed

from .base import Category, FindingRecord, Severity
from .common import as_text, clip, load_json

NAME = "pip_audit"
LABEL = "pip-audit JSON"


_BLANKS = re.compile(rb"\s+")
_EMPTY_REPORT = re.compile(rb'\s*\{\s*"dependencies"\s*:\s*\[\s*\]\s*(,\s*"fixes"\s*:\s*\[\s*\]\s*)?\}\s*$')


def sniff(head: bytes) -> bool:
    if _BLANKS.sub(b"", head) == b"[]":
        return True  # what pip-audit before 2.0 writes when it finds nothing
    start = head.lstrip()[:1]
    if start == b"{":
        return b'"dependencies"' in head and (b'"vulns"' in head or bool(_EMPTY_REPORT.match(head)))
    return start == b"[" and b'"vulns"' in head and b'"name"' in head


def parse(stream: BinaryIO) -> Iterator[FindingRecord]:
    document = load_json(stream, label=LABEL)
    if document is None:
        return
    if type(document) is dict:
        if "dependencies" not in document:
            raise ImportFailed(f'{LABEL}: expected a "dependencies" array at the top level.')
        document = document["dependencies"]
    if type(document) is not list:
        raise ImportFailed(f"{LABEL}: expected a list of dependencies, found {type(document).__name__}.")
    for index, dependency in enumerate(document):
        if type(dependency) is not dict or "name" not in dependency:
            raise ImportFailed(f"{LABEL}: dependencies[{index}] is not a pip-audit dependency (no name).")
        vulns = dependency.get("vulns")
        if vulns is None:
            continue  # skipped dependencies ("skip_reason") were not audited
        if type(vulns) is not list:
            raise ImportFailed(f"{LABEL}: dependencies[{index}].vulns should be a list.")
        for position, vuln in enumerate(vulns):
            if type(vuln) is not dict:
                raise ImportFailed(f"{LABEL}: dependencies[{index}].vulns[{position}] should be an object.")
            yield _record(dependency, vuln, index, position)


def _record(dependency: dict[str, Any], vuln: dict[str, Any], index: int, position: int) -> FindingRecord:
    rule = as_text(vuln.get("id"), 200)
    if not rule:
        raise ImportFailed(f"{LABEL}: dependencies[{index}].vulns[{position}] has no id.")
    name = as_text(dependency.get("name"), 500)
    version = as_text(dependency.get("version"), 200)
    fixes = vuln.get("fix_versions")
    aliases = vuln.get("aliases")
    description = as_text(vuln.get("description"))
    if type(aliases) is list and aliases:
        description = clip(f"{description}\n\nAliases: {', '.join(as_text(a, 100) for a in aliases)}".strip())
    return FindingRecord(
        category=Category.VULNERABILITY,
        rule_id=rule,
        title=clip(f"{rule} in {name} {version}".strip(), 500),
        # pip-audit rates nothing; a known vulnerability is not "info", so it starts as medium.
        severity=Severity.MEDIUM,
        package=name,
        installed_version=version,
        fixed_version=clip(", ".join(as_text(v, 100) for v in fixes), 200) if type(fixes) is list else "",
        # pip-audit names no file; the package (without its version) keeps re-scans together.
        location=clip(f"pkg:pypi/{name.lower()}", 1000),
        description=description,
        url=f"https://osv.dev/vulnerability/{rule}" if rule.startswith(("PYSEC-", "GHSA-")) else "",
    )
