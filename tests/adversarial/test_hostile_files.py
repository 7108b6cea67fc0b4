"""Hostile files through every upload path of the API (scan push, BOM import, CSV import, bundle verify):
entity attacks, compression bombs, deep nesting, invalid UTF-8, NUL bytes, hostile file names. Each is
refused with a clear message or imported as a failed job with its reason; nothing answers 5xx, no finding or
asset is half-written, and a pushed scan's raw file is kept on its job. (Over-cap bodies refused before they
are read: tests/hygiene/test_uploads.py.)"""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']><testsuites><testsuite name="&lol9;"/></testsuites>'
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<sarif><runs><run><results><result><message>&x;</message></result></results></run></runs></sarif>"
)
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


def _gzip_bomb() -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as handle:
        chunk = b"\0" * (1 << 20)
        for _ in range(200):  # 200 MB of zeros, ~200 KB compressed
            handle.write(chunk)
    return out.getvalue()


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("report.json", b"\0" * (200 << 20))
    return out.getvalue()


HOSTILE = {
    "billion-laughs.xml": BILLION_LAUGHS,
    "xxe.sarif": XXE,
    "deep-array.json": DEEP_JSON,
    "deep-object.json": DEEP_OBJECT,
    "invalid-utf8.json": b'{"SchemaVersion": 2, "Results": [{"Target": "\xff\xfe\xc3\x28"}]}',
    "nul.json": b'{"SchemaVersion": 2,\x00 "Results": []}\x00\x00',
    "bomb.json.gz": None,  # built once below
    "bomb.zip": None,
}
NAMES = ["../../etc/passwd", "a\x00b.json", "<img src=x onerror=alert(1)>.json", "..\\..\\win.ini"]


@pytest.fixture(scope="module")
def hostile_files():
    files = dict(HOSTILE)
    files["bomb.json.gz"] = _gzip_bomb()
    files["bomb.zip"] = _zip_bomb()
    return files


def _counts():
    from assets.models import Asset
    from findings.models import Finding

    return Asset.objects.count(), Finding.objects.count()


def _upload(name, content):
    return SimpleUploadedFile(name, content, "application/octet-stream")


def _paths(world):
    asset = world.things["asset"]
    return {
        "scan": ("/api/v1/scans/", lambda f: {"file": f, "asset": asset.name}),
        "bom": ("/api/v1/asset-import/bom/", lambda f: {"file": f, "team": "research", "asset": asset.pk}),
        "csv": ("/api/v1/asset-import/csv/", lambda f: {"file": f, "team": "research"}),
        "bundle-verify": ("/api/v1/bundles/verify/", lambda f: {"file": f}),
    }


@pytest.mark.slow
@pytest.mark.parametrize("path", ["scan", "bom", "csv", "bundle-verify"])
def test_hostile_files_are_refused_cleanly_on_every_upload_path(world, hostile_files, path):
    from findings.models import ImportJob, JobStatus

    url, body = _paths(world)[path]
    client = world.client("lead", api=True)
    problems = []
    for name, content in [
        *hostile_files.items(),
        *((n, b'{"SchemaVersion": 2, "Results": []}') for n in NAMES),
    ]:
        before = _counts()
        jobs_before = set(ImportJob.objects.values_list("pk", flat=True))
        response = client.post(url, body(_upload(name, content)), format="multipart")
        if response.status_code >= 500:
            problems.append(f"{name}: {response.status_code}")
            continue
        if response.status_code >= 400:
            detail = response.json()
            if not detail or "Traceback" in str(detail):
                problems.append(f"{name}: refusal without a message")
            if _counts() != before:
                problems.append(f"{name}: refused but rows were written")
        for job in ImportJob.objects.exclude(pk__in=jobs_before):
            if job.status == JobStatus.FAILED:
                if not job.error:
                    problems.append(f"{name}: job failed without a reason")
                if job.findings_count:
                    problems.append(f"{name}: a failed job left findings")
            assert job.raw_file and job.raw_file.storage.exists(job.raw_file.name), "raw file not kept"
            stored = job.raw_file.name
            if ".." in stored or "\x00" in stored or "\\" in stored or not stored.startswith("scans/"):
                problems.append(f"{name}: stored as {stored!r}, outside the scans folder")
    assert not problems, "\n".join(problems)
