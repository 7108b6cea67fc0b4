"""Who sees and changes teams and tokens, through pages and the API."""

import pytest

from tests.conftest import client_for
from tests.factories import ApiTokenFactory

pytestmark = pytest.mark.django_db


def test_member_sees_own_team_page_but_not_another_team(client, teammate, team_a, team_b):
    client_for(client, teammate)
    assert client.get(f"/teams/{team_a.slug}/").status_code == 200
    assert client.get(f"/teams/{team_b.slug}/").status_code == 404


def test_member_api_lists_only_own_teams_and_404s_others(api_client, teammate, team_a, team_b):
    api_client.force_authenticate(teammate)
    slugs = [team["slug"] for team in api_client.get("/api/v1/teams/").json()]
    assert slugs == [team_a.slug]
    assert api_client.get(f"/api/v1/teams/{team_b.slug}/").status_code == 404


def test_auditor_reads_every_team_but_cannot_write(api_client, auditor, team_a, team_b):
    api_client.force_authenticate(auditor)
    assert {t["slug"] for t in api_client.get("/api/v1/teams/").json()} == {team_a.slug, team_b.slug}
    response = api_client.put(
        f"/api/v1/teams/{team_a.slug}/", {"name": "X", "function": "research"}, format="json"
    )
    assert response.status_code == 403


def test_expired_auditor_is_refused_and_signed_out(client, expired_auditor, team_a):
    client_for(client, expired_auditor)
    response = client.get("/teams/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login")
    client.logout()
    response = client.post(
        "/accounts/login/", {"username": "old-auditor", "password": "correct horse battery staple"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_champion_adds_member_but_plain_member_cannot(client, owner, teammate, outsider, team_a):
    client_for(client, teammate)
    response = client.post(f"/teams/{team_a.slug}/", {"username": outsider.username, "role": "member"})
    assert response.status_code == 403
    client_for(client, owner)
    response = client.post(
        f"/teams/{team_a.slug}/", {"username": outsider.username, "role": "member"}, follow=True
    )
    assert "outsider is now member of Research" in response.content.decode()


def test_token_authenticates_until_revoked(api_client, teammate, team_a):
    token = ApiTokenFactory(user=teammate, team=team_a)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.clear}")
    assert api_client.get("/api/v1/teams/").status_code == 200
    api_client.force_authenticate(None)
    from hygiene.services.tokens import token_revoke

    token_revoke(actor=teammate, token=token)
    assert api_client.get("/api/v1/teams/").status_code == 401


def test_guest_granted_by_name_sees_the_team_page_and_loses_it_on_revoke(client, owner, outsider, team_a):
    client_for(client, owner)
    client.post(f"/teams/{team_a.slug}/guests/", {"username": outsider.username})
    client_for(client, outsider)
    assert client.get(f"/teams/{team_a.slug}/").status_code == 200
    client_for(client, owner)
    client.post(f"/teams/{team_a.slug}/guests/{outsider.pk}/remove/")
    client_for(client, outsider)
    assert client.get(f"/teams/{team_a.slug}/").status_code == 404


def test_guest_grant_is_a_permission_change_in_the_audit_log(client, owner, outsider, team_a):
    from hygiene.models import AuditEntry

    client_for(client, owner)
    client.post(f"/teams/{team_a.slug}/guests/", {"username": outsider.username})
    entry = AuditEntry.objects.filter(object_type="guardian_userobjectpermission").latest("id")
    assert entry.action == "insert"
    assert entry.actor_label == "owner"


def test_plain_member_cannot_grant_guests(client, teammate, outsider, team_a):
    client_for(client, teammate)
    assert client.post(f"/teams/{team_a.slug}/guests/", {"username": outsider.username}).status_code == 403


def test_lead_makes_someone_an_auditor_until_a_date_and_access_then_ends(client, lead, teammate):
    import datetime as dt

    from hygiene.permissions import is_auditor

    client_for(client, lead)
    response = client.post(f"/people/{teammate.pk}/role/", {"role": "Auditor"}, follow=True)
    assert "must end at a date" in response.content.decode()
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    client.post(f"/people/{teammate.pk}/role/", {"role": "Auditor", "access_until": tomorrow})
    teammate.refresh_from_db()
    assert is_auditor(teammate)
    assert teammate.profile.access_expires_at.date().isoformat() == tomorrow


def test_only_security_leads_change_global_roles(client, auditor, teammate):
    client_for(client, auditor)
    assert client.get("/people/").status_code == 200
    assert client.post(f"/people/{teammate.pk}/role/", {"role": "Security lead"}).status_code == 403
    client_for(client, teammate)
    assert client.get("/people/").status_code == 403


# The personas of issue 7: a token of another team, a revoked token, an unenrolled privileged user
# under the second-factor requirement (fixtures in tests/conftest.py).


@pytest.fixture
def team_a_things(team_a, owner):
    from tests.factories.assets import AssetFactory
    from tests.factories.findings import FindingFactory, ImportJobFactory

    asset = AssetFactory(team=team_a, name="Team A model")
    finding = FindingFactory(asset=asset)
    job = ImportJobFactory(asset=asset)
    return {"asset": asset, "finding": finding, "job": job}


def test_token_of_another_team_reaches_none_of_team_a_s_things(
    api_client, team_b_token, team_a, team_a_things
):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {team_b_token.clear}")
    asset, finding, job = team_a_things["asset"], team_a_things["finding"], team_a_things["job"]
    for path in (
        f"/api/v1/teams/{team_a.slug}/",
        f"/api/v1/teams/{team_a.slug}/members/",
        f"/api/v1/assets/{asset.pk}/",
        f"/api/v1/assets/{asset.pk}/lineage/",
        f"/api/v1/findings/{finding.pk}/",
        f"/api/v1/scans/{job.pk}/",
    ):
        assert api_client.get(path).status_code == 404, path
    assert api_client.get("/api/v1/assets/").json()["count"] == 0
    assert api_client.get("/api/v1/findings/").json()["count"] == 0
    assert api_client.get("/api/v1/audit-log/").json()["count"] == 0
    assert api_client.post(f"/api/v1/assets/{asset.pk}/retire/").status_code == 404
    response = api_client.post(
        "/api/v1/tokens/",
        {"name": "pivot", "team": team_a.slug, "actions": ["read"], "expires_at": "2030-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code in (400, 403)
    response = api_client.post("/api/v1/teams/", {"name": "Mine now", "function": "research"}, format="json")
    assert response.status_code == 403


def test_revoked_token_is_refused_on_every_route(api_client, revoked_token, team_a, team_a_things):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {revoked_token.clear}")
    asset = team_a_things["asset"]
    for method, path in (
        ("get", "/api/v1/me/"),
        ("get", f"/api/v1/teams/{team_a.slug}/"),
        ("get", f"/api/v1/assets/{asset.pk}/"),
        ("get", "/api/v1/findings/"),
        ("get", "/api/v1/audit-log/"),
        ("post", "/api/v1/tokens/"),
        ("post", f"/api/v1/assets/{asset.pk}/retire/"),
        ("post", "/api/v1/scans/"),
    ):
        assert getattr(api_client, method)(path).status_code == 401, path


def test_unenrolled_privileged_user_under_the_requirement_is_stopped_on_every_path(
    client, api_client, unenrolled_lead, team_a, team_a_things
):
    from tests.factories.hygiene import PASSWORD

    client_for(client, unenrolled_lead)
    asset = team_a_things["asset"]
    for path in ("/", "/teams/", f"/assets/{asset.pk}/", "/findings/", "/audit-log/", "/tokens/"):
        response = client.get(path)
        assert (response.status_code, response.url) == (302, "/accounts/mfa/"), path
    for path in (f"/api/v1/assets/{asset.pk}/", "/api/v1/findings/", "/api/v1/audit-log/", "/api/v1/me/"):
        assert client.get(path).status_code == 403, path
    assert client.post("/api/v1/teams/", {"name": "X", "function": "research"}).status_code == 403
    response = api_client.post(
        "/api/v1/auth/token/",
        {"username": unenrolled_lead.username, "password": PASSWORD, "name": "ci", "actions": ["read"],
         "expires_at": "2030-01-01T00:00:00Z"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 403
    assert client.get("/accounts/mfa/").status_code == 200  # where they can enrol
