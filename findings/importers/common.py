"""Small pure helpers shared by importer modules: decoding, severities, dates, redaction."""

from __future__ import annotations

import datetime as dt
from typing import Any, BinaryIO, Iterator

import orjson

from findings.errors import ImportFailed

from .base import MAX_TEXT, Severity

# orjson refuses nesting deeper than 1024 levels, which is what we want for hostile input.
_SEVERITY_WORDS = {
    "critical": Severity.CRITICAL,
    "very_high": Severity.CRITICAL,
    "high": Severity.HIGH,
    "error": Severity.HIGH,
    "moderate": Severity.MEDIUM,
    "medium": Severity.MEDIUM,
    "warning": Severity.MEDIUM,
    "low": Severity.LOW,
    "note": Severity.LOW,
    "negligible": Severity.INFO,
    "info": Severity.INFO,
    "informational": Severity.INFO,
    "none": Severity.INFO,
    "unknown": Severity.INFO,
    "undefined": Severity.INFO,
}


def load_json(stream: BinaryIO, *, label: str) -> Any:
    """Read a whole (small or medium) JSON document, failing with a message a person understands."""
    data = stream.read()
    if not data.strip():
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ImportFailed(f"{label}: the file is not valid JSON ({describe_json_error(exc, data)}).") from exc


def describe_json_error(exc: orjson.JSONDecodeError, data: bytes) -> str:
    message = str(exc.msg) if hasattr(exc, "msg") else str(exc)
    if "utf-8" in message.lower() or "surrogate" in message.lower():
        return f"invalid UTF-8 near byte {exc.pos}"
    if "recursion" in message.lower():
        return "nesting too deep"
    line = data.count(b"\n", 0, exc.pos) + 1
    return f"{message} at line {line}, byte {exc.pos}"


def iter_json_lines(stream: BinaryIO, *, label: str) -> Iterator[dict[str, Any]]:
    """Yield the objects of a JSON-lines file; blank lines are skipped."""
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            item = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ImportFailed(f"{label}: line {number} is not valid JSON ({exc}).") from exc
        if not isinstance(item, dict):
            raise ImportFailed(f"{label}: line {number} is not a JSON object.")
        yield item


def normalize_severity(value: object, default: str = Severity.INFO) -> str:
    if value is None:
        return default
    word = str(value).strip().lower().replace(" ", "_")
    return _SEVERITY_WORDS.get(word, default)


def severity_from_cvss(score: float | None) -> str:
    if score is None:
        return Severity.INFO
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0:
        return Severity.LOW
    return Severity.INFO


def parse_datetime(value: object) -> dt.datetime | None:
    """Parse an ISO 8601 timestamp into an aware UTC datetime, or None when absent or unreadable."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def clip(value: object, limit: int = MAX_TEXT) -> str:
    """Text from untrusted input, bounded in length (it is escaped where it is shown)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = text.replace("\x00", "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def redact_secret(secret: object) -> str:
    """Keep at most the first four characters of a secret, never the whole of it."""
    text = "" if secret is None else str(secret)
    if not text or set(text) <= {"*"} or text.upper() == "REDACTED":
        return "[redacted]"
    keep = 4 if len(text) >= 16 else 0
    return f"{text[:keep]}…[redacted, {len(text)} chars]"
