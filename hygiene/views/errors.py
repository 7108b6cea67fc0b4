"""Refusals and failures as pages of the site: the header stays, and the page says why."""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.urls import Resolver404

logger = logging.getLogger(__name__)

DEFAULT_403 = "Your role does not allow this."
DATABASE_UNAVAILABLE = "The database is not answering; nothing was saved. Try again in a moment."
# Seconds a client (or a load balancer) should wait before trying again; a restart takes about that.
RETRY_AFTER = "5"
DEFAULT_404 = "There is nothing at this address, or it belongs to a team you are not part of."


def _reason(exception: Exception | None, default: str) -> str:
    """The message the view or service gave, when it gave one meant for people."""
    if exception is None or isinstance(exception, Resolver404):
        return default
    message = str(exception.args[0]) if exception.args and isinstance(exception.args[0], str) else ""
    return message or default


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    reason = _reason(exception, DEFAULT_403)
    if _is_api(request):
        return JsonResponse({"detail": reason}, status=403)
    return render(request, "403.html", {"reason": reason}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    reason = _reason(exception, DEFAULT_404)
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "404.html", {"reason": reason, "path": request.path}, status=404)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """400 for a request Django refuses before any view (too many form fields, a body past the limit)."""
    if _is_api(request):
        return JsonResponse({"detail": "The request is malformed or too large to read."}, status=400)
    return render(request, "400.html", {}, status=400)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this handler inside its ``except`` block, so the exception is still at hand.
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return database_unavailable(request)
    if _is_api(request):
        return JsonResponse({"detail": "The server failed to handle this request."}, status=500)
    try:
        return render(request, "500.html", {}, status=500)
    except Exception:  # the failure may be the database the header needs: a page without it then
        logger.exception("The styled error page failed; serving it without the header.")
        return HttpResponse(loader.get_template("500.html").render({}), status=500)


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 while PostgreSQL is down or restarting: a passing state, which clients may retry."""
    if _is_api(request):
        response: HttpResponse = JsonResponse({"detail": DATABASE_UNAVAILABLE}, status=503)
    else:
        # Without the request: the header (who is signed in, their notifications) needs the database.
        response = HttpResponse(loader.get_template("503.html").render({}), status=503)
    response["Retry-After"] = RETRY_AFTER
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    context = {
        "reason": "The form had expired or came from another site, so nothing was changed. "
        "Go back, reload the page and try again."
    }
    return render(request, "403.html", context, status=403)
