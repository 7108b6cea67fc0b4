"""Where a form goes back to: its ``next`` parameter, only if it stays on this site (no open redirect)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, fallback: str, *, candidate: str | None = None) -> str:
    """``candidate`` (by default the request's ``next``, POST before GET) if it is a URL of this site,
    else ``fallback``."""
    if candidate is None:
        candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return fallback
