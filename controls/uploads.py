"""Receiving evidence files: the one bounded, hashing upload handler with the evidence size cap."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from hygiene.lib.uploads import BoundedUploadHandler, declared_too_large, install_upload_handler


def evidence_max_bytes() -> int:
    return int(settings.HYGIENE_EVIDENCE_MAX_BYTES)


def evidence_declared_too_large(request: HttpRequest) -> bool:
    """Whether the request announces a body larger than any acceptable evidence upload."""
    return declared_too_large(request, evidence_max_bytes())


def install_evidence_upload_handler(request: HttpRequest) -> BoundedUploadHandler:
    """Stream the request's files through a handler that stops at the cap (before the body is parsed)."""
    return install_upload_handler(request, evidence_max_bytes())
