"""The findings API answers like the pages: same filters, same visibility, same bulk rules."""

import pytest
from django.utils import timezone

from findings.models import FindingStatus
from tests.factories.assets import AssetFactory, level
from tests.factories.findings import FindingFactory
from tests.factories.hygiene import ApiTokenFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def asset(team_a):
    return AssetFactory(team=team_a, name="llm-serving")


def ids(response):
    return {row["rule_id"] for row in response.json()["results"]}


def test_the_list_takes_the_pages_filters(api_client, asset, teammate):
    FindingFactory(asset=asset, rule_id="CVE-2021-44228", severity="critical", package="log4j-core")
    FindingFactory(asset=asset, rule_id="CVE-2022-0001", severity="low", status=FindingStatus.MITIGATED)
    api_client.force_authenticate(teammate)

    assert ids(api_client.get("/api/v1/findings/")) == {"CVE-2021-44228", "CVE-2022-0001"}
    assert ids(api_client.get("/api/v1/findings/?status=open")) == {"CVE-2021-44228"}
    assert ids(api_client.get("/api/v1/findings/?severity=low,critical&q=log4j")) == {"CVE-2021-44228"}
    assert ids(api_client.get("/api/v1/findings/?q=CVE-2022-0001")) == {"CVE-2022-0001"}


def test_restricted_findings_stay_hidden_from_other_teams_and_auditors(api_client, team_a, outsider, auditor):
    secret = FindingFactory(asset=AssetFactory(team=team_a, classification=level("restricted")))

    for user in (outsider, auditor):
        api_client.force_authenticate(user)
        assert api_client.get("/api/v1/findings/").json()["count"] == 0
        assert api_client.get(f"/api/v1/findings/{secret.pk}/").status_code == 404


def test_a_finding_comes_with_its_history(api_client, asset, owner):
    finding = FindingFactory(asset=asset)
    api_client.force_authenticate(owner)
    api_client.post(
        "/api/v1/findings/bulk-status/",
        {"findings": [finding.pk], "status": "false_positive", "reason": "test fixture"},
        format="json",
    )

    body = api_client.get(f"/api/v1/findings/{finding.pk}/").json()

    assert body["status"] == "false_positive"
    assert body["history"][-1]["label"] == "Open → False positive"
    assert body["history"][-1]["reason"] == "test fixture"


def test_bulk_status_changes_need_a_write_token_and_a_team_member(api_client, asset, owner, auditor):
    finding = FindingFactory(asset=asset)
    payload = {"findings": [finding.pk], "status": "false_positive", "reason": "scanner bug"}
    read_only = ApiTokenFactory(user=owner, actions=["read"])
    writer = ApiTokenFactory(user=owner, actions=["read", "write"])

    api_client.force_authenticate(auditor)
    assert api_client.post("/api/v1/findings/bulk-status/", payload, format="json").status_code == 403
    api_client.force_authenticate(None)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {read_only.clear}")
    assert api_client.post("/api/v1/findings/bulk-status/", payload, format="json").status_code == 403
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {writer.clear}")
    response = api_client.post("/api/v1/findings/bulk-status/", payload, format="json")

    assert response.status_code == 200
    assert response.json() == {"status": "false_positive", "changed": 1, "unchanged": 0}


def test_bulk_status_explains_bad_input(api_client, asset, owner):
    finding = FindingFactory(asset=asset, status=FindingStatus.RISK_ACCEPTED)
    api_client.force_authenticate(owner)

    blank = api_client.post(
        "/api/v1/findings/bulk-status/",
        {"findings": [finding.pk], "status": "open", "reason": " "},
        format="json",
    )
    accepted = api_client.post(
        "/api/v1/findings/bulk-status/",
        {"findings": [finding.pk], "status": "open", "reason": "try"},
        format="json",
    )

    assert blank.status_code == 400
    assert "reason" in blank.json()
    assert accepted.json() == {"status": "open", "changed": 0, "unchanged": 1}


def test_the_schema_documents_findings_and_sources(api_client, lead):
    api_client.force_authenticate(lead)

    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    for path in ("/api/v1/findings/", "/api/v1/findings/{id}/", "/api/v1/findings/bulk-status/",
                 "/api/v1/scan-sources/", "/api/v1/scan-sources/{id}/pull/"):  # fmt: skip
        assert path in schema["paths"]


def test_teammate_marks_a_team_finding_false_positive_and_reopens_it(api_client, asset, teammate):
    finding = FindingFactory(asset=asset)
    api_client.force_authenticate(teammate)

    marked = api_client.post(
        "/api/v1/findings/bulk-status/",
        {"findings": [finding.pk], "status": "false_positive", "reason": "test code only"},
        format="json",
    )
    reopened = api_client.post(
        "/api/v1/findings/bulk-status/",
        {"findings": [finding.pk], "status": "open", "reason": "ships after all"},
        format="json",
    )

    assert marked.json()["changed"] == 1
    assert reopened.json()["changed"] == 1
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN


def test_the_list_counts_up_to_a_cap_and_says_when_more_match(api_client, asset, teammate, monkeypatch):
    from hygiene.api.pagination import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "cap", 3)
    FindingFactory.create_batch(5, asset=asset)
    api_client.force_authenticate(teammate)

    capped = api_client.get("/api/v1/findings/").json()
    few = api_client.get("/api/v1/findings/?severity=critical").json()

    # Pages stop at the cap: narrowing the filters reaches the rest.
    assert (capped["count"], capped["count_is_capped"], len(capped["results"])) == (3, True, 3)
    assert capped["next"] is None
    assert (few["count"], few["count_is_capped"]) == (0, False)


def test_the_list_takes_the_metrics_drilldown_filters(api_client, asset, teammate):
    FindingFactory(asset=asset, rule_id="CVE-2024-0001", scanner="sarif:codeql")
    api_client.force_authenticate(teammate)
    today = timezone.localdate().isoformat()
    assert ids(api_client.get("/api/v1/findings/?scanner=sarif")) == {"CVE-2024-0001"}
    assert ids(api_client.get(f"/api/v1/findings/?found_from={today}&environment=development")) == {
        "CVE-2024-0001"
    }
    assert ids(api_client.get("/api/v1/findings/?environment=production")) == set()
    assert ids(api_client.get(f"/api/v1/findings/?open_on={today}")) == {"CVE-2024-0001"}
    assert api_client.get("/api/v1/findings/?open_on=yesterday").status_code == 400


@pytest.mark.parametrize("who", ["teammate", "auditor", "lead"])
def test_the_list_runs_the_same_queries_whatever_the_rows_shown(api_client, asset, request, who):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    FindingFactory.create_batch(3, asset=asset)
    api_client.force_authenticate(request.getfixturevalue(who))
    api_client.get("/api/v1/findings/")  # warms the content-type and permission caches

    with CaptureQueriesContext(connection) as few:
        assert len(api_client.get("/api/v1/findings/").json()["results"]) == 3
    FindingFactory.create_batch(47, asset=asset)
    with CaptureQueriesContext(connection) as many:
        response = api_client.get("/api/v1/findings/")

    assert len(response.json()["results"]) == 50
    assert {row["team"] for row in response.json()["results"]} == {asset.team.slug}
    assert len(many.captured_queries) == len(few.captured_queries) <= 9
