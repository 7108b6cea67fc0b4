"""Evidence for assessments: a file (bounded, hashed, type sniffed), a link or text."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from controls.models import Assessment, Evidence, EvidenceKind
from controls.services.assessments import assessment_rerun
from hygiene.permissions import can_contribute, token_allows

SNIFF_BYTES = 512
# Served as what they are only when no browser would run them; anything else is application/octet-stream.
SAFE_TYPES = {
    *("application/pdf", "image/png", "image/jpeg", "image/gif", "application/zip", "application/gzip"),
    *("application/json", "text/plain", "text/csv"),
}


class EvidenceTooLarge(ValidationError):
    pass


def too_large_message() -> str:
    limit = settings.HYGIENE_EVIDENCE_MAX_BYTES
    return f"Evidence files are limited to {limit // (1024 * 1024)} MB; link to a larger file instead."


def sniff_content_type(head: bytes) -> str:
    """The type of a file from its first bytes, ignoring whatever its name or the browser claimed."""
    signatures = [
        (b"%PDF-", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF8", "image/gif"),
        (b"PK\x03\x04", "application/zip"),
        (b"\x1f\x8b", "application/gzip"),
    ]
    for magic, content_type in signatures:
        if head.startswith(magic):
            return content_type
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<script", b"<svg", b"<?xml")):
        return "text/html" if not stripped.startswith((b"<svg", b"<?xml")) else "application/xml"
    if stripped[:1] in (b"{", b"["):
        return "application/json"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the sniff boundary still reads as text.
        try:
            head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return "application/octet-stream"
    return "text/plain"


def served_content_type(evidence: Evidence) -> str:
    return evidence.content_type if evidence.content_type in SAFE_TYPES else "application/octet-stream"


def _hash_and_sniff(upload: UploadedFile[Any]) -> tuple[str, int, str]:
    digest = getattr(upload, "sha256", "")
    size = 0
    hasher = hashlib.sha256()
    head = b""
    upload.seek(0)
    for chunk in upload.chunks():
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        size += len(chunk)
        if size > settings.HYGIENE_EVIDENCE_MAX_BYTES:
            raise EvidenceTooLarge(too_large_message())
        if not digest:
            hasher.update(chunk)
    upload.seek(0)
    return digest or hasher.hexdigest(), size, sniff_content_type(head)


def may_add_evidence(user: Any, assessment: Assessment) -> bool:
    return can_contribute(user, team_id=assessment.team_id) and token_allows(user, "write")


@transaction.atomic
def evidence_add(
    *,
    actor: Any,
    assessment: Assessment,
    kind: str,
    title: str,
    file: UploadedFile[Any] | None = None,
    url: str = "",
    text: str = "",
    collected_on: dt.date | None = None,
    expires_on: dt.date | None = None,
) -> Evidence:
    """Attach evidence to an assessment (a member of its team may), then re-assess it."""
    if not may_add_evidence(actor, assessment):
        raise PermissionDenied(f"Only members of {assessment.team} can attach evidence to its controls.")
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": "Say what this evidence is."})
    today = timezone.localdate()
    collected_on = collected_on or today
    if collected_on > today:
        raise ValidationError({"collected_on": "Evidence cannot be collected in the future."})
    if expires_on is not None and expires_on <= collected_on:
        raise ValidationError({"expires_on": "The expiry must come after the date it was collected."})
    evidence = Evidence(
        assessment=assessment,
        team_id=assessment.team_id,
        kind=kind,
        title=title[:200],
        collected_by=actor,
        collected_on=collected_on,
        expires_on=expires_on,
    )
    if kind == EvidenceKind.FILE:
        if file is None:
            raise ValidationError({"file": "Choose the file to attach."})
        evidence.sha256, evidence.size_bytes, evidence.content_type = _hash_and_sniff(file)
        evidence.filename = (file.name or "evidence").rsplit("/", 1)[-1][:255]
        evidence.file.save(get_valid_filename(evidence.filename) or "evidence", file, save=False)
    elif kind == EvidenceKind.LINK:
        if not url.lower().startswith(("https://", "http://")):
            raise ValidationError({"url": "Give a web link (https://…)."})
        evidence.url = url[:1000]
    elif kind == EvidenceKind.TEXT:
        text = (text or "").strip()
        if not text:
            raise ValidationError(
                {"text": "Write the evidence (what was checked, by whom, with what result)."}
            )
        evidence.text = text[:20000]
    else:
        raise ValidationError({"kind": "Choose a file, a link or text."})
    evidence.save()
    assessment_rerun(assessment=assessment)
    return evidence
