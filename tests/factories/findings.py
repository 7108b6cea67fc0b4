"""Factories for scan import jobs and findings, and a builder of importer records."""

import hashlib

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from assets.models import AssetKind
from findings.checks import check_types_for
from findings.importers.base import FindingRecord
from findings.models import Finding, FindingStatus, ImportJob, JobStatus
from tests.factories.assets import AssetFactory

EMPTY_TRIVY = b'{"SchemaVersion": 2, "Results": []}'


def record(n: int = 0, **values) -> FindingRecord:
    """A vulnerability record as an importer yields it; ``n`` makes it distinct."""
    fields = {
        "category": "vulnerability",
        "rule_id": f"CVE-2024-{1000 + n}",
        "title": f"Heap overflow in libfoo ({n})",
        "severity": "high",
        "package": "libfoo",
        "installed_version": "1.0.0",
        "fixed_version": "1.0.1",
        "location": "usr/lib/libfoo.so",
        "target": "registry.example.org/ml/trainer:1.4",
        "cvss": 7.5,
        "description": "A crafted input overflows a heap buffer.",
        "url": f"https://nvd.nist.gov/vuln/detail/CVE-2024-{1000 + n}",
    }
    fields.update(values)
    return FindingRecord(**fields)


class ImageAssetFactory(AssetFactory):
    kind = AssetKind.CONTAINER_IMAGE
    identifiers = factory.LazyFunction(lambda: ["registry.example.org/ml/trainer"])


class ImportJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportJob

    asset = factory.SubFactory(ImageAssetFactory)
    team = factory.LazyAttribute(lambda o: o.asset.team)
    format = "trivy"
    filename = "trivy.json"
    raw_file = factory.LazyAttribute(lambda o: ContentFile(b"{}", name=o.filename))
    sha256 = hashlib.sha256(b"{}").hexdigest()
    size_bytes = 2
    status = JobStatus.DONE
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyFunction(timezone.now)
    # What an import of its format records (findings.checks), as if the file held no findings.
    check_types = factory.LazyAttribute(
        lambda o: check_types_for(format_name=o.format, categories=(), container_image=False)
    )


class FindingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Finding

    asset = factory.SubFactory(ImageAssetFactory)
    team = factory.LazyAttribute(lambda o: o.asset.team)
    scanner = "trivy"
    category = "vulnerability"
    rule_id = factory.Sequence(lambda n: f"CVE-2023-{2000 + n}")
    title = factory.LazyAttribute(lambda o: f"Issue {o.rule_id}")
    severity = "high"
    package = "libfoo"
    fingerprint = factory.LazyAttribute(lambda o: hashlib.sha256(o.rule_id.encode()).hexdigest())
    status = FindingStatus.OPEN
    first_seen = factory.LazyFunction(timezone.now)
    last_seen = factory.LazyFunction(timezone.now)


class QueuedImportJobFactory(ImportJobFactory):
    """A job as an upload leaves it: file stored, nothing parsed yet."""

    format = ""
    status = JobStatus.QUEUED
    started_at = None
    finished_at = None
    raw_file = factory.LazyAttribute(lambda o: ContentFile(EMPTY_TRIVY, name=o.filename))
    size_bytes = len(EMPTY_TRIVY)
