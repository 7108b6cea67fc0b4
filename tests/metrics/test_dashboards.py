"""The dashboards: who sees which numbers, and every number leads to exactly the rows it counts."""

import datetime as dt
import re
from html import unescape

import pytest

from findings.checks import CheckType
from metrics.services.snapshots import snapshot_backfill, snapshot_compute_day
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def computed(history):
    snapshot_backfill(since=history.day(0), until=history.today - dt.timedelta(days=1))
    snapshot_compute_day(day=history.today)
    return history


def _tile(response, key):
    return next(tile for tile in response.context["dashboard"].tiles if tile.metric.key == key)


def _list_count(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["page"].paginator.count


def test_overview_is_the_home_page_with_charts_and_formulas(client, lead, computed):
    client_for(client, lead)
    response = client.get("/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Time to patch by severity" in page
    assert "Kaplan–Meier" in page  # the formula beside the chart
    assert 'id="chart-data-ttp"' in page
    assert "vendor/plotly.min.js" in page
    assert "Open incidents" in page  # the incidents app's metric, valued through the registry


def test_members_numbers_come_only_from_their_teams(client, teammate, outsider, lead, computed):
    client_for(client, teammate)
    assert _tile(client.get("/"), "open_past_sla").value.value == 1  # f3 (f6 is not past SLA)
    mine = client.get("/").context["dashboard"]
    assert [team["slug"] for team in mine.teams] == ["research"]
    client_for(client, outsider)
    theirs = client.get("/").context["dashboard"]
    assert [team["slug"] for team in theirs.teams] == ["platform"]
    assert _tile(client.get("/"), "open_past_sla").value.value == 1  # f5 on the gateway
    assert client.get("/metrics/teams/research/").status_code == 404
    client_for(client, lead)
    assert _tile(client.get("/"), "open_past_sla").value.value == 2


def test_auditor_numbers_exclude_restricted_data_and_say_how_much(client, auditor, lead, computed):
    client_for(client, auditor)
    response = client.get("/metrics/audit/")
    dashboard = response.context["dashboard"]
    assert dashboard.hidden_restricted == 1  # f6 on the restricted vault
    assert "1 open finding on restricted assets is left out" in response.content.decode()
    open_chart = next(chart for chart in dashboard.charts if chart.key == "open")
    today_row = open_chart.rows[-1]
    assert sum(cell[0] for cell in today_row[1:]) == 2  # f3 and f5, not f6
    assert "vault" not in client.get(today_row[-1][1] if today_row[-1][0] else "/").content.decode()
    overview = client.get("/").context["dashboard"]
    assert overview.hidden_restricted == 1
    client_for(client, lead)
    assert client.get("/metrics/audit/").context["dashboard"].hidden_restricted == 1


def test_members_are_refused_the_auditor_view_with_a_reason(client, teammate):
    client_for(client, teammate)
    response = client.get("/metrics/audit/")
    assert response.status_code == 403
    assert "for auditors and security leads" in response.content.decode()


def test_every_findings_drilldown_returns_exactly_the_rows_counted(client, lead, computed):
    client_for(client, lead)
    for month in (computed.day(0), computed.day(40), computed.today):
        dashboard = client.get("/", {"month": month.strftime("%Y-%m")}).context["dashboard"]
        checked = 0
        for chart in dashboard.charts:
            for row in chart.rows:
                for cell in row:
                    if (
                        isinstance(cell, tuple)
                        and cell[1].startswith("/findings/")
                        and isinstance(cell[0], int)
                    ):
                        assert _list_count(client, cell[1]) == cell[0], (chart.key, row, cell[1])
                        checked += 1
        assert checked > 20


def test_todays_point_of_the_open_trend_equals_the_live_list(client, teammate, computed):
    client_for(client, teammate)
    dashboard = client.get("/").context["dashboard"]
    open_chart = next(chart for chart in dashboard.charts if chart.key == "open")
    today = open_chart.rows[-1]
    assert today[0] == computed.today.isoformat()
    high = today[2]
    assert high[0] == _list_count(client, "/findings/?status=open&severity=high") == 1
    # The stored snapshot of today agrees with the live count as well.
    yesterday = open_chart.rows[-2]
    assert yesterday[2][0] == _list_count(client, yesterday[2][1])


def test_clicking_through_a_tile_opens_the_list_it_counts(client, lead, computed):
    client_for(client, lead)
    tile = _tile(client.get("/"), "open_past_sla")
    assert _list_count(client, tile.url) == tile.value.value == 2


def test_filters_stay_in_the_url_and_unknown_teams_are_refused(client, lead, teammate, computed):
    client_for(client, lead)
    response = client.get("/", {"team": "platform", "environment": "development"})
    assert _tile(response, "open_past_sla").value.value == 1
    csv_link = re.search(r'href="(/metrics/charts/ttp\.csv[^"]*)"', response.content.decode()).group(1)
    assert "team=platform" in unescape(csv_link)
    client_for(client, teammate)
    response = client.get("/", {"team": "platform"}, follow=True)
    assert "not one you can see" in response.content.decode()
    assert _tile(response, "open_past_sla").value.value == 1  # their own team's f3


def test_chart_numbers_download_as_csv(client, lead, computed):
    client_for(client, lead)
    response = client.get("/metrics/charts/ttp.csv", {"month": computed.day(5).strftime("%Y-%m")})
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[0].startswith("Severity,Median (days)")
    assert body.splitlines()[1].startswith("Critical,5,5,1")
    assert client.get("/metrics/charts/nope.csv").status_code == 404


def test_no_data_shows_a_sentence_not_an_empty_axis(client, teammate):
    client_for(client, teammate)
    page = client.get("/").content.decode()
    assert "No finding was patched in" in page
    assert "No daily snapshot covers this period yet" in page
    assert 'id="chart-data-ttp"' not in page


def test_coverage_cells_lead_to_the_assets_not_scanned(client, lead, computed):
    client_for(client, lead)
    chart = next(c for c in client.get("/").context["dashboard"].charts if c.key == "coverage")
    model_row = next(row for row in chart.rows if row[0] == "Model")
    # The vault was scanned with Trivy yesterday (dependencies and secrets), never for static analysis.
    assert model_row[2][0] == "1 (1)"
    assert [a.name for a in client.get(model_row[2][1]).context["page"].object_list] == []
    static = 2 + [c for c, _ in CheckType.choices].index("static_analysis")
    assert model_row[static][0] == "0 (0)"
    assert [a.name for a in client.get(model_row[static][1]).context["page"].object_list] == ["vault"]


def test_comparisons_show_teams_and_asset_kinds_with_lists_behind_each_number(client, lead, computed):
    client_for(client, lead)
    response = client.get("/metrics/compare/", {"month": computed.day(45).strftime("%Y-%m")})
    comparison = response.context["comparison"]
    research = next(row for row in comparison.teams if row["slug"] == "research")
    this_month = research["cells"][0]
    assert this_month["patched"] == 2  # f2 on day 40, f1 on day 45
    assert _list_count(client, this_month["patched_url"]) == 2
    images = next(row for row in comparison.kinds if row["kind"] == "container_image")
    assert images["cells"][0]["patched"] == _list_count(client, images["cells"][0]["patched_url"]) == 2
    last_month = images["cells"][1]
    assert last_month["new"] == _list_count(client, last_month["new_url"])
    assert "Which teams improve, which slip" in response.content.decode()


def test_overview_points_to_the_upload_before_any_import(client, teammate):
    client_for(client, teammate)
    page = client.get("/").content.decode()
    assert "No scans imported yet." in page
    assert 'href="/findings/upload/"' in page
