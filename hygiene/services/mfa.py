"""The second factor (TOTP): when it is needed, enrolling it, removing it, checking a code.

One rule for every path that authenticates a person (the pages, the API through a session, and the
exchange of a password for an API token): a second factor is needed when the person enrolled one, or
when ``HYGIENE_MFA_REQUIRED_FOR_PRIVILEGED`` is on and their role oversees every team.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from hygiene.permissions import sees_all_teams

ENROLMENT_SALT = "hygiene.mfa.enrolment"
ENROLMENT_MAX_AGE_S = 3600
KEY_BYTES = 20


def confirmed_device(user: Any) -> TOTPDevice | None:
    """The person's enrolled authenticator, if any."""
    if not getattr(user, "is_authenticated", False):
        return None
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).first()


def mfa_required_by_role(user: Any) -> bool:
    """Whether the person's role obliges them to use a second factor (the admin's switch)."""
    return bool(settings.HYGIENE_MFA_REQUIRED_FOR_PRIVILEGED and sees_all_teams(user))


def mfa_needed(user: Any) -> bool:
    """Whether signing in as ``user`` takes a second factor: required by the role, or enrolled."""
    return mfa_required_by_role(user) or confirmed_device(user) is not None


def session_lacks_mfa(user: Any) -> bool:
    """Whether this signed-in session has not passed the second factor that ``user`` needs."""
    verified = getattr(user, "is_verified", None)
    is_verified = bool(verified()) if callable(verified) else False
    return bool(user.is_authenticated and not is_verified and mfa_needed(user))


def enrolment_key_new(*, user: Any) -> tuple[str, str]:
    """A fresh secret for an authenticator app and a signed token that carries it to the confirming POST.

    Nothing is written: the device exists only once a first code proves the app holds the key.
    """
    key = secrets.token_hex(KEY_BYTES)
    signed = signing.dumps({"key": key, "user": user.pk}, salt=ENROLMENT_SALT)
    return key, signed


def enrolment_device(*, user: Any, key: str) -> TOTPDevice:
    """An unsaved device for ``key``, to show its QR code or check a first code against."""
    return TOTPDevice(user=user, key=key, name="Authenticator", confirmed=False)


def enrolment_key_from(*, user: Any, signed: str) -> str:
    """The secret the enrolment form carried, if it was issued to this person recently."""
    try:
        data = signing.loads(signed, salt=ENROLMENT_SALT, max_age=ENROLMENT_MAX_AGE_S)
    except signing.BadSignature as exc:
        raise ValidationError("The enrolment expired; scan the new code and try again.") from exc
    if data.get("user") != user.pk:
        raise ValidationError("The enrolment expired; scan the new code and try again.")
    return str(data["key"])


@transaction.atomic
def mfa_enrol(*, user: Any, key: str, code: str) -> TOTPDevice:
    """Enable an authenticator app once its first code is right; return the confirmed device."""
    if confirmed_device(user) is not None:
        raise ValidationError("An authenticator app is enabled already.")
    device = enrolment_device(user=user, key=key)
    if not device.verify_token(code):
        raise ValidationError("That code is not right. Check the clock of your phone and try again.")
    device.confirmed = True
    # Leftovers of the former flow, which saved an unconfirmed device on every visit.
    TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).delete()
    device.save()
    return device


def mfa_code_valid(*, user: Any, code: str) -> bool:
    """Whether ``code`` is the current code of the person's enrolled authenticator."""
    device = confirmed_device(user)
    return bool(device is not None and code and device.verify_token(code))


@transaction.atomic
def mfa_remove(*, user: Any, password: str, code: str, request: Any = None) -> None:
    """Remove the person's second factor: it takes their password and a current code.

    Refused when their role requires a second factor.
    """
    if mfa_required_by_role(user):
        raise PermissionDenied("Your role requires a second factor; it cannot be removed.")
    device = confirmed_device(user)
    if device is None:
        raise ValidationError("No authenticator app is enabled.")
    if authenticate(request, username=user.get_username(), password=password) is None:
        raise ValidationError({"password": "That password is not right."})
    if not device.verify_token(code):
        raise ValidationError({"otp_token": "That code is not right. Codes change every 30 seconds."})
    TOTPDevice.objects.filter(user_id=user.pk).delete()


def token_issuance_check(*, user: Any, code: str) -> None:
    """Refuse to exchange a password for a token unless the second factor the person needs is given."""
    device = confirmed_device(user)
    if device is None:
        if mfa_required_by_role(user):
            raise PermissionDenied(
                "Your role requires a second factor: enrol an authenticator app on the site first."
            )
        return
    if not code:
        raise ValidationError({"otp_token": "Your account has a second factor: send the current code."})
    if not device.verify_token(code):
        raise ValidationError({"otp_token": "That code is not right. Codes change every 30 seconds."})
