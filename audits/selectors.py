"""Permission-aware reads of engagements and evidence bundles, and what an auditor cannot see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import Http404

from audits.models import Engagement, EvidenceBundle
from audits.sections import Period, SectionContext
from hygiene.permissions import EngagementScope, engagement_scope, is_auditor, is_security_lead
from hygiene.roles import SECURITY_LEAD


def engagement_list_for_user(*, user: Any) -> QuerySet[Engagement]:
    """Security leads see every engagement, an auditor their own; nobody else any."""
    engagements = Engagement.objects.select_related("auditor", "opened_by").prefetch_related("teams")
    if is_security_lead(user):
        return engagements
    if is_auditor(user):
        return engagements.filter(auditor_id=user.pk)
    return engagements.none()


def engagement_get_for_user(*, user: Any, pk: int) -> Engagement:
    engagement = engagement_list_for_user(user=user).filter(pk=pk).first()
    if engagement is None:
        raise Http404("No such engagement.")
    return engagement


def engagement_scope_of(engagement: Engagement) -> EngagementScope:
    return EngagementScope(
        engagement_id=engagement.pk,
        team_ids=tuple(sorted(team.pk for team in engagement.teams.all())),
        environments=tuple(engagement.environments),
        restricted=engagement.restricted_in_scope,
    )


def engagement_period(engagement: Engagement) -> Period:
    return Period.of(engagement.period_start, engagement.period_end)


def engagement_reader(engagement: Engagement) -> Any:
    """The engagement's auditor, reading inside the engagement: whom every section reads as."""
    from hygiene.permissions import engagement_enter

    reader = get_user_model().objects.get(pk=engagement.auditor_id)
    engagement_enter(reader, engagement_scope_of(engagement))
    return reader


def section_context(engagement: Engagement, *, user: Any = None) -> SectionContext:
    """What the sections read: as ``user`` when that is the auditor working inside this engagement (so their
    reads of restricted data are audited with their request), else as the engagement's auditor."""
    scope = engagement_scope(user) if user is not None else None
    reader = (
        user if scope is not None and scope.engagement_id == engagement.pk else engagement_reader(engagement)
    )
    return SectionContext(engagement=engagement, user=reader, period=engagement_period(engagement))


def bundle_list_for_engagement(*, engagement: Engagement) -> QuerySet[EvidenceBundle]:
    return engagement.bundles.select_related("requested_by").order_by("-created_at", "-id")


def bundle_get_for_user(*, user: Any, pk: int) -> EvidenceBundle:
    bundle = (
        EvidenceBundle.objects.select_related("engagement", "requested_by")
        .filter(pk=pk, engagement__in=engagement_list_for_user(user=user))
        .first()
    )
    if bundle is None:
        raise Http404("No such evidence bundle.")
    return bundle


# The hidden findings are counted no further than this: an exact count of every finding on restricted
# assets reads them all (two seconds of an auditor's findings page at a million findings, a tenth of
# them restricted), and "more than 1,000" tells the auditor as much as the exact number would.
HIDDEN_FINDINGS_CAP = 1_000


@dataclass(frozen=True)
class HiddenRestricted:
    assets: int
    findings: int  # up to HIDDEN_FINDINGS_CAP; findings_capped: more than that
    leads: list[str]
    findings_capped: bool = False


def hidden_restricted_for_user(*, user: Any) -> HiddenRestricted | None:
    """How many restricted items an auditor cannot see unless an engagement opens them (None: none hidden)."""
    from assets.models import Asset
    from findings.models import Finding

    if not is_auditor(user):
        return None
    scope = engagement_scope(user)
    if scope is not None and scope.restricted:
        return None
    assets = Asset.objects.filter(is_restricted=True)
    findings = Finding.objects.filter(asset__is_restricted=True)
    if scope is not None:
        if scope.team_ids:
            assets = assets.filter(team_id__in=scope.team_ids)
            findings = findings.filter(team_id__in=scope.team_ids)
        if scope.environments:
            assets = assets.filter(environment__in=scope.environments)
            findings = findings.filter(asset__environment__in=scope.environments)
    leads = list(
        get_user_model()
        .objects.filter(groups__name=SECURITY_LEAD, is_active=True)
        .order_by("username")
        .values_list("username", flat=True)[:5]
    )
    # How many, never which: the count reads only the restricted assets' keys and stops past the cap.
    hidden = int(findings.order_by().values("pk")[: HIDDEN_FINDINGS_CAP + 1].count())
    return HiddenRestricted(
        assets=assets.count(),
        findings=min(hidden, HIDDEN_FINDINGS_CAP),
        leads=leads,
        findings_capped=hidden > HIDDEN_FINDINGS_CAP,
    )


def auditor_choices() -> list[tuple[int, str]]:
    """People with the Auditor role whose access has not expired: whom a lead can open an engagement for."""
    from django.db.models import Q
    from django.utils import timezone

    from hygiene.roles import AUDITOR

    people = (
        get_user_model()
        .objects.filter(groups__name=AUDITOR, is_active=True)
        .filter(
            Q(profile__isnull=True)
            | Q(profile__access_expires_at__isnull=True)
            | Q(profile__access_expires_at__gt=timezone.now())
        )
        .order_by("username")
    )
    return [(person.pk, person.get_username()) for person in people]
