"""What an import tells the metrics: when the scan ran, and which kinds of checks it held.

Both are read once per import job and stored on it (``ImportJob.scanned_at``, ``ImportJob.check_types``),
so coverage and time-to-detect can be recomputed for any past day from the jobs alone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from django.db import models

from findings.importers.common import parse_datetime


class CheckType(models.TextChoices):
    DEPENDENCY = "dependency", "Dependency scanning"
    SECRET = "secret", "Secret scanning"
    STATIC_ANALYSIS = "static_analysis", "Static analysis"
    IAC = "iac", "Infrastructure as code"
    CONTAINER = "container", "Container scanning"
    MODEL_FILE = "model_file", "Model file scanning"
    RED_TEAM = "red_team", "Red teaming"


# What a finding's category says was checked.
_BY_CATEGORY = {
    "vulnerability": CheckType.DEPENDENCY,
    "licence": CheckType.DEPENDENCY,
    "secret": CheckType.SECRET,
    "code_weakness": CheckType.STATIC_ANALYSIS,
    "misconfiguration": CheckType.IAC,
    "model_file": CheckType.MODEL_FILE,
    "red_team": CheckType.RED_TEAM,
}
# What a file of each format checked whatever it found (a clean file too); formats that only ever hold
# one kind of check name just it.
FORMAT_CHECKS: dict[str, tuple[str, ...]] = {
    "trivy": (CheckType.DEPENDENCY, CheckType.SECRET),
    "grype": (CheckType.DEPENDENCY,),
    "osv_scanner": (CheckType.DEPENDENCY,),
    "pip_audit": (CheckType.DEPENDENCY,),
    "npm_audit": (CheckType.DEPENDENCY,),
    "dependabot": (CheckType.DEPENDENCY,),
    "cyclonedx": (CheckType.DEPENDENCY,),
    "spdx": (CheckType.DEPENDENCY,),
    "gitleaks": (CheckType.SECRET,),
    "trufflehog": (CheckType.SECRET,),
    "bandit": (CheckType.STATIC_ANALYSIS,),
    "sarif": (CheckType.STATIC_ANALYSIS,),
    "checkov": (CheckType.IAC,),
    "modelscan": (CheckType.MODEL_FILE,),
    "picklescan": (CheckType.MODEL_FILE,),
    "fickling": (CheckType.MODEL_FILE,),
    "garak": (CheckType.RED_TEAM,),
    "promptfoo": (CheckType.RED_TEAM,),
}
_ONLY_KIND = {"modelscan", "picklescan", "fickling", "garak", "promptfoo"}


def check_types_for(*, format_name: str, categories: Iterable[str], container_image: bool) -> list[str]:
    """The kinds of checks an import held: what its format always checks, and what its findings are.

    A Trivy file runs the vulnerability and secret scanners unless told otherwise (a clean one is both
    kinds of scan), and can hold misconfigurations too (three kinds); vulnerabilities found in a
    container image are container scanning as well as dependency scanning.
    """
    base = format_name.split(":", 1)[0]
    if base in _ONLY_KIND:
        return list(FORMAT_CHECKS[base])
    kinds: set[str] = {_BY_CATEGORY[c] for c in categories if c in _BY_CATEGORY}
    kinds |= set(FORMAT_CHECKS.get(base, ()))
    if container_image and CheckType.DEPENDENCY in kinds:
        kinds.add(CheckType.CONTAINER)
    return sorted(str(kind) for kind in kinds)


# Where each format writes when it ran; read with a pattern over the head and tail of the file, so a
# many-gigabyte scan is not parsed twice. First match wins (Grype writes its descriptor at the end).
_SCAN_TIME_KEYS: dict[str, tuple[str, ...]] = {
    "trivy": ("CreatedAt",),
    "sarif": ("startTimeUtc", "endTimeUtc"),
    "grype": ("timestamp",),
    "cyclonedx": ("timestamp",),
    "spdx": ("created", "creationInfo.created"),
    "checkov": ("timestamp",),
    "osv_scanner": ("timestamp",),
    "dependabot": (),
    "npm_audit": (),
    "pip_audit": (),
    "bandit": ("generated_at",),
    "gitleaks": (),
    "trufflehog": (),
}
_FUTURE_SLACK = dt.timedelta(days=1)
_OLDEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def scan_time_from(*, format_name: str, head: bytes, tail: bytes, uploaded_at: dt.datetime) -> dt.datetime:
    """When the scan ran, as its file says, else ``uploaded_at``.

    Scan content is untrusted: a time in the future (beyond a day of clock skew), before 2000 or after
    the upload itself is not believed, and the upload time is used instead.
    """
    keys = _SCAN_TIME_KEYS.get(format_name.split(":", 1)[0], ())
    for key in keys:
        name = re.escape(key.rsplit(".", 1)[-1]).encode()
        pattern = re.compile(rb'"' + name + rb'"\s*:\s*"([0-9T:.+\-Z ]{10,40})"')
        for chunk in (head, tail):
            match = pattern.search(chunk)
            if match is None:
                continue
            parsed = parse_datetime(match.group(1).decode("ascii", "replace"))
            if parsed is not None and _OLDEST <= parsed <= uploaded_at + _FUTURE_SLACK:
                return min(parsed, uploaded_at)
    return uploaded_at
