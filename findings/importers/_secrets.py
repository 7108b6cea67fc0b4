"""Keeping secret values out of every field of a secret-scanner record.

Secret scanners echo the secret in several places (the match, the context line, a diff, a commit
message). Redacting the one "secret" field is not enough, so records are built from unbounded raw
text, every string field is scrubbed of every known secret, and only then clipped: clipping first
could cut a secret in half and leave the half that no longer matches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from .base import MAX_TEXT, FindingRecord
from .common import clip, redact_secret

# Shorter values are not secrets worth hunting for in other fields, and replacing them everywhere
# would mangle paths and titles (a 2-character "secret" occurs in most words).
MIN_SCRUB_LENGTH = 4
# Secret-bearing lines of a multi-line secret (a PEM body) are scrubbed on their own too, because a
# context field may carry only one line of it.
MIN_FRAGMENT_LENGTH = 8
TITLE_LIMIT = 300
SHORT_LIMIT = 1000


def is_placeholder(secret: str) -> bool:
    """Values scanners print instead of a secret when run with redaction on."""
    stripped = secret.strip()
    return not stripped or set(stripped) <= {"*"} or stripped.upper() == "REDACTED"


def secret_variants(secrets: Iterable[str]) -> list[str]:
    """The strings to scrub, longest first so a secret is replaced before any of its fragments."""
    found: set[str] = set()
    for secret in secrets:
        if not secret or is_placeholder(secret):
            continue
        for candidate in (secret, secret.strip()):
            if len(candidate) >= MIN_SCRUB_LENGTH:
                found.add(candidate)
        for line in secret.splitlines():
            line = line.strip()
            if len(line) >= MIN_FRAGMENT_LENGTH:
                found.add(line)
    return sorted(found, key=len, reverse=True)


def scrub(value: str, variants: list[str]) -> str:
    for secret in variants:
        if secret in value:
            value = value.replace(secret, redact_secret(secret))
    return value


def _bounded(name: str, value: str) -> str:
    if name == "title":
        return clip(value, TITLE_LIMIT)
    if name in {"description"}:
        return clip(value, MAX_TEXT)
    return clip(value, SHORT_LIMIT)


def safe_record(record: FindingRecord, secrets: Iterable[str]) -> FindingRecord:
    """Scrub every string field of ``record`` of every secret, then bound its length."""
    variants = secret_variants(secrets)
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        if isinstance(value, str):
            cleaned = scrub(value, variants)
            # A secret can survive replacement only by overlapping another secret's redaction;
            # dropping the field then is the safe answer.
            if any(secret in cleaned for secret in variants):
                cleaned = "[redacted]"
            setattr(record, field.name, _bounded(field.name, cleaned))
    return record
