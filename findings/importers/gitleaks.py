"""Gitleaks JSON reports: v7 (lowercase keys: rule/offender/line) and v8 (CamelCase: RuleID/Secret/Match).

The secret itself never reaches a record: see ``_secrets``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from findings.errors import ImportFailed

from ._secrets import notebook_location, safe_record
from ._shapes import kind, need_dict, raw_text
from .base import Category, FindingRecord, Severity
from .common import as_text, load_json, redact_secret

NAME = "gitleaks"
LABEL = "Gitleaks JSON"


def sniff(head: bytes) -> bool:
    # A bare `null` or `[]` is what gitleaks writes when it finds nothing, but Trivy, pip-audit and
    # Dependabot exports write the same bytes: claiming them would misfile those, so an empty
    # gitleaks report has to be imported with the format chosen explicitly.
    start = head.lstrip()[:1]
    if start != b"[":
        return False
    # Few keys are required, because a long "line" or "Match" can push the rest past the head.
    if b'"offender"' in head:
        return True
    return b'"StartLine"' in head and (b'"RuleID"' in head or b'"StartColumn"' in head)


def parse(stream: BinaryIO) -> Iterator[FindingRecord]:
    data = stream.read()
    if not data.strip():
        raise ImportFailed(f"{LABEL}: the file is empty; gitleaks writes [] or null when it finds nothing.")
    document = load_json(io.BytesIO(data), label=LABEL)
    if document is None:
        return
    if not isinstance(document, list):
        raise ImportFailed(
            f"{LABEL}: expected a JSON array of findings at the top level, found {kind(document)}."
        )
    for index, item in enumerate(document):
        leak = need_dict(item, label=LABEL, where=f"finding [{index}]")
        if "RuleID" in leak or "Secret" in leak or "StartLine" in leak:
            yield _from_v8(leak)
        elif "rule" in leak or "offender" in leak:
            yield _from_v7(leak)
        else:
            raise ImportFailed(
                f"{LABEL}: finding [{index}] has neither gitleaks v8 keys (RuleID, Secret) "
                "nor v7 keys (rule, offender)."
            )


def _location(path: str, line: str, commit: str) -> str:
    # Mirrors gitleaks' own fingerprint (commit:file:rule:line) so a finding keeps its identity across
    # re-scans and the same secret in two commits of the history stays two findings. Notebooks are
    # located by cell, their checkpoint copies folded in (see notebook_location).
    where, _ = notebook_location(path, line)
    return f"{where}@{commit}" if commit else where


def _notebook_note(path: str, line: str) -> str:
    return notebook_location(path, line)[1]


def _shown(path: str) -> str:
    return notebook_location(path)[0]


_BLOB_LINK = re.compile(r"^(https?://[^?#]+?)/(?:-/)?blob/")


def _repository_from_link(link: str) -> str:
    match = _BLOB_LINK.match(link)
    return match.group(1) if match else ""


def _labelled(label: str, value: str) -> str:
    return f"{label}: {value}" if value else ""


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else ""


def _from_v8(leak: dict[str, Any]) -> FindingRecord:
    secret = raw_text(leak.get("Secret"))
    match = raw_text(leak.get("Match"))
    rule = raw_text(leak.get("RuleID")).strip() or "gitleaks"
    what = raw_text(leak.get("Description")).strip() or rule
    path = raw_text(leak.get("File")).strip()
    commit = raw_text(leak.get("Commit")).strip()
    link = raw_text(leak.get("Link")).strip()
    tags = leak.get("Tags")
    description = [
        f"{what} found by gitleaks rule {rule}.",
        f"Secret: {redact_secret(secret)}",
        f"Match: {match}" if match and match != secret else "",
        _notebook_note(path, raw_text(leak.get("StartLine"))),
        _labelled("Commit", commit),
        _labelled("Author", raw_text(leak.get("Author"))),
        _labelled("Date", raw_text(leak.get("Date"))),
        _labelled("Commit message", _first_line(raw_text(leak.get("Message")))),
        "Tags: " + ", ".join(as_text(tag, 100) for tag in tags) if isinstance(tags, list) and tags else "",
    ]
    record = FindingRecord(
        category=Category.SECRET,
        rule_id=rule,
        title=f"{what} in {_shown(path)}" if path else what,
        severity=Severity.HIGH,
        location=_location(path, raw_text(leak.get("StartLine")), commit),
        target=_repository_from_link(link),
        description="\n".join(part for part in description if part),
        url=link,
    )
    return safe_record(record, [secret])


def _from_v7(leak: dict[str, Any]) -> FindingRecord:
    secret = raw_text(leak.get("offender"))
    line = raw_text(leak.get("line"))
    rule = raw_text(leak.get("rule")).strip() or "gitleaks"
    path = raw_text(leak.get("file")).strip()
    commit = raw_text(leak.get("commit")).strip()
    repo_url = raw_text(leak.get("repoURL")).strip()
    repo = raw_text(leak.get("repo")).strip()
    description = [
        f"{rule} found by gitleaks.",
        f"Secret: {redact_secret(secret)}",
        _labelled("Line", line.strip()),
        _notebook_note(path, raw_text(leak.get("lineNumber"))),
        _labelled("Commit", commit),
        _labelled("Author", raw_text(leak.get("author"))),
        _labelled("Date", raw_text(leak.get("date"))),
        _labelled("Commit message", _first_line(raw_text(leak.get("commitMessage")))),
        _labelled("Tags", raw_text(leak.get("tags"))),
    ]
    record = FindingRecord(
        category=Category.SECRET,
        rule_id=rule,
        title=f"{rule} in {_shown(path)}" if path else rule,
        severity=Severity.HIGH,
        location=_location(path, raw_text(leak.get("lineNumber")), commit),
        # "." is gitleaks' name for "the repository I was run in": it identifies nothing.
        target=repo_url or (repo if repo not in {"", "."} else ""),
        description="\n".join(part for part in description if part),
        url=raw_text(leak.get("leakURL")).strip(),
    )
    return safe_record(record, [secret])
