"""Control compliance with a history: the daily control snapshot, computed by hand on a small fixed set
of assessments, scoped like the assessment list, recorded only while a day is current or at its close,
and read by the dashboards and the API for past months.

The assessments (``controls``):
- C1 (vulnerability, mapped to framework "hyg"): trainer (research, development) passing, vault
  (research, production, restricted) failing, gateway (platform, production) passing;
- C2 (secrets): trainer excepted, vault not applicable, gateway not assessed;
- C3 (governance, team-level): research failing, platform passing.
Research owns C1; C2 has an ownership row without an owner; platform owns C3.
"""

import datetime as dt
from dataclasses import dataclass

import pytest
import time_machine
from django.utils import timezone

from controls.metrics import compliance_for, compliance_on
from controls.models import (
    Assessment,
    ControlMapping,
    ControlOwnership,
    Framework,
    Requirement,
)
from controls.services.assessments import compliance_counts_rebuild
from metrics.dashboards import Period, period_context
from metrics.definitions import METRICS, value_of
from metrics.models import ControlSnapshot
from metrics.selectors import Scope
from metrics.services.snapshots import snapshot_backfill, snapshot_compute_controls, snapshot_compute_day
from tests.conftest import client_for
from tests.factories.assets import AssetFactory
from tests.factories.controls import ControlFactory

pytestmark = pytest.mark.django_db


@dataclass
class Controls:
    c1: object
    c2: object
    c3: object
    trainer: object
    vault: object
    gateway: object


def _assess(control, status, *, asset=None, team=None):
    team = team or asset.team
    restricted = bool(asset and asset.is_restricted)
    return Assessment.objects.create(
        control=control, asset=asset, team=team, restricted=restricted, status=status
    )


@pytest.fixture
def controls(team_a, team_b, owner):
    trainer = AssetFactory(team=team_a, name="trainer", environment="development")
    vault = AssetFactory(team=team_a, name="vault", environment="production", is_restricted=True)
    gateway = AssetFactory(team=team_b, name="gateway", environment="production")
    c1 = ControlFactory(code="C1", domain="vulnerability")
    c2 = ControlFactory(code="C2", domain="secrets")
    c3 = ControlFactory(code="C3", domain="governance", scope="team")
    framework = Framework.objects.create(slug="hyg", name="Hygiene framework")
    requirement = Requirement.objects.create(framework=framework, identifier="r-1", title="Patch things")
    ControlMapping.objects.create(control=c1, requirement=requirement)
    _assess(c1, "passing", asset=trainer)
    _assess(c1, "failing", asset=vault)
    _assess(c1, "passing", asset=gateway)
    _assess(c2, "excepted", asset=trainer)
    _assess(c2, "not_applicable", asset=vault)
    _assess(c2, "not_assessed", asset=gateway)
    _assess(c3, "failing", team=team_a)
    _assess(c3, "passing", team=team_b)
    compliance_counts_rebuild(team_ids=None)
    ControlOwnership.objects.create(control=c1, team=team_a, owner=owner)
    ControlOwnership.objects.create(control=c2, team=team_a)
    ControlOwnership.objects.create(control=c3, team=team_b, owner=owner)
    return Controls(c1, c2, c3, trainer, vault, gateway)


def _rows(day):
    fields = [
        f.attname
        for f in ControlSnapshot._meta.concrete_fields
        if f.attname not in {"id", "day", "computed_at"}
    ]
    return sorted(ControlSnapshot.objects.filter(day=day).values_list(*fields), key=repr)


def _figures(compliance):
    return (
        compliance.passing,
        compliance.applicable,
        {key[:2]: tuple(cell) for key, cell in compliance.rows.items()},
    )


def _at(day, hour=12):
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


def _last_month():
    first = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    return Period.month(first)


def test_the_snapshot_holds_the_hand_computed_compliance_per_framework_domain_and_team(controls, lead):
    today = timezone.localdate()
    snapshot_compute_day(day=today)
    scope = Scope(user=lead)

    recorded = compliance_on(scope, day=today)

    assert (recorded.passing, recorded.applicable) == (3, 7)
    assert dict(recorded.statuses) == {"passing": 3, "failing": 2, "excepted": 1, "not_assessed": 1}
    assert recorded.rows[("framework", "hyg", "Hygiene framework")] == [2, 3]
    assert recorded.rows[("domain", "vulnerability", "Vulnerability management")] == [2, 3]
    assert recorded.rows[("domain", "secrets", "Secrets")] == [0, 2]
    assert recorded.rows[("domain", "governance", "Governance and people")] == [1, 2]
    assert recorded.rows[("team", "research", "research")] == [1, 4]
    assert recorded.rows[("team", "platform", "platform")] == [2, 3]
    assert _figures(recorded) == _figures(compliance_for(scope))  # the snapshot equals the live figures
    # Team-level assessments have no environment: a chosen environment leaves them out.
    production = Scope(user=lead, environment="production")
    assert (
        compliance_on(production, day=today).passing,
        compliance_on(production, day=today).applicable,
    ) == (1, 3)
    assert _figures(compliance_on(production, day=today)) == _figures(compliance_for(production))
    # The team-level row of C3 has no environment; the ownership pairs sit on each team's own rows.
    c3 = ControlSnapshot.objects.get(day=today, control=controls.c3, team=controls.trainer.team)
    assert (c3.environment, c3.failing, c3.applicable, c3.ownership_pairs, c3.owned) == (None, 1, 1, 1, 0)
    owned = ControlSnapshot.objects.filter(day=today, owned=1).values_list("team__slug", "control__code")
    assert sorted(owned) == [("platform", "C3"), ("research", "C1")]


def test_a_members_snapshot_counts_only_their_teams(controls, teammate, outsider):
    today = timezone.localdate()
    snapshot_compute_day(day=today)

    mine = compliance_on(Scope(user=teammate), day=today)
    assert (mine.passing, mine.applicable) == (1, 4)  # C1 trainer and vault, C2 trainer, C3 research
    assert {key[1] for key in mine.rows if key[0] == "team"} == {"research"}
    theirs = compliance_on(Scope(user=outsider), day=today)
    assert (theirs.passing, theirs.applicable) == (2, 3)
    assert _figures(mine) == _figures(compliance_for(Scope(user=teammate)))


def test_an_auditors_snapshot_excludes_restricted_assessments(controls, auditor, lead):
    today = timezone.localdate()
    snapshot_compute_day(day=today)

    audited = compliance_on(Scope(user=auditor, exclude_restricted=True), day=today)

    assert (audited.passing, audited.applicable) == (3, 6)  # the vault's failing C1 is left out
    assert audited.rows[("framework", "hyg", "Hygiene framework")] == [2, 2]
    # Even without the dashboard's exclusion, the one permission path hides restricted rows from them.
    assert compliance_on(Scope(user=auditor), day=today).applicable == 6


def test_computing_a_day_twice_changes_nothing_and_a_closed_day_is_kept(controls, team_a):
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    snapshot_compute_day(day=today)
    first = _rows(today)
    snapshot_compute_day(day=today)
    assert _rows(today) == first and first

    snapshot_compute_day(day=yesterday)  # its close: the first computation after it ended
    closed = list(ControlSnapshot.objects.filter(day=yesterday).values_list("id", "computed_at"))
    assert _rows(yesterday) == first
    Assessment.objects.filter(control=controls.c1).update(status="failing")
    snapshot_compute_day(day=yesterday)  # recomputed later (a backfill): its close is kept as written
    assert list(ControlSnapshot.objects.filter(day=yesterday).values_list("id", "computed_at")) == closed
    assert snapshot_compute_controls(day=yesterday) == 0


def test_backfill_leaves_days_before_the_first_snapshot_without_control_rows(controls, lead):
    today = timezone.localdate()
    month = _last_month()
    with time_machine.travel(_at(month.end), tick=False):  # the worker ran on last month's last day
        snapshot_compute_day(day=month.end)
    recorded = _rows(month.end)
    Assessment.objects.filter(control=controls.c1).update(status="failing")

    snapshot_backfill(since=month.start - dt.timedelta(days=40), until=today - dt.timedelta(days=1))

    days = set(ControlSnapshot.objects.values_list("day", flat=True))
    # Only the day the worker recorded and yesterday's close: nothing invented before or between.
    assert days == {month.end, today - dt.timedelta(days=1)}
    assert _rows(month.end) == recorded  # the recorded history is not rewritten from today's state
    before = Period.month((month.start - dt.timedelta(days=1)).replace(day=1))
    value = value_of(METRICS["control_compliance"], period_context(Scope(user=lead), before))
    assert value.value is None
    assert value.note.startswith(f"No compliance history before {month.end.isoformat()}")


@pytest.fixture
def last_month_recorded(controls):
    """Last month's end recorded by the worker (42.9% for a lead), then C1 fixed on the vault today."""
    month = _last_month()
    with time_machine.travel(_at(month.end), tick=False):
        snapshot_compute_day(day=month.end)
    Assessment.objects.filter(control=controls.c1, asset=controls.vault).update(status="passing")
    ControlOwnership.objects.filter(control=controls.c2).update(owner=controls.c1.ownerships.get().owner)
    compliance_counts_rebuild(team_ids=None)
    return month


def test_last_months_tile_value_is_read_from_its_snapshot(client, lead, last_month_recorded):
    client_for(client, lead)
    response = client.get("/")
    tile = next(t for t in response.context["dashboard"].tiles if t.metric.key == "control_compliance")

    assert tile.value.value == 57.1  # live: 4 of 7
    assert tile.previous.value == 42.9  # last month's snapshot: 3 of 7
    assert f"snapshot of {last_month_recorded.end.isoformat()}" in tile.previous.note
    assert tile.trend == "better"
    assert tile.last_year.value is None and "No compliance history" in tile.last_year.note
    # The API reads the same definitions.
    data = client.get("/api/v1/metrics/control_compliance/").json()
    assert (data["value"]["value"], data["previous_month"]["value"]) == (57.1, 42.9)
    series = client.get("/api/v1/metrics/control_compliance/series/").json()["points"]
    assert [point["value"] for point in series[-2:]] == [42.9, 57.1]
    assert series[0]["value"] is None
    daily = client.get(
        "/api/v1/metrics/control_compliance/series/",
        {"interval": "day", "from": last_month_recorded.start.isoformat()},
    ).json()["points"]
    assert daily == [{"period": last_month_recorded.end.isoformat(), "value": 42.9, "count": 7}]
    # The ownership share too: research owned C1 only last month, C1 and C2 now (of 3 controls x 2 teams).
    owners = client.get("/api/v1/metrics/controls_owner_share/").json()
    assert owners["previous_month"]["value"] == round(100 * 2 / owners["previous_month"]["count"], 1)
    assert owners["value"]["count"] == owners["previous_month"]["count"]
    assert owners["value"]["value"] == round(100 * 3 / owners["value"]["count"], 1)


def test_the_compliance_chart_shows_a_past_month_from_its_snapshot(client, teammate, last_month_recorded):
    client_for(client, teammate)
    month = last_month_recorded.start.strftime("%Y-%m")
    response = client.get("/", {"month": month})
    charts = {chart.key: chart for chart in response.context["dashboard"].charts}

    chart = charts["compliance"]
    assert f"snapshot of {last_month_recorded.end.isoformat()}" in chart.title
    rows = {(row[0], row[1]): (row[2], row[3]) for row in chart.rows}
    # Research as it stood then: C1 trainer passing and vault failing, C2 excepted, C3 failing.
    assert rows[("team", "research")] == (1, 4)
    assert rows[("framework", "Hygiene framework")] == (1, 2)
    assert ("team", "platform") not in rows
    url = next(row[4][1] for row in chart.rows if row[0] == "framework")
    assert url == "/controls/assessments/?framework=hyg"
    assert "assessments keep no history" in chart.note

    page = response.content.decode()
    assert "Control compliance, by month" in page and 'id="chart-data-compliance-trend"' in page
    assert "No compliance history before" in page
    trend = charts["compliance-trend"]
    assert trend.rows[-1][:2] == [
        last_month_recorded.label,
        f"snapshot of {last_month_recorded.end.isoformat()}",
    ]
    assert trend.rows[-1][-1][0] == 25.0
    assert trend.rows[0][1] == "no history"
    assert "No compliance history before" in trend.note
    csv = client.get(f"/metrics/charts/compliance-trend.csv?month={month}").getvalue().decode()
    assert (
        f"{last_month_recorded.label},snapshot of {last_month_recorded.end.isoformat()},1,2,0,1,4,25.0" in csv
    )


def test_todays_trend_point_leads_to_exactly_the_assessments_it_counts(client, teammate, last_month_recorded):
    client_for(client, teammate)
    for environment in ("", "development"):
        response = client.get("/", {"environment": environment})
        trend = next(c for c in response.context["dashboard"].charts if c.key == "compliance-trend")
        today_row = trend.rows[-1]
        assert today_row[1] == "live"
        applicable, (share, url) = today_row[-2], today_row[-1]
        listed = client.get(url)
        assert listed.status_code == 200
        assert listed.context["page"].paginator.count == applicable
        failing_count, failing_url = today_row[3]
        assert client.get(failing_url).context["page"].paginator.count == failing_count
    assert applicable == 2 and share == 50.0  # development: trainer's C1 passing and C2 excepted
