"""Evidence bundles: a worker writes the engagement's records, evidence files and audit-log extract into a
ZIP with a manifest of every file's SHA-256, signed with the site's Ed25519 key.

Layout of a bundle::

    manifest.json            every other file with its SHA-256 and size, the engagement, the chain anchors
    manifest.sig             Ed25519 signature of manifest.json (base64)
    public_key.pem           the public key that verifies it (compare its fingerprint with the site's)
    README.txt               how to verify
    records/<section>.csv    the in-scope records of each section, and the same as JSON
    records/<section>.json
    evidence/<section>/...   evidence files (raw scan files today; control evidence once controls land)
    audit-log/extract.jsonl  the sealed audit-log entries of the period, one per line, with their hashes

Rows and files are streamed into the ZIP (never held in memory), hashed as they are written.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any

import orjson
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from audits.models import BundleStatus, Engagement, EvidenceBundle
from audits.sections import Section, SectionContext, sections
from audits.services import signing
from hygiene.lib.exports import stream_csv, stream_json
from hygiene.models import AuditEntry
from hygiene.permissions import is_security_lead
from hygiene.services.audit import audit_event, audit_log_seal

logger = logging.getLogger(__name__)

FORMAT = "hygiene-evidence-bundle/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public_key.pem"
META_FILES = frozenset({MANIFEST, SIGNATURE, PUBLIC_KEY})
AUDIT_EXTRACT = "audit-log/extract.jsonl"
COPY_CHUNK = 1 << 20
STALE_AFTER = dt.timedelta(hours=2)
AUDIT_FIELDS = (
    *("seq", "id", "occurred_at", "actor_id", "actor_label", "action", "object_type", "object_id"),
    *("before", "after", "changes", "context", "prev_hash", "hash"),
)
README = """Evidence bundle of the hygiene application.

manifest.json lists every other file of this ZIP with its SHA-256 and size; manifest.sig is the
Ed25519 signature of manifest.json (base64) by the key in public_key.pem. Compare that key's
fingerprint with the one the site shows (Audits > Verify a bundle), then run

    python manage.py verify_bundle THIS.zip

or upload the ZIP on the site's "Verify a bundle" page. audit-log/extract.jsonl holds the audit
log entries of the period in chain order; each entry's hash covers its content and the previous
entry's hash, and the manifest's audit_log anchors pin the first entry's previous hash and the
head of the log when the bundle was made. Entries outside the engagement's scope are present by
their hashes only (redacted), so the chain still verifies.
"""


def may_request_bundle(user: Any, engagement: Engagement) -> bool:
    if not engagement.is_active:
        return False
    return is_security_lead(user) or engagement.auditor_id == user.pk


@transaction.atomic
def bundle_request(*, actor: Any, engagement: Engagement) -> EvidenceBundle:
    """Queue an evidence bundle of ``engagement``; a worker builds it."""
    if not engagement.is_active:
        raise PermissionDenied("This engagement has ended: no more bundles can be made for it.")
    if not may_request_bundle(actor, engagement):
        raise PermissionDenied("Only the engagement's auditor and security leads make its bundles.")
    bundle = EvidenceBundle.objects.create(engagement=engagement, requested_by=actor)
    audit_event(
        action="bundle_request",
        object_type="audits_evidencebundle",
        object_id=str(bundle.pk),
        actor_id=actor.pk,
        actor_label=actor.get_username(),
        detail={"engagement": engagement.pk},
    )
    from audits.tasks import build_bundle

    transaction.on_commit(lambda: build_bundle.delay(bundle.pk))
    return bundle


def bundle_build(*, bundle_id: int) -> None:
    """Build a queued bundle (idempotent: one already finished, or running on a live worker, is left alone).

    A bundle still "running" long after it started lost its worker (the task is acked late, so the
    broker hands it out again): it is started over.
    """
    stale = timezone.now() - STALE_AFTER
    claimed = (
        EvidenceBundle.objects.filter(pk=bundle_id)
        .filter(Q(status=BundleStatus.QUEUED) | Q(status=BundleStatus.RUNNING, started_at__lt=stale))
        .update(status=BundleStatus.RUNNING, started_at=timezone.now(), progress=0)
    )
    if not claimed:
        return
    bundle = EvidenceBundle.objects.select_related("engagement").get(pk=bundle_id)
    tmp_path = ""
    try:
        with tempfile.NamedTemporaryFile(suffix=".zip", delete=False) as tmp:
            tmp_path = tmp.name
            summary = bundle_write(engagement=bundle.engagement, out=tmp, progress=_progress(bundle_id))
        _store(bundle, tmp_path, summary)
    except Exception as exc:
        logger.exception("evidence bundle %s failed", bundle_id)
        EvidenceBundle.objects.filter(pk=bundle_id).update(
            status=BundleStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
    finally:
        if tmp_path and os.path.exists(tmp_path):
            os.unlink(tmp_path)


def _store(bundle: EvidenceBundle, path: str, summary: dict[str, Any]) -> None:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(COPY_CHUNK):
            digest.update(chunk)
    with open(path, "rb") as handle:
        bundle.file.save(bundle.filename, File(handle), save=False)
    bundle.sha256 = digest.hexdigest()
    bundle.size_bytes = os.path.getsize(path)
    bundle.file_count = summary["file_count"]
    bundle.audit_head_seq = summary["head_seq"]
    bundle.audit_head_hash = summary["head_hash"]
    bundle.status = BundleStatus.DONE
    bundle.progress = 100
    bundle.step = "Ready"
    bundle.finished_at = timezone.now()
    bundle.save(
        update_fields=[
            *("file", "sha256", "size_bytes", "file_count", "audit_head_seq", "audit_head_hash"),
            *("status", "progress", "step", "finished_at"),
        ]
    )
    audit_event(
        action="bundle_built",
        object_type="audits_evidencebundle",
        object_id=str(bundle.pk),
        detail={
            "engagement": bundle.engagement_id,
            "sha256": bundle.sha256,
            "head_hash": bundle.audit_head_hash,
        },
    )


def _progress(bundle_id: int) -> Any:
    def report(percent: int, step: str) -> None:
        EvidenceBundle.objects.filter(pk=bundle_id, status=BundleStatus.RUNNING).update(
            progress=min(99, percent), step=step[:120]
        )

    return report


class _Entry:
    """A file being written into the ZIP, hashed on the way."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)
        self._handle.write(data)


class _BundleWriter:
    def __init__(self, out: IO[bytes]) -> None:
        self.zip = zipfile.ZipFile(
            out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1, allowZip64=True
        )
        self.files: list[dict[str, Any]] = []

    @contextmanager
    def entry(self, path: str, **extra: Any) -> Iterator[_Entry]:
        with self.zip.open(path, "w", force_zip64=True) as handle:
            entry = _Entry(handle)
            yield entry
        self.files.append({"path": path, "sha256": entry.digest.hexdigest(), "size": entry.size, **extra})

    def text(self, path: str, chunks: Iterable[str]) -> None:
        with self.entry(path) as entry:
            for chunk in chunks:
                entry.write(chunk.encode())


def bundle_write(*, engagement: Engagement, out: IO[bytes], progress: Any = None) -> dict[str, Any]:
    """Write the signed bundle of ``engagement`` to ``out``; return a summary (file count, chain head)."""
    from audits.selectors import section_context

    report = progress or (lambda percent, step: None)
    ctx = section_context(engagement)
    writer = _BundleWriter(out)
    try:
        return _write_all(writer, engagement, ctx, report)
    except BaseException:
        with contextlib.suppress(Exception):
            writer.zip.close()
        raise


def _write_all(
    writer: _BundleWriter, engagement: Engagement, ctx: SectionContext, report: Any
) -> dict[str, Any]:
    parts = sections()
    steps = 2 * len(parts) + 1
    section_summary = []
    for index, section in enumerate(parts):
        report(100 * (2 * index) // steps, f"Writing {section.title.lower()}")
        rows = _write_records(writer, section, ctx)
        report(100 * (2 * index + 1) // steps, f"Copying the evidence of {section.title.lower()}")
        evidence = _write_evidence(writer, section, ctx)
        section_summary.append(
            {"key": section.key, "title": section.title, "rows": rows, "evidence_files": evidence}
        )
    report(100 * (steps - 1) // steps, "Sealing and extracting the audit log")
    anchors = _write_audit_extract(writer, ctx)
    writer.text("README.txt", [README])
    manifest = {
        "format": FORMAT,
        "created_at": timezone.now().isoformat(),
        "engagement": _engagement_summary(engagement),
        "sections": section_summary,
        "audit_log": anchors,
        "public_key_sha256": signing.key_fingerprint(),
        "files": writer.files,
    }
    manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode()
    writer.zip.writestr(MANIFEST, manifest_bytes)
    writer.zip.writestr(SIGNATURE, base64.b64encode(signing.sign(manifest_bytes)) + b"\n")
    writer.zip.writestr(PUBLIC_KEY, signing.public_key_pem())
    writer.zip.close()
    return {
        "file_count": len(writer.files) + len(META_FILES),
        "head_seq": anchors["head_seq"],
        "head_hash": anchors["head_hash"],
    }


def _engagement_summary(engagement: Engagement) -> dict[str, Any]:
    return {
        "id": engagement.pk,
        "name": engagement.name,
        "auditor": engagement.auditor.get_username(),
        "period": [engagement.period_start.isoformat(), engagement.period_end.isoformat()],
        "frameworks": engagement.frameworks,
        "teams": sorted(team.slug for team in engagement.teams.all()) or "all",
        "environments": engagement.environments or "all",
        "restricted_in_scope": engagement.restricted_in_scope,
    }


def _write_records(writer: _BundleWriter, section: Section, ctx: SectionContext) -> int:
    counter = _Counter(section.rows(ctx))
    writer.text(f"records/{section.key}.csv", stream_csv(section.columns, counter))
    writer.text(f"records/{section.key}.json", stream_json(section.columns, section.rows(ctx)))
    return counter.count


class _Counter:
    def __init__(self, rows: Iterable[Any]) -> None:
        self._rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[Any]:
        for row in self._rows:
            self.count += 1
            yield row


def _write_evidence(writer: _BundleWriter, section: Section, ctx: SectionContext) -> int:
    if section.evidence is None:
        return 0
    written = 0
    for item in section.evidence(ctx):
        path = f"evidence/{section.key}/{item.path}"
        try:
            source = item.open()
        except OSError as exc:
            writer.files.append(
                {"path": path, "missing_at_export": str(exc)[:300], "recorded_sha256": item.sha256}
            )
            continue
        with source, writer.entry(path, recorded_sha256=item.sha256) as entry:
            shutil.copyfileobj(source, entry, COPY_CHUNK)
        written += 1
    return written


def _write_audit_extract(writer: _BundleWriter, ctx: SectionContext) -> dict[str, Any]:
    """The sealed entries of the period (a contiguous stretch of the chain) and the chain's anchors."""
    from hygiene.selectors import audit_entry_list_for_user

    audit_log_seal()  # everything up to now is chained before we read it
    head = AuditEntry.objects.filter(seq__isnull=False).order_by("-seq").values("seq", "hash").first()
    period = ctx.period
    bounds = AuditEntry.objects.filter(
        seq__isnull=False, occurred_at__gte=period.start, occurred_at__lt=period.end
    ).aggregate(lo=Min("seq"), hi=Max("seq"))
    anchors: dict[str, Any] = {
        "head_seq": head["seq"] if head else None,
        "head_hash": head["hash"] if head else "",
        "first_seq": bounds["lo"],
        "last_seq": bounds["hi"],
        "first_prev_hash": "",
        "last_hash": "",
        "entries": 0,
        "redacted": 0,
    }
    if bounds["lo"] is None:
        writer.text(AUDIT_EXTRACT, [])
        return anchors
    lo, hi = bounds["lo"], bounds["hi"]
    visible = set(
        audit_entry_list_for_user(user=ctx.user)
        .filter(seq__gte=lo, seq__lte=hi)
        .values_list("seq", flat=True)
    )
    rows = AuditEntry.objects.filter(seq__gte=lo, seq__lte=hi).order_by("seq").values_list(*AUDIT_FIELDS)
    with writer.entry(AUDIT_EXTRACT) as entry:
        lines: list[bytes] = []
        for row in rows.iterator(chunk_size=5000):
            record = dict(zip(AUDIT_FIELDS, row, strict=True))
            if anchors["entries"] == 0:
                anchors["first_prev_hash"] = record["prev_hash"]
            anchors["entries"] += 1
            anchors["last_hash"] = record["hash"]
            if record["seq"] in visible:
                record["occurred_at"] = record["occurred_at"].isoformat()
            else:
                anchors["redacted"] += 1
                record = {
                    "seq": record["seq"],
                    "prev_hash": record["prev_hash"],
                    "hash": record["hash"],
                    "redacted": True,
                }
            lines.append(orjson.dumps(record))
            if len(lines) >= 2000:
                entry.write(b"\n".join(lines) + b"\n")
                lines.clear()
        if lines:
            entry.write(b"\n".join(lines) + b"\n")
    return anchors
