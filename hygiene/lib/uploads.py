"""Receiving uploaded files over HTTP: bounded, and hashed while they stream to disk.

Every upload path (scan files, BOMs, asset CSVs; page and API) goes through this one handler.
Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not cover files, so a request could otherwise stream an
unbounded upload to the temporary directory before a form refused it. A declared Content-Length
over the limit is refused before the body is read; a body that turns out longer (chunked, or lying)
is cut off as soon as it passes the limit. The SHA-256 is computed on the way in, so the file is not
read again to hash it.

A page view is wrapped in ``bounded_upload`` and an API view mixes in ``BoundedUploadMixin``: both
install the handler before anything (authentication, the CSRF check) reads the body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request

# Form fields beside the file (team, format, the CSRF token) are small.
FORM_OVERHEAD = 64 * 1024


class BoundedUploadHandler(TemporaryFileUploadHandler):
    """Streams files to a temporary file, hashing them, and stops reading past ``max_bytes``."""

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

    def file_complete(self, file_size: int) -> UploadedFile[Any] | None:
        uploaded = super().file_complete(file_size)
        if uploaded is not None:
            uploaded.sha256 = self._hasher.hexdigest()  # type: ignore[attr-defined]
        return uploaded


class DefaultBoundedUploadHandler(BoundedUploadHandler):
    """The handler of requests whose view sets no limit of its own (settings.FILE_UPLOAD_HANDLERS)."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request, max_bytes=int(settings.HYGIENE_UPLOAD_DEFAULT_MAX_BYTES))


def declared_too_large(request: HttpRequest, max_bytes: int) -> bool:
    """Whether the request announces a body larger than a file of ``max_bytes`` and its form."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > max_bytes + FORM_OVERHEAD


def install_upload_handler(request: HttpRequest, max_bytes: int) -> BoundedUploadHandler:
    """Make the request stream its files through a bounded, hashing handler (before it is parsed)."""
    handler = BoundedUploadHandler(request, max_bytes=max_bytes)
    request.upload_handlers = [handler]
    return handler


def close_connection(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Tell the client not to reuse the connection: the rest of an oversized body was not read.

    The development server (wsgiref, under ``make run``) refuses hop-by-hop headers from the
    application with an error, and reads the rest of the body itself; production servers
    (gunicorn) take the header and close.
    """
    if not str(request.META.get("SERVER_SOFTWARE", "")).startswith("WSGIServer/"):
        response["Connection"] = "close"
    return response


def bounded_upload(
    max_bytes: Callable[[], int], refuse: Callable[[HttpRequest], HttpResponse]
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Wrap a page view that receives files: oversized bodies get ``refuse``'s answer (413).

    The CSRF check runs inside (``csrf_protect``), after the handler is installed, since it reads
    the body.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        protected = csrf_protect(view)

        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method != "POST":
                return protected(request, *args, **kwargs)
            limit = max_bytes()
            if declared_too_large(request, limit):
                return close_connection(request, refuse(request))
            handler = install_upload_handler(request, limit)
            request.POST  # noqa: B018 - parse now, through the handler
            if handler.exceeded:
                return close_connection(request, refuse(request))
            return protected(request, *args, **kwargs)

        return wrapper

    return decorator


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The file is larger than allowed."
    default_code = "too_large"


class BoundedUploadMixin:
    """For API views that receive files: the same bounded handler, and 413 for an oversized body.

    The view says its limit (``upload_max_bytes``) and message (``upload_too_large_message``).
    """

    def upload_max_bytes(self) -> int:
        """The view's own limit; views that take large files (scans, bundles) override it."""
        return int(settings.HYGIENE_UPLOAD_DEFAULT_MAX_BYTES)

    def upload_too_large_message(self) -> str:
        return f"The file is larger than the {self.upload_max_bytes() // (1024 * 1024)} MB allowed."

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        self._upload_handler: BoundedUploadHandler | None = None
        if request.method in ("POST", "PUT", "PATCH"):
            self._upload_handler = install_upload_handler(request, self.upload_max_bytes())
        return super().initialize_request(request, *args, **kwargs)  # type: ignore[misc]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if self._upload_handler is not None and declared_too_large(request._request, self.upload_max_bytes()):
            raise PayloadTooLarge(self.upload_too_large_message())
        super().initial(request, *args, **kwargs)  # type: ignore[misc]

    def uploaded_data(self, request: Request) -> Any:
        """``request.data``, refused (413) if a file in it passed the limit."""
        data = request.data
        if self._upload_handler is not None and self._upload_handler.exceeded:
            raise PayloadTooLarge(self.upload_too_large_message())
        return data

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        if response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE:
            close_connection(request._request, response)
        return response
