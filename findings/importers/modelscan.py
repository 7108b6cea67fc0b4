"""ModelScan JSON reports (``modelscan -r json``, 0.7 and later): unsafe operators in model files.

Each issue (an unsafe operator of a module found in a file) is one model-file finding; each scanned
pickle-format file without an issue is a low finding "unsafe serialization format", since pickle can
run code on load whatever this scan saw. The report's ``input_path`` is its target (the model folder
or file), matched to a model asset by identifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from findings.errors import ImportFailed

from ._modelfile import is_pickle_path, operator_record, unsafe_format_record
from ._shapes import need_dict, need_list
from .base import FindingRecord
from .common import as_dict, as_list, as_text, file_location, load_json, normalize_severity

NAME = "modelscan"
LABEL = "ModelScan JSON"

_SIGNATURE = re.compile(rb'"modelscan_version"\s*:')


def sniff(head: bytes) -> bool:
    return head.lstrip()[:1] == b"{" and bool(_SIGNATURE.search(head))


def parse(stream: BinaryIO) -> Iterator[FindingRecord]:
    document = load_json(stream, label=LABEL)
    if document is None:
        raise ImportFailed(f"{LABEL}: the file is empty; expected the JSON report of `modelscan -r json`.")
    report = need_dict(document, label=LABEL, where="the top level")
    summary = as_dict(report.get("summary"))
    if not as_text(summary.get("modelscan_version")):
        raise ImportFailed(f"{LABEL}: summary.modelscan_version is missing; this is not a ModelScan report.")
    target = as_text(summary.get("input_path"), 1000) or as_text(summary.get("absolute_path"), 1000)
    flagged: set[str] = set()
    for index, item in enumerate(need_list(report.get("issues"), label=LABEL, where="issues")):
        issue = need_dict(item, label=LABEL, where=f"issues[{index}]")
        path = file_location(as_text(issue.get("source"), 1000))
        flagged.add(path)
        yield operator_record(
            module=as_text(issue.get("module"), 200),
            operator=as_text(issue.get("operator"), 200),
            path=path,
            severity=normalize_severity(issue.get("severity")),
            target=target,
            tool="ModelScan",
            detail=as_text(issue.get("description"), 1000),
        )
    scanned = as_list(as_dict(summary.get("scanned")).get("scanned_files"))
    for value in scanned:
        path = file_location(as_text(value, 1000))
        if path and path not in flagged and is_pickle_path(path):
            yield unsafe_format_record(path=path, target=target, tool="ModelScan")
