"""TruffleHog ``--json`` output: JSON lines, either v3 (SourceMetadata/DetectorName/Raw) or the legacy
v2 schema (branch/commitHash/reason/stringsFound).

The secret itself never reaches a record: see ``_secrets``. TruffleHog's own ``Redacted`` field is
not used because for several detectors it is the credential (AWS key ids) or a fragment of it (the
first line of a private key body).
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from findings.errors import ImportFailed

from ._secrets import notebook_location, safe_record
from ._shapes import kind, need_dict, raw_text
from .base import Category, FindingRecord, Severity
from .common import as_dict, describe_json_error, iter_json_lines, redact_secret

NAME = "trufflehog"
LABEL = "TruffleHog JSON lines"


def sniff(head: bytes) -> bool:
    start = head.lstrip()[:1]
    if start not in {b"{", b"["}:
        return False
    if b'"SourceMetadata"' in head and (b'"DetectorName"' in head or b'"DetectorType"' in head):
        return True
    # v2 sorts its keys, so a long "diff" can push "stringsFound" past the sniffed head.
    return b'"stringsFound"' in head or (b'"branch"' in head and b'"commitHash"' in head)


def parse(stream: BinaryIO) -> Iterator[FindingRecord]:
    data = stream.read()
    # Some pipelines collect the lines into one JSON array; accept that too.
    if data.lstrip()[:1] == b"[":
        items = _load_array(data)
    else:
        items = enumerate(iter_json_lines(io.BytesIO(data), label=LABEL), start=1)
    for number, item in items:
        if "SourceMetadata" in item or "DetectorName" in item:
            yield _from_v3(item)
        elif "stringsFound" in item or "commitHash" in item:
            yield _from_v2(item)
        elif "level" in item and "msg" in item:
            # A log line captured along with stdout (2>&1), not a finding.
            continue
        else:
            raise ImportFailed(
                f"{LABEL}: entry {number} is neither a v3 finding (SourceMetadata, DetectorName) "
                "nor a v2 finding (commitHash, stringsFound)."
            )


def _load_array(data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ImportFailed(
            f"{LABEL}: the file is not valid JSON ({describe_json_error(exc, data)})."
        ) from exc
    if not isinstance(document, list):
        raise ImportFailed(f"{LABEL}: expected JSON lines or an array, found {kind(document)}.")
    for index, item in enumerate(document, start=1):
        yield index, need_dict(item, label=LABEL, where=f"entry {index}")


def _decode_raw(value: str) -> str:
    """v3 serialises Raw/RawV2 as Go []byte, i.e. base64; older builds wrote plain text."""
    if not value:
        return ""
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return value


def _source(item: dict[str, Any]) -> dict[str, Any]:
    """The one source-specific block (Git, Github, Filesystem, Docker, S3, ...) of SourceMetadata."""
    data = as_dict(as_dict(item.get("SourceMetadata")).get("Data"))
    for value in data.values():
        if isinstance(value, dict):
            return value
    return {}


def _strip_git_suffix(url: str) -> str:
    return url[:-4] if url.endswith(".git") else url


def _from_v3(item: dict[str, Any]) -> FindingRecord:
    raw = raw_text(item.get("Raw"))
    raw_v2 = raw_text(item.get("RawV2"))
    secrets = [raw, _decode_raw(raw), raw_v2, _decode_raw(raw_v2)]
    secret = secrets[1] or secrets[0]
    source = _source(item)
    detector = raw_text(item.get("DetectorName")).strip() or f"detector-{raw_text(item.get('DetectorType'))}"
    verified = item.get("Verified") is True
    scanned_path = raw_text(source.get("file") or source.get("path")).strip()
    line = raw_text(source.get("line"))
    notebook_where, notebook_note = notebook_location(scanned_path, line)
    path = notebook_location(scanned_path)[0] if notebook_note else scanned_path
    commit = raw_text(source.get("commit")).strip()
    where = notebook_where if scanned_path else ""
    target = next(
        (
            raw_text(source.get(key)).strip()
            for key in ("repository", "image", "bucket", "url")
            if raw_text(source.get(key)).strip()
        ),
        "",
    )
    # ExtraData is deliberately left out: it is detector-specific and some detectors put parts of
    # the credential there that no other field lets us recognise and scrub.
    description = [
        f"{detector} credential found by TruffleHog"
        + (" and verified as live." if verified else " (not verified)."),
        f"Secret: {redact_secret(secret)}",
        f"Source: {raw_text(item.get('SourceName'))}" if raw_text(item.get("SourceName")) else "",
        notebook_note,
        f"Commit: {commit}" if commit else "",
        f"Timestamp: {raw_text(source.get('timestamp'))}" if raw_text(source.get("timestamp")) else "",
        f"Decoder: {raw_text(item.get('DecoderName'))}" if raw_text(item.get("DecoderName")) else "",
    ]
    record = FindingRecord(
        category=Category.SECRET,
        rule_id=detector,
        title=f"{detector} secret in {path}" if path else f"{detector} secret",
        # A verified credential is known to work right now.
        severity=Severity.CRITICAL if verified else Severity.HIGH,
        location=f"{where}@{commit}" if commit else where,
        target=_strip_git_suffix(target),
        description="\n".join(part for part in description if part),
        url=raw_text(source.get("link")).strip(),
    )
    return safe_record(record, secrets)


def _from_v2(item: dict[str, Any]) -> FindingRecord:
    found = item.get("stringsFound")
    strings = [raw_text(value) for value in found] if isinstance(found, list) else []
    reason = raw_text(item.get("reason")).strip() or "trufflehog"
    path, notebook_note = notebook_location(raw_text(item.get("path")).strip())
    commit = raw_text(item.get("commitHash")).strip()
    # "commit" is the commit message in v2; "diff" and "printDiff" are left out entirely: they
    # are the secret with context, and far too long to be useful in a description.
    message = raw_text(item.get("commit")).strip()
    description = [
        f"{reason} found by TruffleHog.",
        "Secrets: " + ", ".join(redact_secret(value) for value in strings) if strings else "",
        f"Branch: {raw_text(item.get('branch'))}" if raw_text(item.get("branch")) else "",
        notebook_note,
        f"Commit: {commit}" if commit else "",
        f"Date: {raw_text(item.get('date'))}" if raw_text(item.get("date")) else "",
        f"Commit message: {message.splitlines()[0]}" if message else "",
    ]
    record = FindingRecord(
        category=Category.SECRET,
        rule_id=reason,
        title=f"{reason} in {path}" if path else reason,
        severity=Severity.HIGH,
        # No line numbers in v2; the branch is left out so one commit reached from two branches is
        # one finding.
        location=f"{path}@{commit}" if commit else path,
        description="\n".join(part for part in description if part),
    )
    return safe_record(record, strings)
