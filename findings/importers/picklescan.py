"""picklescan reports: the text it prints (``picklescan -p PATH``), its only output format.

Each ``PATH: dangerous import 'MODULE NAME' FOUND`` line is one model-file finding (critical: the global
runs code on load); ``suspicious`` ones are medium. The scan summary is required, so a cut-off report
is refused instead of read as "fewer findings". Paths are kept as printed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import BinaryIO

from findings.errors import ImportFailed

from ._modelfile import operator_record
from .base import FindingRecord, Severity
from .common import clip, file_location

NAME = "picklescan"
LABEL = "picklescan report"

_SUMMARY = "----------- SCAN SUMMARY -----------"
_FINDING = re.compile(
    r"^(?P<path>.+?): (?P<level>dangerous|suspicious) import '(?P<module>\S+) (?P<name>\S+)' FOUND$"
)
_SCAN_ERROR = re.compile(r"^ERROR: ")
_SNIFF = re.compile(rb"^-{5,} SCAN SUMMARY -{5,}$|: (?:dangerous|suspicious) import '\S+ \S+' FOUND$", re.M)
_LEVELS = {"dangerous": Severity.CRITICAL, "suspicious": Severity.MEDIUM}
MAX_LINE = 8192


def sniff(head: bytes) -> bool:
    return head.lstrip()[:1] not in (b"{", b"[") and bool(_SNIFF.search(head))


def parse(stream: BinaryIO) -> Iterator[FindingRecord]:
    records: list[FindingRecord] = []
    saw_summary = False
    paths: list[str] = []
    for number, raw in enumerate(stream, start=1):
        try:
            line = raw[:MAX_LINE].decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise ImportFailed(f"{LABEL}: line {number} is not UTF-8 text.") from exc
        if line.strip() == _SUMMARY:
            saw_summary = True
            continue
        match = _FINDING.match(line)
        if match is None or saw_summary:
            continue
        path = file_location(match["path"])
        paths.append(path)
        records.append(
            operator_record(
                module=clip(match["module"], 200),
                operator=clip(match["name"], 200),
                path=path,
                severity=_LEVELS[match["level"]],
                target="",
                tool="picklescan",
                detail=f"picklescan rated the import {match['level']}.",
            )
        )
    if not saw_summary:
        raise ImportFailed(
            f"{LABEL}: the report has no '{_SUMMARY}' line; it is cut off or not picklescan's output."
        )
    # The scanned folder is what the files share: the model's directory, matched to the asset.
    target = _folder(paths)
    for record in records:
        record.target = target
        yield record


def _folder(paths: list[str]) -> str:
    if not paths:
        return ""
    try:
        common = os.path.commonpath(paths)
    except ValueError:  # absolute and relative paths mixed
        return ""
    return os.path.dirname(common) if len(set(paths)) == 1 else common
