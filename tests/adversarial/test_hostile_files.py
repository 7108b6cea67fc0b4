"""Hostile files through EVERY upload path (scan, BOM, asset CSV, control evidence, bundle verify: page and
API; the framework catalog loader): entity attacks, compression bombs, deep nesting, invalid UTF-8, NUL
bytes, hostile file names, a body over the cap. One table, ``CASES`` (path x input), drives one test, so the
closing note of issue 13 can count what was tried.

What each path must do with what it parses (scans, BOMs, CSVs, bundles, catalogs): refuse with a message a
person can act on, or (a pushed scan) keep the raw file on a job that failed with its reason; never 5xx,
never a half-written row. Evidence is kept as an opaque file (it is not parsed): hostile content is stored,
but under a clean name and served only as a download (``test_stored_xss.py``)."""

from __future__ import annotations

import gzip
import io
import re
import zipfile
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test.client import encode_multipart

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']><bom xmlns="http://cyclonedx.org/schema/bom/1.5"><components><component type="library">'
    + b"<name>&lol9;</name></component></components></bom>"
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<catalog xmlns="http://csrc.nist.gov/ns/oscal/1.0" uuid="x"><metadata><title>&x;</title></metadata>'
    b"</catalog>"
)
YAML_BOMB = b"a: &a [x,x,x,x,x,x,x,x,x]\n" + b"".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n".encode() for i in range(8)
)
TRIVY_EMPTY = b'{"SchemaVersion": 2, "Results": []}'
MULTIPART = "multipart/form-data; boundary=BoUnDaRy"
OVER_CAP = "over-cap"


@cache
def _gzip_bomb() -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as handle:
        chunk = b"\0" * (1 << 20)
        for _ in range(200):  # 200 MB of zeros, ~200 KB compressed
            handle.write(chunk)
    return out.getvalue()


@cache
def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", b"\0" * (200 << 20))
    return out.getvalue()


# Hostile input -> (file name, content). Content inputs keep a plain name; name inputs carry a harmless
# empty scan report, so only their name is hostile.
INPUTS: dict[str, tuple[str, Any]] = {
    "billion laughs (XML)": ("bom.xml", lambda: BILLION_LAUGHS),
    "external entity (XML)": ("catalog.xml", lambda: XXE),
    "billion laughs (YAML aliases)": ("catalog.yaml", lambda: YAML_BOMB),
    "JSON array nested 100,000 deep": ("deep.json", lambda: b"[" * 100_000 + b"]" * 100_000),
    "JSON object nested 100,000 deep": ("deep.json", lambda: b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
    "gzip bomb": ("report.json.gz", _gzip_bomb),
    "zip bomb": ("bundle.zip", _zip_bomb),
    "invalid UTF-8": (
        "bad.json",
        lambda: b'{"SchemaVersion": 2, "Results": [{"Target": "\xff\xfe\xc3\x28"}]}',
    ),
    "NUL bytes": ("nul.json", lambda: b'{"SchemaVersion": 2,\x00 "Results": []}\x00\x00'),
    "name with ..": ("../../etc/passwd", lambda: TRIVY_EMPTY),
    "name with ..\\": ("..\\..\\win.ini", lambda: TRIVY_EMPTY),
    "name with NUL": ("a\x00b.json", lambda: TRIVY_EMPTY),
    "name with HTML": ('<img src=x onerror=alert(1)>".json', lambda: TRIVY_EMPTY),
    OVER_CAP: ("big.json", lambda: b"x" * 1024),
}
NAME_INPUTS = {name for name in INPUTS if name.startswith("name with")}


@dataclass(frozen=True)
class Path:
    url: Any  # (upload world) -> url
    fields: Any  # (upload world) -> the form's other fields
    api: bool
    guarded: tuple[str, ...]  # models that must not gain a row from a refused file
    cap: str = ""  # the setting that bounds the body
    parses: bool = True  # False: the file is kept as it is (evidence)


PATHS: dict[str, Path] = {
    "scan page": Path(
        lambda u: "/findings/upload/",
        lambda u: {"asset": u.asset.name},
        False,
        ("findings.Finding",),
        "HYGIENE_SCAN_MAX_BYTES",
    ),
    "scan API": Path(
        lambda u: "/api/v1/scans/",
        lambda u: {"asset": u.asset.name},
        True,
        ("findings.Finding",),
        "HYGIENE_SCAN_MAX_BYTES",
    ),
    "BOM page": Path(
        lambda u: "/assets/import/bom/",
        lambda u: {"team": u.team.slug, "environment": "development", "asset": u.asset.name},
        False,
        ("assets.Asset", "assets.LineageEdge"),
        "HYGIENE_BOM_MAX_BYTES",
    ),
    "BOM API": Path(
        lambda u: "/api/v1/asset-import/bom/",
        lambda u: {"team": u.team.slug, "asset": u.asset.pk},
        True,
        ("assets.Asset", "assets.LineageEdge"),
        "HYGIENE_BOM_MAX_BYTES",
    ),
    "asset CSV page": Path(
        lambda u: "/assets/import/csv/",
        lambda u: {"team": u.team.slug},
        False,
        ("assets.Asset",),
        "HYGIENE_ASSET_CSV_MAX_BYTES",
    ),
    "asset CSV API": Path(
        lambda u: "/api/v1/asset-import/csv/",
        lambda u: {"team": u.team.slug},
        True,
        ("assets.Asset",),
        "HYGIENE_ASSET_CSV_MAX_BYTES",
    ),
    "evidence page": Path(
        lambda u: f"/controls/assessments/{u.assessment.pk}/evidence/",
        lambda u: {"kind": "file", "title": "Drill report", "collected_on": "2020-01-01"},
        False,
        ("controls.Evidence",),
        "HYGIENE_EVIDENCE_MAX_BYTES",
        parses=False,
    ),
    "evidence API": Path(
        lambda u: f"/api/v1/assessments/{u.assessment.pk}/evidence/",
        lambda u: {"kind": "file", "title": "Drill report"},
        True,
        ("controls.Evidence",),
        "HYGIENE_EVIDENCE_MAX_BYTES",
        parses=False,
    ),
    "bundle verify page": Path(
        lambda u: "/audits/verify/",
        lambda u: {},
        False,
        ("audits.EvidenceBundle",),
        "HYGIENE_BUNDLE_VERIFY_MAX_BYTES",
    ),
    "bundle verify API": Path(
        lambda u: "/api/v1/bundles/verify/",
        lambda u: {},
        True,
        ("audits.EvidenceBundle",),
        "HYGIENE_BUNDLE_VERIFY_MAX_BYTES",
    ),
    # An operator's command: no HTTP body, no uploaded name (the operator names their own file).
    "framework catalog (load_catalog)": Path(
        None, None, False, ("controls.Framework", "controls.Requirement")
    ),
}
SLOW_INPUTS = {"gzip bomb", "zip bomb"}


def _applies(path: str, hostile: str) -> bool:
    if PATHS[path].url is None:
        return hostile not in NAME_INPUTS
    return True


CASES = [
    pytest.param(
        path, hostile, id=f"{path}:{hostile}", marks=[pytest.mark.slow] if hostile in SLOW_INPUTS else []
    )
    for path in PATHS
    for hostile in INPUTS
    if _applies(path, hostile)
]


@dataclass
class Uploads:
    team: Any
    asset: Any
    assessment: Any
    lead: Any


@pytest.fixture
def uploads(db, team_a, lead):
    from controls.models import Assessment
    from tests.factories.assets import AssetFactory
    from tests.factories.controls import ControlFactory

    asset = AssetFactory(team=team_a, name="Upload target", kind="model")
    control = ControlFactory(code="UPL-001")
    assessment = Assessment.objects.create(control=control, asset=asset, team=team_a)
    return Uploads(team=team_a, asset=asset, assessment=assessment, lead=lead)


def _counts(labels: tuple[str, ...]) -> dict[str, int]:
    return {label: apps.get_model(label)._default_manager.count() for label in labels}


class CountingInput(io.BytesIO):
    """The request body, counting what the server read of it."""

    consumed = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk

    def readline(self, size=-1):
        line = super().readline(size)
        self.consumed += len(line)
        return line


def _client(u: Uploads, api: bool):
    from django.test import Client
    from rest_framework.test import APIClient

    client = APIClient() if api else Client()
    client.force_login(u.lead)
    return client


def _said(response, api: bool) -> str:
    """What the answer tells the person: the API's JSON, the page's messages and form errors."""
    if api:
        return str(response.json()) if response.get("Content-Type", "").startswith("application/json") else ""
    from django.contrib.messages import get_messages

    said = " ".join(str(m) for m in get_messages(response.wsgi_request))
    page = response.content.decode("utf-8", "replace") if not response.streaming else ""
    # A form's errors, or the verification report, are what a page says about the file.
    errors = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', page, re.S)
    errors += re.findall(r'<[^>]+class="[^"]*(?:problem|alert|error)[^"]*"[^>]*>(.*?)</', page, re.S)
    return " ".join([said, *errors])


def _load_catalog(tmp_path, name: str, content: bytes, *, over_cap: bool = False) -> list[str]:
    target = tmp_path / name
    target.write_bytes(content)
    if over_cap:  # sparse: 65 MB on paper, refused on its size before a byte is read
        with open(target, "r+b") as handle:
            handle.truncate(65 * 1024 * 1024)
    try:
        call_command("load_catalog", str(target), stdout=io.StringIO())
    except CommandError as exc:
        return [] if str(exc).strip() else ["refused without a message"]
    return ["a hostile catalog was loaded"]


@pytest.mark.parametrize(("path", "hostile"), CASES)
def test_each_hostile_input_is_refused_cleanly_on_each_upload_path(
    uploads, settings, tmp_path, path, hostile
):
    from findings.models import ImportJob, JobStatus
    from findings.services.jobs import job_run

    spec = PATHS[path]
    name, content = INPUTS[hostile][0], INPUTS[hostile][1]()
    before = _counts(spec.guarded)
    if spec.url is None:
        problems = _load_catalog(tmp_path, name, content, over_cap=hostile == OVER_CAP)
        assert _counts(spec.guarded) == before, "a refused catalog left rows behind"
        assert not problems, problems
        return
    jobs_before = set(ImportJob.objects.values_list("pk", flat=True))
    client = _client(uploads, spec.api)
    url = spec.url(uploads)
    if hostile == OVER_CAP:
        # Declared far over the cap: refused on its Content-Length, before one byte of it is read.
        upload = io.BytesIO(content)
        upload.name = name
        body = CountingInput(encode_multipart("BoUnDaRy", {"file": upload, **spec.fields(uploads)}))
        response = client.generic(
            "POST",
            url,
            b"",
            content_type=MULTIPART,
            CONTENT_TYPE=MULTIPART,
            CONTENT_LENGTH=str(getattr(settings, spec.cap) + 1024 * 1024),
            **{"wsgi.input": body},
        )
        assert response.status_code in (302, 413), response.status_code
        assert body.consumed == 0
        assert "larger than" in _said(response, spec.api) or "limited to" in _said(response, spec.api)
        assert _counts(spec.guarded) == before
        assert not ImportJob.objects.exclude(pk__in=jobs_before).exists()
        return

    data = {"file": SimpleUploadedFile(name, content, "application/octet-stream"), **spec.fields(uploads)}
    response = client.post(url, data, format="multipart") if spec.api else client.post(url, data)
    assert response.status_code < 500, response.content[:500]
    said = _said(response, spec.api)
    assert "Traceback" not in said
    new_jobs = []
    for job in ImportJob.objects.exclude(pk__in=jobs_before):
        job_run(job_id=job.pk)  # what the worker does with it (the queue is not served in tests)
        job.refresh_from_db()
        new_jobs.append(job)
    problems = []
    for job in new_jobs:  # a pushed scan: kept, and failed with its reason unless it was harmless
        stored = job.raw_file.name
        if not (job.raw_file and job.raw_file.storage.exists(stored)):
            problems.append("the raw file was not kept")
        if (
            ".." in stored
            or "\x00" in stored
            or "\\" in stored
            or "<" in stored
            or not stored.startswith("scans/")
        ):
            problems.append(f"stored as {stored!r}")
        if hostile not in NAME_INPUTS and job.status != JobStatus.FAILED:
            problems.append(f"the job is {job.status}, not failed")
        if job.status == JobStatus.FAILED and (not job.error or job.findings_count):
            problems.append("failed without a reason, or with findings")
    if spec.parses and hostile not in NAME_INPUTS and not new_jobs:
        if response.status_code < 400 and not _refused_on_page(response):
            problems.append(f"accepted ({response.status_code}): {said[:200]!r}")
        if not said.strip():
            problems.append("refused without a message")
        if _counts(spec.guarded) != before:
            problems.append("refused, but rows were written")
    if not spec.parses:
        problems += _evidence_kept_cleanly(name)
    assert not problems, problems


def _refused_on_page(response) -> bool:
    from django.contrib.messages import ERROR, get_messages

    return any(m.level >= ERROR for m in get_messages(response.wsgi_request))


def _evidence_kept_cleanly(name: str) -> list[str]:
    from controls.models import Evidence
    from controls.services.evidence import served_content_type

    problems = []
    for evidence in Evidence.objects.exclude(file=""):
        # The name shown is the one given (escaped wherever it is shown: test_stored_xss.py); the name on
        # disk is made safe.
        if any(c in evidence.filename for c in ("/", "\\", "\x00")):
            problems.append(f"evidence named {evidence.filename!r}")
        stored = evidence.file.name
        if ".." in stored or "\x00" in stored or "\\" in stored or "<" in stored:
            problems.append(f"evidence stored as {stored!r}")
        served = served_content_type(evidence)
        if any(word in served for word in ("html", "xml", "svg", "script")):
            problems.append(f"evidence served as {served}, which a browser would render")
    return problems


# One 500 MB line, streamed to disk (never held in memory), parsed by the scan importer in a fresh
# interpreter whose peak RSS is measured: the worker's memory must stay bounded whatever one line holds.
# Measured: refused after 64 MB in 0.2-0.9 s, peak RSS 208 MB (79 MB before the parse); the whole test
# takes ~6 s, so it is not marked slow.
LINE_BYTES = 500 * 1024 * 1024
RSS_LIMIT_MB = 400
GROWTH_LIMIT_MB = 256  # four times the importer's 64 MB cap on one value: bounded by it, not by the line
_PARSE_AND_MEASURE = """
import json, os, sys, time
import django
django.setup()
from findings.errors import ImportFailed
from findings.importers import detect_format, parse


def high_water_mb():
    # VmHWM, not getrusage: ru_maxrss survives execve, so it would report the parent's (pytest's) peak.
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


path = sys.argv[1]
base_mb = high_water_mb()
start = time.monotonic()
with open(path, "rb") as stream:
    head = stream.read(64 * 1024)
    stream.seek(0)
    try:
        records = sum(1 for _ in parse(detect_format(head, path), stream))
        error = ""
    except ImportFailed as exc:
        records, error = 0, str(exc)
peak_mb = high_water_mb()
seconds = time.monotonic() - start
result = {"records": records, "error": error, "base_mb": base_mb, "peak_mb": peak_mb}
print(json.dumps({**result, "seconds": seconds}))
"""


def _write_one_long_line(target) -> None:
    head = b'{"SchemaVersion": 2, "ArtifactName": "x", "Results": [{"Target": "requirements.txt", '
    head += b'"Vulnerabilities": [{"VulnerabilityID": "CVE-2024-0001", "PkgName": "x", "Severity": "HIGH", '
    head += b'"Title": "'
    chunk = b"A" * (1 << 20)
    with open(target, "wb") as out:
        out.write(head)
        for _ in range(LINE_BYTES // len(chunk)):
            out.write(chunk)
        out.write(b'"}]}]}')


def test_a_single_500_mb_line_is_refused_with_the_parsers_memory_bounded(tmp_path):
    import json
    import os
    import subprocess
    import sys

    report = tmp_path / "one-line-trivy.json"
    _write_one_long_line(report)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "hygiene.settings.test"),
    }
    done = subprocess.run(
        [sys.executable, "-c", _PARSE_AND_MEASURE, str(report)],
        capture_output=True,
        timeout=600,
        check=True,
        env=env,
    )
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert result["records"] == 0
    assert result["error"], "a 500 MB value was not refused"
    assert result["peak_mb"] < RSS_LIMIT_MB, result
    assert result["peak_mb"] - result["base_mb"] < GROWTH_LIMIT_MB, result
