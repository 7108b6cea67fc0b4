"""API tokens: shown once, hashed at rest, limited to a team and actions, refused when expired or revoked."""

import datetime as dt

import pytest
from django.utils import timezone

from hygiene.models import ApiToken
from tests.conftest import client_for
from tests.factories import ApiTokenFactory
from tests.factories.hygiene import PASSWORD

pytestmark = pytest.mark.django_db


def _authorize(api_client, token):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.clear}")
    return api_client


def test_token_page_shows_the_secret_once_and_stores_only_a_hash(client, teammate, team_a):
    client_for(client, teammate)
    response = client.post(
        "/tokens/",
        {"name": "CI", "team": team_a.slug, "actions": ["read", "scans:push"], "expires_on": "2099-01-01"},
    )
    assert response.status_code == 400  # a year at most
    expires = (timezone.now() + dt.timedelta(days=30)).date().isoformat()
    response = client.post(
        "/tokens/",
        {"name": "CI", "team": team_a.slug, "actions": ["read", "scans:push"], "expires_on": expires},
    )
    page = response.content.decode()
    token = ApiToken.objects.get(name="CI")
    secret = page.split('id="new-token">')[1].split("<")[0]
    assert secret.startswith(f"hyg_{token.prefix}_")
    assert secret.split("_", 2)[2] not in token.key_hash
    assert secret not in client.get("/tokens/").content.decode()


def test_expired_token_is_refused(api_client, teammate):
    token = ApiTokenFactory(user=teammate)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert _authorize(api_client, token).get("/api/v1/teams/").status_code == 401


def test_revoked_token_is_refused_through_the_page(client, api_client, teammate):
    token = ApiTokenFactory(user=teammate)
    assert _authorize(api_client, token).get("/api/v1/me/").status_code == 200
    client_for(client, teammate)
    client.post(f"/tokens/{token.pk}/revoke/")
    assert _authorize(api_client, token).get("/api/v1/me/").status_code == 401


def test_tampered_token_is_refused(api_client, teammate):
    token = ApiTokenFactory(user=teammate)
    token.clear = token.clear[:-2] + ("AA" if not token.clear.endswith("AA") else "BB")
    assert _authorize(api_client, token).get("/api/v1/me/").status_code == 401


def test_read_token_cannot_write(api_client, owner, team_a):
    token = ApiTokenFactory(user=owner, team=team_a, actions=["read"])
    response = _authorize(api_client, token).put(
        f"/api/v1/teams/{team_a.slug}/", {"name": "Renamed", "function": "research"}, format="json"
    )
    assert response.status_code == 403


def test_team_token_sees_only_its_team_even_for_a_security_lead(api_client, lead, team_a, team_b):
    token = ApiTokenFactory(user=lead, team=team_a)
    slugs = [team["slug"] for team in _authorize(api_client, token).get("/api/v1/teams/").json()]
    assert slugs == [team_a.slug]
    assert api_client.get(f"/api/v1/teams/{team_b.slug}/").status_code == 404


def test_token_records_when_it_was_last_used(api_client, teammate):
    token = ApiTokenFactory(user=teammate)
    _authorize(api_client, token).get("/api/v1/me/")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_auditor_tokens_can_only_read(api_client, auditor):
    response = api_client.post(
        "/api/v1/auth/token/",
        {"username": auditor.username, "password": PASSWORD, "name": "export", "actions": ["write"],
         "expires_at": (timezone.now() + dt.timedelta(days=1)).isoformat()},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert "only read" in str(response.json())


def test_token_endpoint_issues_a_token_and_locks_out_after_failures(api_client, teammate):
    payload = {"username": teammate.username, "name": "bootstrap", "actions": ["read"],
               "expires_at": (timezone.now() + dt.timedelta(days=1)).isoformat()}  # fmt: skip
    issued = api_client.post("/api/v1/auth/token/", {**payload, "password": PASSWORD}, format="json")
    assert issued.status_code == 201
    assert issued.json()["token"].startswith("hyg_")
    for _ in range(5):
        failed = api_client.post("/api/v1/auth/token/", {**payload, "password": "wrong"}, format="json")
        assert failed.status_code in (401, 429)
    locked = api_client.post("/api/v1/auth/token/", {**payload, "password": PASSWORD}, format="json")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.json()["detail"]


def test_only_the_owner_or_a_security_lead_can_revoke_a_token(client, teammate, outsider, lead):
    from django.core.exceptions import PermissionDenied

    from hygiene.services.tokens import token_revoke

    token = ApiTokenFactory(user=teammate)
    client_for(client, outsider)
    assert client.post(f"/tokens/{token.pk}/revoke/").status_code == 404
    with pytest.raises(PermissionDenied):
        token_revoke(actor=outsider, token=token)
    assert token_revoke(actor=lead, token=token).status == "revoked"
