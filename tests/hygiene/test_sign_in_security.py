"""Second factor, session timeouts, security headers and the API schema."""

import datetime as dt
import subprocess
import sys

import pytest
from django.test import override_settings
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import client_for
from tests.factories.hygiene import PASSWORD

pytestmark = pytest.mark.django_db


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_enrolling_a_second_factor_then_signing_in_asks_for_the_code(client, teammate):
    client_for(client, teammate)
    page = client.get("/accounts/mfa/").content.decode()
    assert "<svg" in page
    signed = page.split('name="enrolment" value="')[1].split('"')[0]
    from hygiene.services.mfa import enrolment_device, enrolment_key_from

    key = enrolment_key_from(user=teammate, signed=signed)
    response = client.post(
        "/accounts/mfa/", {"otp_token": _code(enrolment_device(user=teammate, key=key)), "enrolment": signed},
        follow=True,
    )  # fmt: skip
    assert "Second factor enabled" in response.content.decode()
    device = TOTPDevice.objects.get(user=teammate, confirmed=True)

    client.post("/accounts/logout/")
    response = client.post("/accounts/login/", {"username": teammate.username, "password": PASSWORD})
    assert response.url == "/accounts/verify/"
    assert "_auth_user_id" not in client.session
    assert client.get("/teams/").status_code == 302

    response = client.post(
        "/accounts/verify/", {"otp_token": "000000" if _code(device) != "000000" else "111111"}
    )
    assert "That code is not right" in response.content.decode()
    device.refresh_from_db()
    # The enrolment used this period's code and the wrong code started throttling; let the test go on.
    device.last_t = -1
    device.throttle_reset(commit=False)
    device.save()
    response = client.post("/accounts/verify/", {"otp_token": _code(device)})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(teammate.pk)


@override_settings(HYGIENE_MFA_REQUIRED_FOR_PRIVILEGED=True)
def test_leads_must_enrol_when_the_setting_is_on(client, lead, teammate):
    client_for(client, lead)
    response = client.get("/teams/")
    assert response.status_code == 302
    assert response.url == "/accounts/mfa/"
    client_for(client, teammate)
    assert client.get("/teams/").status_code == 200


def test_idle_session_ends(client, teammate, settings):
    client_for(client, teammate)
    assert client.get("/teams/").status_code == 200
    session = client.session
    session["hygiene_last_seen"] = (
        timezone.now() - settings.SESSION_IDLE_TIMEOUT - dt.timedelta(seconds=5)
    ).timestamp()
    session.save()
    response = client.get("/teams/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_session_ends_after_the_absolute_timeout_even_when_active(client, teammate, settings):
    client_for(client, teammate)
    client.get("/teams/")
    session = client.session
    started = timezone.now() - settings.SESSION_ABSOLUTE_TIMEOUT - dt.timedelta(seconds=5)
    session["hygiene_login_at"] = started.timestamp()
    session.save()
    assert client.get("/teams/").status_code == 302


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/accounts/login/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'self'" in policy
    assert "http" not in policy
    assert "cdn" not in response.content.decode().lower()


def test_openapi_schema_and_offline_docs_are_served(client, teammate):
    client_for(client, teammate)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/tokens/" in schema["paths"]
    docs = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in docs
    assert "//cdn" not in docs and "unpkg" not in docs


def test_api_refuses_anonymous_callers(api_client):
    assert api_client.get("/api/v1/teams/").status_code in (401, 403)


def _production_settings_import(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "import django; django.setup()"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "hygiene.settings.production", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_to_start_without_secret_key_or_hosts():
    base = {
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
    }
    missing_key = _production_settings_import({**base, "ALLOWED_HOSTS": "example.org"})
    assert missing_key.returncode != 0
    assert "SECRET_KEY must be set" in missing_key.stderr
    missing_hosts = _production_settings_import({**base, "SECRET_KEY": "k" * 60})
    assert missing_hosts.returncode != 0
    assert "ALLOWED_HOSTS must be set" in missing_hosts.stderr


def _enrol(user) -> TOTPDevice:
    device = TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=True)
    return device


def _fresh(device: TOTPDevice) -> TOTPDevice:
    """Let the device accept this period's code again (tests reuse one 30-second period)."""
    device.refresh_from_db()
    device.last_t = -1
    device.throttle_reset(commit=False)
    device.save()
    return device


def test_unenrolled_lead_under_the_requirement_cannot_use_the_api_through_the_session(
    client, unenrolled_lead, team_a
):
    client_for(client, unenrolled_lead)
    assert client.get("/teams/").status_code == 302
    response = client.get("/api/v1/teams/")
    assert response.status_code == 403
    assert "second factor" in response.json()["detail"]
    expires = (timezone.now() + dt.timedelta(days=5)).isoformat()
    response = client.post(
        "/api/v1/tokens/",
        {"name": "escape", "actions": ["read"], "expires_at": expires},
        content_type="application/json",
    )
    assert response.status_code == 403
    from hygiene.models import ApiToken

    assert not ApiToken.objects.exists()


def test_token_issuance_refuses_an_unenrolled_lead_under_the_requirement(api_client, unenrolled_lead):
    expires = (timezone.now() + dt.timedelta(days=5)).isoformat()
    response = api_client.post(
        "/api/v1/auth/token/",
        {"username": unenrolled_lead.username, "password": PASSWORD, "name": "ci", "actions": ["read"],
         "expires_at": expires},
        format="json",
    )  # fmt: skip
    assert response.status_code == 403
    assert "second factor" in response.json()["detail"]


def test_token_issuance_asks_an_enrolled_person_for_the_code(api_client, teammate):
    device = _enrol(teammate)
    body = {
        "username": teammate.username, "password": PASSWORD, "name": "ci", "actions": ["read"],
        "expires_at": (timezone.now() + dt.timedelta(days=5)).isoformat(),
    }  # fmt: skip
    response = api_client.post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 400
    assert "otp_token" in response.json()
    wrong = "000000" if _code(device) != "000000" else "111111"
    response = api_client.post("/api/v1/auth/token/", {**body, "otp_token": wrong}, format="json")
    assert response.status_code == 400
    _fresh(device)
    response = api_client.post("/api/v1/auth/token/", {**body, "otp_token": _code(device)}, format="json")
    assert response.status_code == 201


def test_session_of_an_enrolled_person_without_the_code_is_refused_on_pages_and_api(client, teammate):
    _enrol(teammate)
    client_for(client, teammate)  # a session that never passed the second factor
    assert client.get("/api/v1/me/").status_code == 403
    response = client.get("/teams/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_opening_the_mfa_page_writes_nothing(client, teammate):
    from hygiene.models import AuditEntry

    client_for(client, teammate)
    before = AuditEntry.objects.count()
    assert "<svg" in client.get("/accounts/mfa/").content.decode()
    assert "<svg" in client.get("/accounts/mfa/").content.decode()
    assert not TOTPDevice.objects.filter(user=teammate).exists()
    assert AuditEntry.objects.count() == before


def test_enrolment_keeps_its_key_across_a_wrong_code_and_then_confirms(client, teammate):
    client_for(client, teammate)
    page = client.get("/accounts/mfa/").content.decode()
    signed = page.split('name="enrolment" value="')[1].split('"')[0]
    from hygiene.services.mfa import enrolment_device, enrolment_key_from

    device = enrolment_device(user=teammate, key=enrolment_key_from(user=teammate, signed=signed))
    wrong = "000000" if _code(device) != "000000" else "111111"
    response = client.post("/accounts/mfa/", {"otp_token": wrong, "enrolment": signed})
    assert response.status_code == 400
    assert signed in response.content.decode()
    response = client.post("/accounts/mfa/", {"otp_token": _code(device), "enrolment": signed}, follow=True)
    assert "Second factor enabled" in response.content.decode()
    assert TOTPDevice.objects.filter(user=teammate, confirmed=True).count() == 1


def test_enrolment_key_of_another_person_is_refused(client, teammate, owner):
    from hygiene.services.mfa import enrolment_device, enrolment_key_new

    key, signed = enrolment_key_new(user=owner)
    client_for(client, teammate)
    code = _code(enrolment_device(user=owner, key=key))
    response = client.post("/accounts/mfa/", {"otp_token": code, "enrolment": signed})
    assert response.status_code == 400
    assert not TOTPDevice.objects.filter(user=teammate).exists()


def _verified_session(client, user, device):
    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    client.post("/accounts/verify/", {"otp_token": _code(_fresh(device))})
    assert client.session["_auth_user_id"] == str(user.pk)


def test_removing_the_second_factor_takes_the_password_and_a_current_code(client, teammate):
    device = _enrol(teammate)
    _verified_session(client, teammate, device)
    page = client.get("/accounts/mfa/").content.decode()
    assert 'name="password"' in page and 'name="otp_token"' in page
    assert client.post("/accounts/mfa/remove/").status_code == 400
    _fresh(device)
    response = client.post("/accounts/mfa/remove/", {"password": "wrong", "otp_token": _code(device)})
    assert "password is not right" in response.content.decode()
    wrong = "000000" if _code(device) != "000000" else "111111"
    response = client.post("/accounts/mfa/remove/", {"password": PASSWORD, "otp_token": wrong})
    assert "code is not right" in response.content.decode()
    assert TOTPDevice.objects.filter(user=teammate).exists()
    _fresh(device)
    response = client.post(
        "/accounts/mfa/remove/", {"password": PASSWORD, "otp_token": _code(device)}, follow=True
    )
    assert "Second factor removed" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=teammate).exists()


def test_removing_the_second_factor_is_refused_where_the_role_requires_it(client, unenrolled_lead):
    device = _enrol(unenrolled_lead)
    _verified_session(client, unenrolled_lead, device)
    page = client.get("/accounts/mfa/").content.decode()
    assert "cannot be removed" in page
    _fresh(device)
    response = client.post(
        "/accounts/mfa/remove/", {"password": PASSWORD, "otp_token": _code(device)}, follow=True
    )
    assert "requires a second factor" in response.content.decode()
    assert TOTPDevice.objects.filter(user=unenrolled_lead).exists()
