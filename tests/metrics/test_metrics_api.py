"""Metric values and series through the API: same numbers and permissions as the dashboards."""

import datetime as dt

import pytest

from metrics.services.snapshots import snapshot_backfill, snapshot_compute_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def computed(history):
    snapshot_backfill(since=history.day(0), until=history.today - dt.timedelta(days=1))
    snapshot_compute_day(day=history.today)
    return history


def _by_key(response):
    return {metric["key"]: metric for metric in response.json()}


def test_metric_list_gives_values_formulas_and_comparisons(api_client, lead, computed):
    api_client.force_authenticate(lead)
    month = computed.day(45).strftime("%Y-%m")
    metrics = _by_key(api_client.get("/api/v1/metrics/", {"team": "research", "month": month}))
    ttp = metrics["ttp_p50_critical"]
    assert ttp["value"]["value"] == 5
    assert "Kaplan–Meier" in ttp["formula"]
    assert set(ttp) >= {"previous_month", "same_month_last_year", "unit", "available"}
    incidents = metrics["incidents_open"]  # valued by the incidents app through the registry
    assert incidents["available"] is True
    assert incidents["value"]["value"] == 0


def test_members_get_only_their_teams_numbers_and_other_teams_are_404(
    api_client, teammate, outsider, computed
):
    api_client.force_authenticate(outsider)
    assert api_client.get("/api/v1/metrics/open_past_sla/").json()["value"]["value"] == 1
    assert api_client.get("/api/v1/metrics/open/", {"team": "research"}).status_code == 404
    api_client.force_authenticate(teammate)
    assert api_client.get("/api/v1/metrics/open/").json()["value"]["value"] == 2  # f3 and f6


def test_auditors_get_no_restricted_numbers(api_client, auditor, computed):
    api_client.force_authenticate(auditor)
    assert api_client.get("/api/v1/metrics/open/").json()["value"]["value"] == 2  # f3 and f5, not f6
    series = api_client.get("/api/v1/metrics/open/series/", {"interval": "day"}).json()["points"]
    assert series[-1] == {"period": computed.today.isoformat(), "value": 2, "count": 2}


def test_daily_series_follow_the_snapshots(api_client, lead, computed):
    api_client.force_authenticate(lead)
    params = {"interval": "day", "from": computed.day(0).isoformat(), "to": computed.day(6).isoformat()}
    points = api_client.get("/api/v1/metrics/open/series/", params).json()["points"]
    # Day 0: f1-f5 open; day 5: f1 patched.
    assert [p["value"] for p in points] == [5, 5, 5, 5, 5, 4, 4]
    monthly = api_client.get("/api/v1/metrics/sla_compliance/series/").json()
    assert monthly["interval"] == "month"
    assert len(monthly["points"]) == 12


def test_series_explain_bad_requests(api_client, lead, computed):
    api_client.force_authenticate(lead)
    assert api_client.get("/api/v1/metrics/nope/series/").status_code == 404
    bad = api_client.get("/api/v1/metrics/ttp_p50/series/", {"interval": "day"})
    assert bad.status_code == 400
    assert "interval=month" in str(bad.json())
    assert api_client.get("/api/v1/metrics/open/", {"environment": "moon"}).status_code == 400


def test_the_schema_documents_the_metrics_endpoints(api_client, lead):
    api_client.force_authenticate(lead)
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in ("/api/v1/metrics/", "/api/v1/metrics/{key}/", "/api/v1/metrics/{key}/series/"):
        assert path in schema["paths"]
