"""The exception lifecycle: request, approve, expire and reopen with the original SLA; who may decide."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from controls.models import Assessment, AssessmentStatus, ExceptionStatus
from controls.services.assessments import assessment_run
from controls.services.exceptions import (
    exception_approve,
    exception_reject,
    exception_request,
    exception_withdraw,
    exceptions_expire,
)
from hygiene.models import AuditEntry, Notification, TeamRole
from tests.factories import MembershipFactory, UserFactory
from tests.factories.assets import AssetFactory
from tests.factories.controls import ControlFactory
from tests.factories.findings import FindingFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _request(actor, findings, *, days=60, **kwargs):
    return exception_request(
        actor=actor,
        title="Base image pinned by vendor",
        justification="Vendor ships the fix in Q2; not reachable from the internet.",
        compensating_controls="WAF rule 42",
        risk_rating="medium",
        expires_on=timezone.localdate() + dt.timedelta(days=days),
        finding_ids=[f.pk for f in findings],
        **kwargs,
    )


@pytest.fixture
def lead_of_a(team_a):
    user = UserFactory(username="lead-a")
    MembershipFactory(team=team_a, user=user, role=TeamRole.LEAD)
    return user


def test_approved_exception_accepts_findings_until_expiry_then_reopens_them_with_their_original_sla(
    team_a, owner, teammate
):
    patching = ControlFactory(rule="patching_sla")
    with time_machine.travel(START, tick=False):
        asset = AssetFactory(team=team_a, kind="container_image")
        sla = dt.date(2026, 2, 20)  # already past due
        finding = FindingFactory(asset=asset, severity="medium", sla_due=sla)
        assessment_run()
        assert Assessment.objects.get(control=patching, asset=asset).status == AssessmentStatus.FAILING

        exception = _request(teammate, [finding], days=60)
        assert exception.status == ExceptionStatus.REQUESTED
        assert Notification.objects.filter(recipient=owner, kind="exception_requested").exists()
        assert not Notification.objects.filter(recipient=teammate, kind="exception_requested").exists()

        exception_approve(actor=owner, exception=exception, comment="OK until the vendor fix")
        finding.refresh_from_db()
        assert finding.status == "risk_accepted"
        assert Assessment.objects.get(control=patching, asset=asset).status == AssessmentStatus.EXCEPTED
        assert Notification.objects.filter(recipient=teammate, kind="exception_approved").exists()

    with time_machine.travel(START + dt.timedelta(days=59), tick=False):
        assert exceptions_expire() == 0

    with time_machine.travel(START + dt.timedelta(days=61), tick=False):
        assert exceptions_expire() == 1
        exception.refresh_from_db()
        finding.refresh_from_db()
        assert exception.status == ExceptionStatus.EXPIRED
        assert finding.status == "open"
        assert finding.sla_due == sla
        assert Assessment.objects.get(control=patching, asset=asset).status == AssessmentStatus.FAILING
        assert Notification.objects.filter(recipient=teammate, kind="exception_expired").exists()

    actions = list(
        AuditEntry.objects.filter(object_type="controls_riskexception", object_id=str(exception.pk))
        .exclude(action__in=["insert", "update"])
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["exception_request", "exception_approve", "exception_expire"]
    history = AuditEntry.objects.filter(object_type="findings_finding", object_id=str(finding.pk))
    assert [e.after["to"] for e in history.order_by("id")] == ["risk_accepted", "open"]
    # The row changes are captured by the table's trigger too.
    assert AuditEntry.objects.filter(object_type="controls_riskexception", action="update").count() >= 2
    # The metrics' episodes: accepted (not patched) with the due date frozen at closing, then open again.
    sightings = finding.sightings.order_by("occurred_at", "id")
    assert [(s.outcome, s.status, s.sla_due) for s in sightings] == [
        ("triaged", "risk_accepted", sla),
        ("triaged", "open", sla),
    ]
    assert finding.sla_due_at_close is None


def test_the_requester_cannot_approve_their_own_exception(team_a, owner):
    finding = FindingFactory(asset=AssetFactory(team=team_a))
    exception = _request(owner, [finding])  # a champion asking
    with pytest.raises(PermissionDenied, match="You requested this exception"):
        exception_approve(actor=owner, exception=exception)
    exception.refresh_from_db()
    assert exception.status == ExceptionStatus.REQUESTED
    finding.refresh_from_db()
    assert finding.status == "open"


def test_another_teams_champion_cannot_approve(team_a, team_b, teammate):
    champion_b = UserFactory(username="champion-b")
    MembershipFactory(team=team_b, user=champion_b, role=TeamRole.CHAMPION)
    exception = _request(teammate, [FindingFactory(asset=AssetFactory(team=team_a))])
    with pytest.raises(PermissionDenied, match="champion or lead of Research"):
        exception_approve(actor=champion_b, exception=exception)


def test_a_plain_member_cannot_approve_a_teammates_request(team_a, teammate):
    other = UserFactory(username="other-member")
    MembershipFactory(team=team_a, user=other)
    exception = _request(teammate, [FindingFactory(asset=AssetFactory(team=team_a))])
    with pytest.raises(PermissionDenied):
        exception_approve(actor=other, exception=exception)


def test_a_security_lead_and_the_team_lead_may_decide(team_a, teammate, lead, lead_of_a):
    first = _request(teammate, [FindingFactory(asset=AssetFactory(team=team_a))])
    second = _request(teammate, [FindingFactory(asset=AssetFactory(team=team_a))])
    assert exception_approve(actor=lead, exception=first).status == ExceptionStatus.APPROVED
    assert (
        exception_reject(actor=lead_of_a, exception=second, comment="Fix it").status
        == ExceptionStatus.REJECTED
    )


def test_rejection_needs_a_comment_and_leaves_findings_open(team_a, owner, teammate):
    finding = FindingFactory(asset=AssetFactory(team=team_a))
    exception = _request(teammate, [finding])
    with pytest.raises(ValidationError, match="required"):
        exception_reject(actor=owner, exception=exception, comment="")
    exception_reject(actor=owner, exception=exception, comment="Patch instead")
    finding.refresh_from_db()
    assert finding.status == "open"
    assert Notification.objects.get(recipient=teammate, kind="exception_rejected").body.endswith(
        "Patch instead"
    )


@pytest.mark.parametrize(
    ("severity", "days"), [("critical", 30), ("high", 90), ("medium", 180), ("low", 180)]
)
def test_the_expiry_is_bounded_by_the_worst_severity_covered(team_a, teammate, severity, days):
    asset = AssetFactory(team=team_a)
    findings = [FindingFactory(asset=asset, severity="low"), FindingFactory(asset=asset, severity=severity)]
    with pytest.raises(ValidationError, match=f"at most {days} days"):
        _request(teammate, findings, days=days + 1)
    assert _request(teammate, findings, days=days).severity == severity


def test_the_bound_comes_from_settings(team_a, teammate, settings):
    settings.HYGIENE_EXCEPTION_MAX_DAYS = {"critical": 7, "high": 14, "default": 21}
    with pytest.raises(ValidationError, match="at most 14 days"):
        _request(teammate, [FindingFactory(asset=AssetFactory(team=team_a), severity="high")], days=15)


def test_an_outsider_cannot_request_an_exception_for_findings_they_cannot_see(team_a, outsider):
    finding = FindingFactory(asset=AssetFactory(team=team_a))
    with pytest.raises(ValidationError, match="do not exist"):
        _request(outsider, [finding])


def test_auditors_cannot_request(team_a, auditor):
    with pytest.raises(PermissionDenied):
        _request(auditor, [FindingFactory(asset=AssetFactory(team=team_a))])


def test_findings_of_one_exception_must_share_an_asset_and_be_open(team_a, teammate):
    one, two = AssetFactory(team=team_a), AssetFactory(team=team_a)
    with pytest.raises(ValidationError, match="same asset"):
        _request(teammate, [FindingFactory(asset=one), FindingFactory(asset=two)])
    with pytest.raises(ValidationError, match="Only open findings"):
        _request(teammate, [FindingFactory(asset=one, status="mitigated")])


def test_a_finding_is_covered_by_one_pending_exception_at_a_time(team_a, teammate):
    finding = FindingFactory(asset=AssetFactory(team=team_a))
    _request(teammate, [finding])
    with pytest.raises(ValidationError, match="already covered"):
        _request(teammate, [finding])


def test_a_control_exception_excepts_the_assessment_and_withdrawal_reopens_it(team_a, owner, teammate):
    control = ControlFactory(rule="owner_recorded")
    asset = AssetFactory(team=team_a)
    assessment_run()
    exception = exception_request(
        actor=teammate, title="Owner leaving", justification="Hiring", compensating_controls="",
        risk_rating="high", expires_on=timezone.localdate() + dt.timedelta(days=30),
        asset=asset, control=control,
    )  # fmt: skip
    exception_approve(actor=owner, exception=exception)
    assessment = Assessment.objects.get(control=control, asset=asset)
    assert assessment.status == AssessmentStatus.EXCEPTED
    assert assessment.exception_id == exception.pk
    exception_withdraw(actor=teammate, exception=exception)
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.FAILING


def test_an_expired_request_cannot_be_approved(team_a, owner, teammate):
    with time_machine.travel(START, tick=False):
        exception = _request(teammate, [FindingFactory(asset=AssetFactory(team=team_a))], days=10)
    later = time_machine.travel(START + dt.timedelta(days=11), tick=False)
    with later, pytest.raises(ValidationError, match="expiry date has passed"):
        exception_approve(actor=owner, exception=exception)


def test_expiry_leaves_findings_another_exception_still_covers(team_a, owner, teammate):
    finding = FindingFactory(asset=AssetFactory(team=team_a))
    with time_machine.travel(START, tick=False):
        first = _request(teammate, [finding], days=10)
        exception_approve(actor=owner, exception=first)
    # A follow-up for the same (now risk-accepted) finding is refused while the first is in force.
    with time_machine.travel(START + dt.timedelta(days=5), tick=False), pytest.raises(ValidationError):
        _request(teammate, [finding], days=30)
    with time_machine.travel(START + dt.timedelta(days=12), tick=False):
        exceptions_expire()
        finding.refresh_from_db()
        assert finding.status == "open"
