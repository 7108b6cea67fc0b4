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


def _mint(api_client, **body):
    payload = {"name": "minted", "actions": ["read"], **body}
    payload.setdefault("expires_at", (timezone.now() + dt.timedelta(days=10)).isoformat())
    return api_client.post("/api/v1/tokens/", payload, format="json")


def test_scoped_token_cannot_mint_an_unscoped_or_wider_token(api_client, owner, team_a):
    token = ApiTokenFactory(user=owner, team=team_a, actions=["read", "write"])
    _authorize(api_client, token)
    year = (timezone.now() + dt.timedelta(days=360)).isoformat()
    assert _mint(api_client, actions=["read", "write", "scans:push"], expires_at=year).status_code == 403
    assert _mint(api_client, team=None, actions=["read"]).status_code == 403
    assert _mint(api_client, team=team_a.slug, actions=["scans:push"]).status_code == 403
    response = _mint(api_client, team=team_a.slug, actions=["read"], expires_at=year)
    assert response.status_code == 400
    assert "outlives" in str(response.json())
    assert ApiToken.objects.filter(name="minted").count() == 0


def test_scoped_token_mints_a_narrower_token_of_its_team(api_client, owner, team_a):
    token = ApiTokenFactory(user=owner, team=team_a, actions=["read", "write"])
    response = _mint(_authorize(api_client, token), team=team_a.slug, actions=["read"])
    assert response.status_code == 201
    minted = ApiToken.objects.get(name="minted")
    assert (minted.team_id, minted.actions) == (team_a.pk, ["read"])
    assert minted.expires_at <= token.expires_at


def test_team_token_of_a_lead_cannot_create_teams_or_levels_or_roles(api_client, lead, team_a, teammate):
    token = ApiTokenFactory(user=lead, team=team_a, actions=["read", "write"])
    _authorize(api_client, token)
    response = api_client.post("/api/v1/teams/", {"name": "Shadow", "function": "research"}, format="json")
    assert response.status_code == 403
    response = api_client.post(
        "/api/v1/classification-levels/", {"name": "Top secret", "rank": 9}, format="json"
    )
    assert response.status_code == 403
    from django.core.exceptions import PermissionDenied

    from hygiene.roles import SECURITY_LEAD
    from hygiene.services.teams import user_set_global_role

    lead.token_team_id, lead.token_actions = team_a.pk, {"read", "write"}
    with pytest.raises(PermissionDenied):
        user_set_global_role(actor=lead, user=teammate, role=SECURITY_LEAD)


def test_unscoped_token_of_a_lead_still_creates_teams(api_client, lead):
    token = ApiTokenFactory(user=lead, actions=["read", "write"])
    response = _authorize(api_client, token).post(
        "/api/v1/teams/", {"name": "New team", "function": "research"}, format="json"
    )
    assert response.status_code == 201


def test_team_token_shows_only_its_team_among_its_owner_s_memberships(api_client, owner, team_a, team_b):
    from tests.factories import MembershipFactory

    MembershipFactory(team=team_b, user=owner)
    token = ApiTokenFactory(user=owner, team=team_b)
    teams = _authorize(api_client, token).get("/api/v1/me/").json()["teams"]
    assert [team["slug"] for team in teams] == [team_b.slug]
