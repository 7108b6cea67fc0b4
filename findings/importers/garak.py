"""garak report JSONL (``garak ... --report_prefix``, the ``*.report.jsonl`` file), 0.9 and later.

A report is a run: a ``start_run setup`` entry (which target, with which generator), ``init``, one
``attempt`` entry per prompt (written when sent, status 1, and again when judged, status 2), an
``eval`` entry per (probe, detector) with how many outputs passed, and ``completion``. One finding per
failing probe (any detector with passed < total); every probe, passing or not, is recorded with its
attempts and pass rate (``ImportExtras.probes``). The target is the generator's model or target name.

Refused: a report of another tool, a line that is not JSON (a run cut off mid-write), a report
without its ``completion`` entry (the run stopped before garak judged everything), no target.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from findings.errors import ImportFailed

from ._redteam import failing_probe_record, garak_mapping
from .base import FindingRecord, ImportExtras, ProbeStat
from .common import as_text

NAME = "garak"
LABEL = "garak report JSONL"
HAS_EXTRAS = True

_SNIFF = re.compile(rb'^\{\s*"entry_type"\s*:\s*"(?:start_run setup|init)"')
_ATTEMPT_PREFIX = b'{"entry_type": "attempt"'


def sniff(head: bytes) -> bool:
    return bool(_SNIFF.match(head.lstrip()))


def parse(stream: BinaryIO, extras: ImportExtras | None = None) -> Iterator[FindingRecord]:
    setup: dict[str, Any] | None = None
    completed = False
    # probe -> detector -> (passed, total); attempts judged per probe.
    evals: dict[str, dict[str, tuple[int, int]]] = {}
    for number, raw in enumerate(stream, start=1):
        if raw.startswith(_ATTEMPT_PREFIX):
            # Attempts are nearly all of a report and the eval entries already count them: they are
            # not decoded, only checked to be whole (a cut-off run ends inside one).
            if not raw.rstrip().endswith(b"}"):
                raise ImportFailed(f"{LABEL}: line {number} (an attempt) is cut off: the file is truncated.")
            continue
        if not raw.strip():
            continue
        try:
            entry = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            cut = "" if raw.endswith(b"\n") else " (the file ends inside it: truncated?)"
            raise ImportFailed(f"{LABEL}: line {number} is not valid JSON{cut}: {exc}.") from exc
        if type(entry) is not dict:
            raise ImportFailed(f"{LABEL}: line {number} is not a JSON object.")
        kind = entry.get("entry_type")
        if number == 1 and kind not in ("start_run setup", "init"):
            raise ImportFailed(
                f"{LABEL}: the first line is not garak's 'start_run setup' entry; this is not a garak "
                "report (use the *.report.jsonl file, not the hitlog)."
            )
        if kind == "eval":
            probe = as_text(entry.get("probe"), 300)
            detector = as_text(entry.get("detector"), 300)
            passed = _count(entry.get("passed"))
            # 0.17 writes total_evaluated (and fails); older releases wrote total.
            total = _count(entry.get("total_evaluated"))
            if total is None:
                total = _count(entry.get("total"))
            if total is None and passed is not None and (fails := _count(entry.get("fails"))) is not None:
                total = passed + fails
            if not probe or passed is None or total is None or passed > total:
                raise ImportFailed(
                    f"{LABEL}: line {number} is an eval entry without probe, passed and total."
                )
            evals.setdefault(probe, {})[detector] = (passed, total)
        elif kind == "start_run setup":
            setup = entry
        elif kind == "completion":
            completed = True
    if setup is None:
        raise ImportFailed(f"{LABEL}: the report has no 'start_run setup' entry; this is not a garak report.")
    if not completed:
        raise ImportFailed(
            f"{LABEL}: the report has no 'completion' entry: the run was cut off (or the file truncated) "
            "before garak finished judging. Import the report of a finished run."
        )
    target = _target(setup)
    stats = [_stat(probe, detectors, target) for probe, detectors in evals.items()]
    if extras is not None:
        extras.probes.extend(stats)
    for stat in stats:
        if stat.failed:
            yield failing_probe_record(stat, tool="garak", family=stat.probe.split(".", 1)[0], noun="probe")


def _count(value: object) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _target(setup: dict[str, Any]) -> str:
    kind = as_text(setup.get("plugins.target_type") or setup.get("plugins.model_type"), 200)
    name = as_text(setup.get("plugins.target_name") or setup.get("plugins.model_name"), 800)
    if not name and not kind:
        raise ImportFailed(
            f"{LABEL}: the report names no target (plugins.target_name / plugins.model_name are empty); "
            "findings cannot be put on a model. Re-run garak with --target_name (or --model_name)."
        )
    return name or kind


def _stat(probe: str, detectors: dict[str, tuple[int, int]], target: str) -> ProbeStat:
    # An attempt passes when every detector passed it: the weakest detector's count is the probe's.
    attempts = max(total for _, total in detectors.values())
    passed = min(passed for passed, _ in detectors.values())
    owasp, atlas = garak_mapping(probe)
    return ProbeStat(
        probe=probe,
        attempts=attempts,
        passed=passed,
        detectors=sorted(detectors),
        owasp=owasp,
        atlas=atlas,
        target=target,
    )
