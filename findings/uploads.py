"""Receiving scan files over HTTP, through the one bounded upload handler (``hygiene.lib.uploads``)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from hygiene.lib.uploads import BoundedUploadHandler, install_upload_handler
from hygiene.lib.uploads import declared_too_large as _declared_too_large


def scan_max_bytes() -> int:
    return int(settings.HYGIENE_SCAN_MAX_BYTES)


def declared_too_large(request: HttpRequest) -> bool:
    """Whether the request announces a body larger than any acceptable scan upload."""
    return _declared_too_large(request, scan_max_bytes())


def install_scan_upload_handler(request: HttpRequest) -> BoundedUploadHandler:
    """Make the request stream its files through the bounded, hashing handler (before it is parsed)."""
    return install_upload_handler(request, scan_max_bytes())
