"""Sign-in with an optional second factor, sign-out, and enrolling an authenticator app."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.contrib.auth import get_user_model, login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from hygiene.forms import MfaEnrolForm, MfaRemoveForm, OtpTokenForm
from hygiene.lib.forms import add_validation_errors
from hygiene.lib.redirects import safe_next
from hygiene.lockout import lockout_response, second_factor_failed, sign_in_locked
from hygiene.permissions import access_expired
from hygiene.services import mfa

PENDING_USER = "hygiene_pending_user"
PENDING_BACKEND = "hygiene_pending_backend"
PENDING_NEXT = "hygiene_pending_next"


def _confirmed_device(user: object) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


@sensitive_post_parameters("password")
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = AuthenticationForm(request, data=request.POST or None)
    next_url = safe_next(request, "/")
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        if _confirmed_device(user) is not None:
            # Password was right; the session only becomes a login once the code is right too.
            request.session[PENDING_USER] = user.pk
            request.session[PENDING_BACKEND] = user.backend
            request.session[PENDING_NEXT] = next_url
            return redirect("accounts:verify")
        login(request, user)
        messages.success(request, f"Welcome, {user.get_username()}.")
        return redirect(next_url)
    return render(request, "registration/login.html", {"form": form, "next": next_url})


@sensitive_post_parameters("otp_token")
def verify_view(request: HttpRequest) -> HttpResponse:
    user_id = request.session.get(PENDING_USER)
    if user_id is None:
        return redirect("login")
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or access_expired(user):
        # Deactivated, deleted or out of time since the password step: that sign-in is over.
        _forget_pending(request)
        return redirect("login")
    device = _confirmed_device(user)
    form = OtpTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and device is not None:
        if sign_in_locked(request, user):
            return _locked_out(request)
        if device.verify_token(form.cleaned_data["otp_token"]):
            next_url = request.session.pop(PENDING_NEXT, "/")
            backend = request.session.pop(PENDING_BACKEND)
            request.session.pop(PENDING_USER, None)
            login(request, user, backend=backend)
            otp_login(request, device)
            messages.success(request, f"Welcome, {user.get_username()}.")
            return redirect(next_url)
        if second_factor_failed(request, user):
            return _locked_out(request)
        form.add_error("otp_token", "That code is not right. Codes change every 30 seconds.")
    return render(request, "registration/verify.html", {"form": form})


def _locked_out(request: HttpRequest) -> HttpResponse:
    """Forget the half-done sign-in: after the cool-off, the password is asked for again."""
    _forget_pending(request)
    return lockout_response(request)


def _forget_pending(request: HttpRequest) -> None:
    for key in (PENDING_USER, PENDING_BACKEND, PENDING_NEXT):
        request.session.pop(key, None)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("login")


@login_required
@sensitive_post_parameters("otp_token")
def mfa_view(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: show the secret as a QR code, confirm it with a first code.

    Showing the page writes nothing; the device is created once the first code is right.
    """
    confirmed = mfa.confirmed_device(request.user)
    if confirmed is not None:
        form = MfaRemoveForm()
        context = {
            "device": confirmed,
            "remove_form": form,
            "removal_refused": mfa.mfa_required_by_role(request.user),
        }
        return render(request, "registration/mfa.html", context)
    form = MfaEnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            key = mfa.enrolment_key_from(user=request.user, signed=form.cleaned_data["enrolment"])
            device = mfa.mfa_enrol(user=request.user, key=key, code=form.cleaned_data["otp_token"])
        except ValidationError as exc:
            form.add_error("otp_token", exc)
        else:
            otp_login(request, device)
            messages.success(request, "Second factor enabled. You will be asked for a code at every sign-in.")
            return redirect("accounts:mfa")
    return _enrolment_page(request, form)


def _enrolment_page(request: HttpRequest, form: MfaEnrolForm) -> HttpResponse:
    try:
        key = mfa.enrolment_key_from(user=request.user, signed=form.data.get("enrolment", ""))
        signed = form.data["enrolment"]
    except ValidationError:
        key, signed = mfa.enrolment_key_new(user=request.user)
    form.initial["enrolment"] = signed
    if form.is_bound:
        form.data = form.data.copy()
        form.data["enrolment"] = signed
    device = mfa.enrolment_device(user=request.user, key=key)
    qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=4, dark="#14213d")
    secret = device.config_url.split("secret=")[1].split("&")[0]
    context = {"form": form, "qr_svg": qr_svg, "secret": secret}
    return render(request, "registration/mfa.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
@sensitive_post_parameters("password", "otp_token")
def mfa_disable_view(request: HttpRequest) -> HttpResponse:
    """Remove the second factor: takes the password and a current code; refused where the role needs one."""
    form = MfaRemoveForm(request.POST)
    if form.is_valid():
        try:
            mfa.mfa_remove(
                user=request.user,
                password=form.cleaned_data["password"],
                code=form.cleaned_data["otp_token"],
                request=request,
            )
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            return redirect("accounts:mfa")
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "Second factor removed.")
            return redirect("accounts:mfa")
    context = {
        "device": mfa.confirmed_device(request.user),
        "remove_form": form,
        "removal_refused": mfa.mfa_required_by_role(request.user),
    }
    return render(request, "registration/mfa.html", context, status=400)
