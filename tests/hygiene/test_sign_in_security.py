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
    device = TOTPDevice.objects.get(user=teammate, confirmed=False)
    response = client.post("/accounts/mfa/", {"otp_token": _code(device)}, follow=True)
    assert "Second factor enabled" in response.content.decode()

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
