"""Exceptions (risk acceptance): request, approve or reject, withdraw, expire.

The rules live here whatever the page or the API sends: an expiry bounded by the worst severity
covered, approval only by a security lead or the owning team's champion or lead, never by the person
who asked. Approval marks the findings risk accepted and the control on the asset excepted; expiry puts
the findings back as they were (open, with their original SLA due date) and re-assesses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from assets.models import Asset
from controls.models import Control, ExceptionFinding, ExceptionStatus, RiskException, RiskRating
from controls.services.assessments import assessments_for_assets
from findings.models import SEVERITY_RANK, Finding, FindingStatus, Severity
from findings.services.history import closing_fields, status_sightings_write
from hygiene.models import TeamRole
from hygiene.permissions import can_change, can_contribute, is_auditor, token_allows
from hygiene.roles import SECURITY_LEAD
from hygiene.services.audit import audit_event, audit_local
from hygiene.services.notifications import notification_send, people_with_roles

OBJECT_TYPE = "controls_riskexception"
MAX_FINDINGS = 500
MAX_TEXT = 5000
OPEN_STATES = (ExceptionStatus.REQUESTED, ExceptionStatus.APPROVED)


def max_days(severity: str) -> int:
    """How long an exception may last for the worst severity it covers (settings)."""
    bounds: dict[str, int] = settings.HYGIENE_EXCEPTION_MAX_DAYS
    return int(bounds.get(severity, bounds["default"]))


def latest_expiry(severity: str, today: dt.date | None = None) -> dt.date:
    return (today or timezone.localdate()) + dt.timedelta(days=max_days(severity))


def may_decide(user: Any, exception: RiskException) -> bool:
    """Whether ``user`` may approve or reject: a security lead or the team's champion or lead, never the
    requester."""
    return exception.requested_by_id != getattr(user, "pk", None) and can_change(
        user, exception, team_id=exception.team_id
    )


def _label(actor: Any) -> str:
    return "operator" if actor is None else str(actor.get_username())


def _event(action: str, exception: RiskException, actor: Any, **detail: Any) -> None:
    audit_event(
        action=action,
        object_type=OBJECT_TYPE,
        object_id=str(exception.pk),
        actor_id=getattr(actor, "pk", None),
        actor_label=_label(actor),
        detail={"status": exception.status, "asset": exception.asset_id, **detail},
    )


def _clean_text(value: str, field: str, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: "This is required: approvers decide on what it says."})
    if len(value) > MAX_TEXT:
        raise ValidationError({field: f"Keep it under {MAX_TEXT} characters."})
    return value


def worst_severity(severities: Sequence[str]) -> str:
    """The worst of some finding severities (it bounds an exception's expiry)."""
    return max(severities, key=lambda s: SEVERITY_RANK.get(Severity(s), 0)) if severities else Severity.LOW


def _check_expiry(expires_on: dt.date, severity: str) -> None:
    today = timezone.localdate()
    if expires_on <= today:
        raise ValidationError({"expires_on": "The expiry must be a date after today."})
    bound = latest_expiry(severity, today)
    if expires_on > bound:
        raise ValidationError(
            {
                "expires_on": f"An exception covering {severity} risk can last at most"
                f" {max_days(severity)} days: "
                f"choose a date on or before {bound:%d %b %Y}."
            }
        )


def _approvers(exception: RiskException) -> list[Any]:
    team_people = people_with_roles(team_id=exception.team_id, roles=[TeamRole.CHAMPION, TeamRole.LEAD])
    leads = list(get_user_model().objects.filter(is_active=True, groups__name=SECURITY_LEAD))
    return [p for p in [*team_people, *leads] if p.pk != exception.requested_by_id]


@transaction.atomic
def exception_request(
    *,
    actor: Any,
    title: str,
    justification: str,
    compensating_controls: str,
    risk_rating: str,
    expires_on: dt.date,
    finding_ids: Sequence[int] = (),
    asset: Asset | None = None,
    control: Control | None = None,
) -> RiskException:
    """Ask for an exception for findings (all on one asset) or for a control on an asset."""
    if is_auditor(actor) or not token_allows(actor, "write"):
        raise PermissionDenied("Auditors and read-only tokens cannot request exceptions.")
    if risk_rating not in RiskRating.values:
        raise ValidationError({"risk_rating": "Choose a risk rating."})
    findings: list[Finding] = []
    if finding_ids:
        findings, asset = _findings_for_request(actor, finding_ids)
        severity = worst_severity([f.severity for f in findings])
    elif asset is not None and control is not None:
        if not control.is_active:
            raise ValidationError({"control": f"{control.code} is retired."})
        severity = risk_rating
    else:
        raise ValidationError("Choose the findings, or a control and an asset, the exception is for.")
    assert asset is not None
    if not can_contribute(actor, team_id=asset.team_id):
        raise PermissionDenied(f"Only members of {asset.team} can request exceptions for its assets.")
    _check_expiry(expires_on, severity)
    exception = RiskException.objects.create(
        team_id=asset.team_id,
        asset=asset,
        restricted=asset.is_restricted,
        control=control if not findings else None,
        title=_clean_text(title, "title", required=True)[:200],
        justification=_clean_text(justification, "justification", required=True),
        compensating_controls=_clean_text(compensating_controls, "compensating_controls", required=False),
        risk_rating=risk_rating,
        severity=severity,
        expires_on=expires_on,
        requested_by=actor,
    )
    ExceptionFinding.objects.bulk_create(
        [
            ExceptionFinding(
                exception=exception, finding=f, original_status=f.status, original_sla_due=f.sla_due
            )
            for f in findings
        ]
    )
    _event("exception_request", exception, actor, findings=[f.pk for f in findings],
           control=getattr(control, "code", None), expires_on=str(expires_on))  # fmt: skip
    notification_send(
        recipients=_approvers(exception),
        kind="exception_requested",
        title=f"Exception requested for {asset.name}: {exception.title}",
        body=f"{_label(actor)} asks to accept this risk until {expires_on:%d %b %Y}. Approve or reject it.",
        url=exception.get_absolute_url(),
    )
    return exception


def _findings_for_request(actor: Any, finding_ids: Sequence[int]) -> tuple[list[Finding], Asset]:
    from findings.selectors import finding_list_for_user

    ids = sorted({int(pk) for pk in finding_ids})
    if len(ids) > MAX_FINDINGS:
        raise ValidationError({"findings": f"One exception covers at most {MAX_FINDINGS} findings."})
    visible = finding_list_for_user(user=actor).filter(pk__in=ids).values("pk")
    findings = list(
        Finding.objects.filter(pk__in=visible).select_related("asset", "asset__team").order_by("id")
    )
    if len(findings) != len(ids):
        raise ValidationError({"findings": "Some of these findings do not exist."})
    assets = {f.asset_id for f in findings}
    if len(assets) > 1:
        raise ValidationError({"findings": "Findings of one exception must all be on the same asset."})
    not_open = [f.rule_id for f in findings if f.status != FindingStatus.OPEN]
    if not_open:
        raise ValidationError(
            {"findings": f"Only open findings can be excepted ({', '.join(not_open[:5])} is not)."}
        )
    pending = ExceptionFinding.objects.filter(finding_id__in=ids, exception__status__in=OPEN_STATES)
    if pending.exists():
        raise ValidationError({"findings": "Some of these findings are already covered by an exception."})
    return findings, findings[0].asset


def _lock(exception: RiskException) -> RiskException:
    locked = RiskException.objects.select_for_update(of=("self",))
    return locked.select_related("asset", "asset__team", "control").get(pk=exception.pk)


def _check_decider(actor: Any, exception: RiskException) -> None:
    if exception.requested_by_id is not None and exception.requested_by_id == getattr(actor, "pk", None):
        raise PermissionDenied(
            "You requested this exception, so you cannot decide on it: another champion or lead of the team, "
            "or a security lead, must."
        )
    if not can_change(actor, exception, team_id=exception.team_id):
        raise PermissionDenied(
            f"Only a security lead or the champion or lead of {exception.asset.team} can decide on this"
            " exception."
        )
    if exception.status != ExceptionStatus.REQUESTED:
        raise ValidationError(f"This exception is already {exception.get_status_display().lower()}.")


@transaction.atomic
def exception_approve(*, actor: Any, exception: RiskException, comment: str = "") -> RiskException:
    """Approve: findings become risk accepted, the control on the asset excepted, until the expiry."""
    exception = _lock(exception)
    _check_decider(actor, exception)
    if exception.expires_on <= timezone.localdate():
        raise ValidationError("Its expiry date has passed: ask for a new exception with a later date.")
    exception.status = ExceptionStatus.APPROVED
    exception.decided_by = actor
    exception.decided_at = timezone.now()
    exception.decision_comment = _clean_text(comment, "comment", required=False)
    exception.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])
    accepted = _accept_findings(actor, exception)
    _event("exception_approve", exception, actor, findings=accepted, comment=exception.decision_comment)
    assessments_for_assets(asset_ids=[exception.asset_id])
    _tell_requester(exception, "approved")
    return exception


@transaction.atomic
def exception_reject(*, actor: Any, exception: RiskException, comment: str) -> RiskException:
    exception = _lock(exception)
    _check_decider(actor, exception)
    exception.status = ExceptionStatus.REJECTED
    exception.decided_by = actor
    exception.decided_at = timezone.now()
    exception.decision_comment = _clean_text(comment, "comment", required=True)
    exception.closed_at = exception.decided_at
    exception.save(update_fields=["status", "decided_by", "decided_at", "decision_comment", "closed_at"])
    _event("exception_reject", exception, actor, comment=exception.decision_comment)
    _tell_requester(exception, "rejected")
    return exception


@transaction.atomic
def exception_withdraw(*, actor: Any, exception: RiskException) -> RiskException:
    """The requester (or whoever may decide) ends an exception early; what it covered is reopened."""
    exception = _lock(exception)
    is_requester = exception.requested_by_id == getattr(actor, "pk", None) and can_contribute(
        actor, team_id=exception.team_id
    )
    if not (is_requester or can_change(actor, exception, team_id=exception.team_id)):
        raise PermissionDenied(
            "Only the requester, the team's champion or lead, or a security lead can withdraw it."
        )
    if exception.status not in OPEN_STATES:
        raise ValidationError(f"This exception is already {exception.get_status_display().lower()}.")
    was_approved = exception.status == ExceptionStatus.APPROVED
    exception.status = ExceptionStatus.WITHDRAWN
    exception.closed_at = timezone.now()
    exception.save(update_fields=["status", "closed_at"])
    reopened = _reopen_findings(actor, exception, "withdrawn") if was_approved else []
    _event("exception_withdraw", exception, actor, findings=reopened)
    assessments_for_assets(asset_ids=[exception.asset_id])
    return exception


def exceptions_expire(*, today: dt.date | None = None) -> int:
    """Expire approved exceptions whose date has passed; reopen their findings; return how many."""
    today = today or timezone.localdate()
    expired = 0
    while True:
        with transaction.atomic():
            batch = list(
                RiskException.objects.select_for_update(skip_locked=True)
                .filter(status=ExceptionStatus.APPROVED, expires_on__lt=today)
                .select_related("asset")
                .order_by("id")[:100]
            )
            for exception in batch:
                exception.status = ExceptionStatus.EXPIRED
                exception.closed_at = timezone.now()
                exception.save(update_fields=["status", "closed_at"])
                reopened = _reopen_findings(None, exception, "expired")
                _event("exception_expire", exception, None, findings=reopened)
                _tell_requester(exception, "expired")
            if batch:
                assessments_for_assets(asset_ids=[e.asset_id for e in batch])
        expired += len(batch)
        if len(batch) < 100:
            return expired


def _accept_findings(actor: Any, exception: RiskException) -> list[int]:
    covered = list(exception.covered.all())
    findings = {
        f.pk: f
        for f in Finding.objects.filter(pk__in=[c.finding_id for c in covered])
        .select_for_update()
        .order_by("id")
    }
    accepted = []
    for row in covered:
        finding = findings.get(row.finding_id)
        if finding is None or finding.status != FindingStatus.OPEN:
            continue  # fixed or triaged while the request waited: nothing to accept
        row.original_status, row.original_sla_due = finding.status, finding.sla_due
        row.save(update_fields=["original_status", "original_sla_due"])
        accepted.append(finding.pk)
    reason = f"Risk accepted until {exception.expires_on:%d %b %Y} (exception #{exception.pk})."
    with _as_actor(actor, reason):  # the findings' status trigger writes each one's history entry
        Finding.objects.filter(pk__in=accepted).update(
            status=FindingStatus.RISK_ACCEPTED, **closing_fields(FindingStatus.RISK_ACCEPTED)
        )
    status_sightings_write(finding_ids=accepted, status=FindingStatus.RISK_ACCEPTED)
    return accepted


def _reopen_findings(actor: Any, exception: RiskException, why: str) -> list[int]:
    """Put the findings this exception accepted back as they were, unless another exception covers them."""
    covered = {c.finding_id: c for c in exception.covered.all()}
    still_covered = set(
        ExceptionFinding.objects.filter(
            finding_id__in=list(covered), exception__status=ExceptionStatus.APPROVED
        )
        .exclude(exception=exception)
        .values_list("finding_id", flat=True)
    )
    findings = Finding.objects.filter(
        pk__in=[pk for pk in covered if pk not in still_covered], status=FindingStatus.RISK_ACCEPTED
    ).select_for_update().order_by("id")  # fmt: skip
    reopened = []
    for finding in findings:
        row = covered[finding.pk]
        status = row.original_status or FindingStatus.OPEN
        with _as_actor(actor, f"Exception #{exception.pk} {why}: back to {status}."):
            Finding.objects.filter(pk=finding.pk).update(
                status=status, sla_due=row.original_sla_due, **closing_fields(status)
            )
        status_sightings_write(finding_ids=[finding.pk], status=status)
        reopened.append(finding.pk)
    return reopened


def _as_actor(actor: Any, reason: str) -> Any:
    """Name who changes the findings' status, and why, for the audit trigger on findings."""
    label = _label(actor) if actor is not None else "exception worker"
    return audit_local(actor_id=getattr(actor, "pk", None), actor_label=label, reason=reason)


def _tell_requester(exception: RiskException, what: str) -> None:
    decider = exception.decided_by
    recipients = [exception.requested_by]
    if what == "expired" and decider is not None:
        recipients.append(decider)
    body = {
        "approved": f"Approved by {_label(decider)} until {exception.expires_on:%d %b %Y}.",
        "rejected": f"Rejected by {_label(decider)}: {exception.decision_comment}",
        "expired": "It has expired: the findings it covered are open again with their original SLA, "
        "and the controls are re-assessed.",
    }[what]
    notification_send(
        recipients=[r for r in recipients if r is not None],
        kind=f"exception_{what}",
        title=f"Exception {what}: {exception.title}",
        body=body,
        url=exception.get_absolute_url(),
    )
