"""Lockout after repeated failures, for every way of signing in, and what a locked-out person sees.

django-axes counts the failed passwords of every path that calls ``authenticate`` (the sign-in page,
the admin's, the token endpoint). A wrong second-factor code is a failed sign-in too: without counting
it, someone holding the password could try codes at leisure. ``second_factor_failed`` counts it under
the same (username, address) key, so five wrong codes lock the account out like five wrong passwords.
"""

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

LOCKED_MESSAGE = "Too many failed sign-ins from this address for this account; try again in an hour."


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": LOCKED_MESSAGE}, status=429)
    return render(request, "registration/locked_out.html", status=429)


def _credentials(user: Any) -> dict[str, str]:
    return {"username": user.get_username()}


def sign_in_locked(request: HttpRequest, user: Any) -> bool:
    """Whether ``user`` is locked out from this address (checked before a code is even looked at)."""
    return bool(AxesProxyHandler.is_locked(request, _credentials(user)))


def second_factor_failed(request: HttpRequest, user: Any) -> bool:
    """Count a wrong code as a failed sign-in (audited like one); return whether that locked them out."""
    user_login_failed.send(sender=__name__, credentials=_credentials(user), request=request)
    return bool(getattr(request, "axes_locked_out", False)) or sign_in_locked(request, user)
