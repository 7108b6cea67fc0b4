"""Receiving scan files over HTTP: bounded, hashed while they stream to disk.

Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not cover files, so a request could otherwise stream an
unbounded upload to the temporary directory. A declared Content-Length over the limit is refused
before the body is read; a body that turns out longer (chunked, or lying) is cut off as soon as it
passes the limit. The SHA-256 is computed on the way in, so the file is not read again to hash it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import HttpRequest

# Form fields beside the file (asset, team, format, the CSRF token) are small.
_FORM_OVERHEAD = 64 * 1024


class ScanUploadHandler(TemporaryFileUploadHandler):
    def __init__(self, request: HttpRequest | None = None, *, max_bytes: int) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.exceeded = False
        self._hasher = hashlib.sha256()
        self._received = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self._hasher = hashlib.sha256()
        self._received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self._received += len(raw_data)
        if self._received > self.max_bytes:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        self._hasher.update(raw_data)
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size: int) -> UploadedFile | None:
        uploaded = super().file_complete(file_size)
        if uploaded is not None:
            uploaded.sha256 = self._hasher.hexdigest()  # type: ignore[attr-defined]
        return uploaded


def declared_too_large(request: HttpRequest) -> bool:
    """Whether the request announces a body larger than any acceptable scan upload."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.HYGIENE_SCAN_MAX_BYTES + _FORM_OVERHEAD


def install_scan_upload_handler(request: HttpRequest) -> ScanUploadHandler:
    """Make the request stream its files through a bounded, hashing handler (before it is parsed)."""
    handler = ScanUploadHandler(request, max_bytes=settings.HYGIENE_SCAN_MAX_BYTES)
    request.upload_handlers = [handler]
    return handler
