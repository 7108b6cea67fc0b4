"""Receiving evidence files: the bounded, hashing handler of scan uploads with the evidence size cap."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from findings.uploads import ScanUploadHandler

# Form fields beside the file (title, dates, the CSRF token) are small.
_FORM_OVERHEAD = 64 * 1024


def evidence_declared_too_large(request: HttpRequest) -> bool:
    """Whether the request announces a body larger than any acceptable evidence upload."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.HYGIENE_EVIDENCE_MAX_BYTES + _FORM_OVERHEAD


def install_evidence_upload_handler(request: HttpRequest) -> ScanUploadHandler:
    """Stream the request's files through a handler that stops at the cap (before the body is parsed)."""
    handler = ScanUploadHandler(request, max_bytes=settings.HYGIENE_EVIDENCE_MAX_BYTES)
    request.upload_handlers = [handler]
    return handler
