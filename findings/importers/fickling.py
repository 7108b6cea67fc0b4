"""fickling's structured safety result (``fickling --check-safety FILE --json-output OUT``).

The JSON names no file (fickling checks one pickle per run), so findings are located in "the scanned
pickle" and matched to the asset the uploader names. One finding per kind of unsafe result
(``UnsafeImports``, ``UnusedVariables``, ...) when fickling rates the file worse than likely safe.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from findings.errors import ImportFailed

from ._modelfile import ATLAS_UNSAFE_ARTIFACT
from ._shapes import need_dict
from .base import Category, FindingRecord, Severity
from .common import as_dict, as_text, clip, load_json

NAME = "fickling"
LABEL = "fickling JSON"

_SEVERITIES = {
    "LIKELY_SAFE": None,
    "POSSIBLY_UNSAFE": Severity.MEDIUM,
    "SUSPICIOUS": Severity.HIGH,
    "LIKELY_UNSAFE": Severity.HIGH,
    "LIKELY_OVERTLY_MALICIOUS": Severity.CRITICAL,
    "OVERTLY_MALICIOUS": Severity.CRITICAL,
}
_SIGNATURE = re.compile(rb'"severity"\s*:\s*"(?:' + b"|".join(k.encode() for k in _SEVERITIES) + rb')"')


def sniff(head: bytes) -> bool:
    return head.lstrip()[:1] == b"{" and b'"analysis"' in head and bool(_SIGNATURE.search(head))


def parse(stream: BinaryIO) -> Iterator[FindingRecord]:
    document = load_json(stream, label=LABEL)
    report = need_dict(document, label=LABEL, where="the top level")
    rating = as_text(report.get("severity"), 100)
    if rating not in _SEVERITIES:
        raise ImportFailed(f"{LABEL}: severity {rating[:60]!r} is not one of fickling's ratings.")
    severity = _SEVERITIES[rating]
    if severity is None:
        return
    results = as_dict(as_dict(report.get("detailed_results")).get("AnalysisResult"))
    analysis = as_text(report.get("analysis"))
    kinds = results or {"Unsafe": analysis}
    for kind, detail in kinds.items():
        text = as_text(detail, 2000)
        yield FindingRecord(
            category=Category.MODEL_FILE,
            rule_id=clip(f"fickling:{kind}", 300),
            title=clip(
                f"fickling: {kind} in the scanned pickle ({text.splitlines()[0] if text else rating})", 500
            ),
            severity=severity,
            location="scanned pickle",
            description=f"fickling rated the file {rating}.\n{analysis}\n{kind}: {text}\n"
            f"MITRE ATLAS {ATLAS_UNSAFE_ARTIFACT} (Unsafe AI Artifacts).",
        )
