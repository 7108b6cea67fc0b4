"""Small pure helpers shared by importer modules: decoding, severities, dates, redaction."""

from __future__ import annotations

import codecs
import datetime as dt
import math
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

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
    if data.startswith(codecs.BOM_UTF8):  # Windows tools (PowerShell redirection) write one
        data = data[3:]
    if not data.strip():
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ImportFailed(
            f"{label}: the file is not valid JSON ({describe_json_error(exc, data)})."
        ) from exc


def describe_json_error(exc: orjson.JSONDecodeError, data: bytes) -> str:
    message = str(exc.msg) if hasattr(exc, "msg") else str(exc)
    if "utf-8" in message.lower() or "surrogate" in message.lower():
        # orjson checks the encoding before parsing and reports position 0; find the real byte.
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:
            line = data.count(b"\n", 0, bad.start) + 1
            return f"invalid UTF-8 at line {line}, byte {bad.start}"
        return "invalid UTF-8 (a lone surrogate escape)"
    if "recursion" in message.lower() or "depth limit" in message.lower():
        return "JSON nested deeper than 1024 levels"
    # orjson counts characters, not bytes.
    offset = exc.pos if data.isascii() else len(data.decode("utf-8", "replace")[: exc.pos].encode())
    line = data.count(b"\n", 0, offset) + 1
    if message == "unexpected end of data":
        return f"the file ends in the middle of a JSON value at line {line}, byte {offset} (truncated?)"
    return f"{message} at line {line}, byte {offset}"


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
    if type(value) is not str:  # never str() a container (see as_text); no number is a severity word
        return default
    word = value.strip().lower().replace(" ", "_")
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
    # Advisory dates repeat a lot within one report (NVD publishes on the quarter hour).
    cached = _DATES.get(value, _MISSING)
    if cached is not _MISSING:
        return cached  # type: ignore[return-value]
    text = value.strip().replace("Z", "+00:00")
    # Go writes nanoseconds; fromisoformat takes at most microseconds.
    text = _NANOSECONDS.sub(r"\1", text)
    try:
        parsed: dt.datetime | None = dt.datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is not None:
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        parsed = parsed.astimezone(dt.UTC)
    if len(_DATES) >= 4096:
        _DATES.clear()
    _DATES[value] = parsed
    return parsed


_DATES: dict[str, dt.datetime | None] = {}
_MISSING = object()
_NANOSECONDS = re.compile(r"(\.\d{6})\d+")


def clip(value: str, limit: int = MAX_TEXT) -> str:
    """Text, bounded in length (it is escaped where it is shown); read JSON values with ``as_text``."""
    text = value.replace("\x00", "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def redact_secret(secret: str) -> str:
    """Keep at most the first four characters of a secret, never the whole of it."""
    if not secret or set(secret) <= {"*"} or secret.upper() == "REDACTED":
        return "[redacted]"
    keep = 4 if len(secret) >= 16 else 0
    return f"{secret[:keep]}…[redacted, {len(secret)} chars]"


def as_text(value: object, limit: int = MAX_TEXT) -> str:
    """A scalar from untrusted JSON as bounded, stripped text; objects and arrays count as absent.

    Never ``str()`` a container: one nested 1000 levels deep makes repr() raise RecursionError.
    """
    if type(value) is str:
        if len(value) <= limit and "\x00" not in value:
            return value.strip()  # the common case, without clip's copies
        text = value.strip()
    elif value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    else:
        text = str(value)
    return clip(text, limit)


def as_dict(value: object) -> dict[str, Any]:
    """An optional JSON object from untrusted input; anything else counts as empty."""
    return value if type(value) is dict else {}


def as_list(value: object) -> list[Any]:
    """An optional JSON array from untrusted input; anything else counts as empty."""
    return value if type(value) is list else []


def as_score(value: object) -> float | None:
    """A CVSS-like score in (0, 10], from a number or a numeric string; anything else is None."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    score = float(value)
    return score if math.isfinite(score) and 0 < score <= 10 else None


def file_location(path: str, line: object = None) -> str:
    """``path:line`` with separators normalized, so a Windows and a Linux scan of one file agree."""
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    number = line if isinstance(line, int) and not isinstance(line, bool) else None
    if number is None and isinstance(line, str) and line.strip().isdigit():
        number = int(line)
    return clip(f"{path}:{number}" if number and number > 0 and path else path, 1000)


_CVSS3_WEIGHTS = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}


def cvss3_base_score(vector: object) -> float | None:
    """The CVSS 3.x base score of a vector string (the FIRST specification's formula), else None.

    Some advisories (OSV, CycloneDX) carry only the vector; the score sorts and filters findings.
    """
    if not isinstance(vector, str) or not vector.startswith("CVSS:3"):
        return None
    metrics = dict(part.split(":", 1) for part in vector.split("/")[1:] if ":" in part)
    try:
        scope_changed = {"U": False, "C": True}[metrics["S"]]
        privileges = {"N": 0.85, "L": 0.68 if scope_changed else 0.62, "H": 0.5 if scope_changed else 0.27}
        pr = privileges[metrics["PR"]]
        weight = {name: _CVSS3_WEIGHTS[name][metrics[name]] for name in _CVSS3_WEIGHTS}
    except KeyError:
        return None
    iss = 1 - (1 - weight["C"]) * (1 - weight["I"]) * (1 - weight["A"])
    impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if scope_changed else 6.42 * iss
    exploitability = 8.22 * weight["AV"] * weight["AC"] * pr * weight["UI"]
    if impact <= 0:
        return 0.0
    raw = impact + exploitability
    base = min(1.08 * raw, 10) if scope_changed else min(raw, 10)
    return _round_up(base)


def _round_up(value: float) -> float:
    # CVSS 3.1 "Roundup": the smallest number with one decimal that is >= value, robust to float noise.
    scaled = round(value * 100000)
    return scaled / 100000.0 if scaled % 10000 == 0 else (math.floor(scaled / 10000) + 1) / 10.0
