"""Request-wide rules: session timeouts, expired access, required second factor, audit context."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import urlencode

from hygiene.permissions import access_expired
from hygiene.services.audit import actor_context
from hygiene.services.mfa import confirmed_device, session_lacks_mfa

Handler = Callable[[HttpRequest], HttpResponse]
LAST_SEEN_RESOLUTION_S = 60


class SessionTimeoutMiddleware:
    """Sign a person out after SESSION_IDLE_TIMEOUT without a request or SESSION_ABSOLUTE_TIMEOUT in all."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and hasattr(request, "session"):
            now = timezone.now().timestamp()
            started = request.session.setdefault("hygiene_login_at", now)
            last = request.session.get("hygiene_last_seen", now)
            idle = now - last > settings.SESSION_IDLE_TIMEOUT.total_seconds()
            too_old = now - started > settings.SESSION_ABSOLUTE_TIMEOUT.total_seconds()
            if idle or too_old:
                logout(request)
                messages.info(request, "Your session ended; please sign in again.")
                return redirect(_login_then(request))
            # Writing the session on every request costs a query; a minute's precision is enough.
            if now - last > LAST_SEEN_RESOLUTION_S or "hygiene_last_seen" not in request.session:
                request.session["hygiene_last_seen"] = now
        return self.get_response(request)


class AccessExpiryMiddleware:
    """End the session of someone whose time-boxed access (an auditor's) has run out."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and access_expired(user):
            logout(request)
            messages.error(request, "Your access has expired. Ask a security lead to extend it.")
            return redirect("login")
        return self.get_response(request)


# The API enforces the same rule in its session authentication (hygiene.api.authentication).
MFA_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/api/")


class MfaRequiredMiddleware:
    """A session must have passed the second factor its person needs (enrolled, or required by role)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if request.path.startswith(MFA_EXEMPT_PREFIXES) or not session_lacks_mfa(user):
            return self.get_response(request)
        if confirmed_device(user) is not None:
            # A session opened before the app was enrolled (elsewhere): sign in again with a code.
            logout(request)
            messages.info(request, "Your account now has a second factor; please sign in again with a code.")
            return redirect(_login_then(request))
        messages.warning(request, "Your role requires a second factor. Set up an authenticator app to go on.")
        return redirect("accounts:mfa")


class PrivateResponseMiddleware:
    """Keep what one viewer was shown out of shared caches (a proxy, a CDN) and the browser's disk.

    Every page and API answer depends on who asks; without this, a cache in front of the server could
    hand one person's counts to the next. Static files never get here (WhiteNoise answers them first).
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(settings.STATIC_URL or "/static/"):
            return response  # the same for everyone, and named by content hash
        if response.has_header("Cache-Control"):
            patch_cache_control(response, private=True)
        else:
            patch_cache_control(response, private=True, no_store=True)
        patch_vary_headers(response, ("Cookie", "Authorization"))
        return response


def _login_then(request: HttpRequest) -> str:
    """The sign-in page, then back here: the path is encoded, so it cannot add a ``next`` of its own."""
    return f"{reverse('login')}?{urlencode({'next': request.path})}"


def client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


class AuditContextMiddleware:
    """Tell the audit triggers who makes the changes of this request."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return self.get_response(request)
        user = request.user
        # API requests authenticate later, in DRF; ApiTokenAuthentication names the actor then.
        actor_id = user.pk if user.is_authenticated else None
        label = user.get_username() if user.is_authenticated else ""
        with actor_context(actor_id=actor_id, actor_label=label, context=request_context(request)):
            return self.get_response(request)


def request_context(request: HttpRequest) -> dict[str, str]:
    return {"ip": client_ip(request), "path": request.path[:200], "method": request.method or ""}
