"""The incidents' and controls' metrics, computed by hand on a few incidents, exceptions and evidence,
read through the registry as the dashboards and API read them, scoped like their own lists."""

import datetime as dt

import pytest
from django.utils import timezone

from controls.models import Assessment, AssessmentStatus, Evidence
from controls.services.assessments import assessment_run
from metrics.dashboards import Period, period_context
from metrics.definitions import METRICS, value_of
from metrics.selectors import Scope
from tests.factories.assets import AssetFactory
from tests.factories.controls import ControlFactory, ExceptionFactory
from tests.factories.incidents import IncidentFactory

pytestmark = pytest.mark.django_db


def _at(day: dt.date, hour: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


@pytest.fixture
def month():
    """Last month, whole: its first and last day."""
    first = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    return Period.month(first)


def _value(key, user, period, **scope):
    return value_of(METRICS[key], period_context(Scope(user=user, **scope), period))


def test_incident_durations_are_mean_and_median_over_the_incidents_that_reached_each_stage(
    team_a, team_b, teammate, lead, month
):
    d = month.start
    # Detected in the month after 1, 2 and 6 days: mean 3, median 2. Acknowledged 1 day and 3 days
    # after being reported (two of three); one contained after 4 days; none resolved in it.
    IncidentFactory(
        team=team_a,
        occurred_at=_at(d),
        detected_at=_at(d + dt.timedelta(days=1)),
        reported_at=_at(d + dt.timedelta(days=1)),
        acknowledged_at=_at(d + dt.timedelta(days=2)),
        contained_at=_at(d + dt.timedelta(days=5)),
        status="contained",
        severity="critical",
    )
    IncidentFactory(
        team=team_a,
        occurred_at=_at(d + dt.timedelta(days=2)),
        detected_at=_at(d + dt.timedelta(days=4)),
        reported_at=_at(d + dt.timedelta(days=4)),
        acknowledged_at=_at(d + dt.timedelta(days=7)),
        status="acknowledged",
        category="data_leakage",
    )
    IncidentFactory(
        team=team_a,
        occurred_at=_at(d + dt.timedelta(days=3)),
        detected_at=_at(d + dt.timedelta(days=9)),
        reported_at=_at(d + dt.timedelta(days=9)),
    )
    # Another team's incident: the lead counts it, team A's member does not.
    IncidentFactory(
        team=team_b,
        occurred_at=_at(d),
        detected_at=_at(d + dt.timedelta(days=10)),
        reported_at=_at(d + dt.timedelta(days=10)),
    )

    mttd = _value("incident_mttd", teammate, month)
    assert (mttd.value, mttd.count) == (3.0, 3)
    assert "median 2 d" in mttd.note
    mtta = _value("incident_mtta", teammate, month)
    assert (mtta.value, mtta.count) == (2.0, 2)
    assert "1 not acknowledged yet" in mtta.note
    assert _value("incident_mttc", teammate, month).value == 4.0
    mttr = _value("incident_mttr", teammate, month)
    assert mttr.value is None and "3 not resolved yet" in mttr.note  # counted, never averaged in
    opened = _value("incidents_open", teammate, month)
    assert opened.value == 3
    assert "2 high" in opened.note and "1 critical" in opened.note
    assert _value("incidents_open", lead, month).value == 4
    assert _value("incident_mttd", lead, month).value == pytest.approx((1 + 2 + 6 + 10) / 4)


def test_restricted_incidents_are_left_out_of_an_auditors_numbers(team_a, auditor, lead, month):
    d = month.start
    for restricted in (False, True):
        IncidentFactory(
            team=team_a,
            occurred_at=_at(d),
            detected_at=_at(d + dt.timedelta(days=1)),
            reported_at=_at(d + dt.timedelta(days=1)),
            is_restricted=restricted,
        )
    assert _value("incidents_open", lead, month).value == 2
    assert _value("incidents_open", auditor, month, exclude_restricted=True).value == 1


def test_exceptions_open_expiring_and_expired_come_from_their_dates(team_a, team_b, teammate, month):
    end = month.end
    asset = AssetFactory(team=team_a)

    def approved(expires_on, status="approved", **kwargs):
        return ExceptionFactory(
            asset=asset,
            status=status,
            decided_at=_at(month.start - dt.timedelta(days=5)),
            expires_on=expires_on,
            **kwargs,
        )

    approved(end + dt.timedelta(days=10))  # in force, expiring within 30 days
    approved(end + dt.timedelta(days=90))  # in force, not expiring soon
    approved(month.start + dt.timedelta(days=3), status="expired")  # expired in the month
    # Withdrawn before the month ended: not in force at its end.
    approved(
        end + dt.timedelta(days=60), status="withdrawn", closed_at=_at(month.start + dt.timedelta(days=1))
    )
    ExceptionFactory(asset=asset, status="requested", expires_on=end + dt.timedelta(days=5))  # never approved
    ExceptionFactory(
        asset=AssetFactory(team=team_b),
        status="approved",
        decided_at=_at(month.start),
        expires_on=end + dt.timedelta(days=5),
    )

    assert _value("exceptions_open", teammate, month).value == 2
    assert _value("exceptions_expiring", teammate, month).value == 1
    assert _value("exceptions_expired", teammate, month).value == 1


def test_control_compliance_is_todays_passing_share_and_evidence_freshness_is_dated(team_a, teammate, lead):
    today_period = Period.month(timezone.localdate().replace(day=1))
    control = ControlFactory(rule="classification_present")
    AssetFactory(team=team_a)  # unclassified: failing
    from tests.factories.assets import level

    AssetFactory(team=team_a, classification=level("internal"))  # passing
    assessment_run()
    compliance = _value("control_compliance", teammate, today_period)
    assert (compliance.value, compliance.count) == (50.0, 2)
    # Last month has no compliance figure (assessments keep no history, and no snapshot recorded it),
    # and says so.
    before = _value("control_compliance", teammate, today_period.previous())
    assert before.value is None and "no history" in before.note

    assessment = Assessment.objects.filter(control=control, status=AssessmentStatus.PASSING).get()
    today = timezone.localdate()
    for expires in (None, today + dt.timedelta(days=5), today - dt.timedelta(days=1)):
        Evidence.objects.create(
            assessment=assessment, team=team_a, kind="text", title="x", text="y", expires_on=expires
        )
    fresh = _value("evidence_fresh", teammate, today_period)
    assert (fresh.value, fresh.count) == (66.7, 3)


def test_the_incident_chart_counts_by_category_and_severity_and_each_cell_lists_its_incidents(
    client, team_a, team_b, teammate, month
):
    from tests.conftest import client_for

    d = month.start
    for category, severity in (("data_leakage", "high"), ("data_leakage", "high"), ("poisoning", "low")):
        IncidentFactory(
            team=team_a,
            category=category,
            severity=severity,
            occurred_at=_at(d),
            detected_at=_at(d + dt.timedelta(days=2)),
            reported_at=_at(d + dt.timedelta(days=2)),
        )
    IncidentFactory(  # another team's: not in the member's chart
        team=team_b,
        category="data_leakage",
        severity="high",
        occurred_at=_at(d),
        detected_at=_at(d + dt.timedelta(days=2)),
        reported_at=_at(d + dt.timedelta(days=2)),
    )
    client_for(client, teammate)
    response = client.get("/", {"month": month.start.strftime("%Y-%m")})
    chart = next(c for c in response.context["dashboard"].charts if c.key == "incidents")
    leakage = next(row for row in chart.rows if row[0] == "Data leakage")
    high_count, high_url = leakage[2]
    assert high_count == 2
    listed = client.get(high_url)
    assert listed.status_code == 200
    assert listed.context["page"].paginator.count == 2
    compliance = next(c for c in response.context["dashboard"].charts if c.key == "compliance")
    # A past month with no control snapshot has no compliance to show, and says why.
    assert compliance.empty.startswith("No compliance snapshot yet")
