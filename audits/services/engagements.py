"""Opening and ending audit engagements (security leads only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from assets.models import Environment
from audits.models import Engagement, Framework
from hygiene.models import Team
from hygiene.permissions import is_auditor, is_security_lead
from hygiene.services.audit import audit_event


def _check_lead(actor: Any) -> None:
    if not is_security_lead(actor):
        raise PermissionDenied("Only security leads open and end audit engagements.")


@transaction.atomic
def engagement_open(
    *,
    actor: Any,
    name: str,
    auditor: Any,
    period_start: dt.date,
    period_end: dt.date,
    ends_at: dt.datetime,
    frameworks: Sequence[str] = (),
    teams: Sequence[Team] = (),
    environments: Sequence[str] = (),
    restricted_in_scope: bool = False,
) -> Engagement:
    """Open an engagement for ``auditor``: what they read, for which period, until when."""
    _check_lead(actor)
    errors: dict[str, str] = {}
    if not is_auditor(auditor):
        errors["auditor"] = f"{auditor.get_username()} is not an auditor with current access."
    if period_end < period_start:
        errors["period_end"] = "The period ends before it starts."
    if ends_at <= timezone.now():
        errors["ends_at"] = "Access must end in the future."
    unknown = [value for value in frameworks if value not in Framework.values]
    if unknown:
        errors["frameworks"] = f"Unknown framework(s): {', '.join(unknown)}."
    bad_env = [value for value in environments if value not in Environment.values]
    if bad_env:
        errors["environments"] = f"Unknown environment(s): {', '.join(bad_env)}."
    if errors:
        raise ValidationError(errors)
    engagement = Engagement.objects.create(
        name=name.strip(),
        auditor=auditor,
        period_start=period_start,
        period_end=period_end,
        ends_at=ends_at,
        frameworks=list(dict.fromkeys(frameworks)),
        environments=list(dict.fromkeys(environments)),
        restricted_in_scope=restricted_in_scope,
        opened_by=actor,
    )
    engagement.teams.set(teams)
    audit_event(
        action="engagement_open",
        object_type="audits_engagement",
        object_id=str(engagement.pk),
        actor_id=actor.pk,
        actor_label=actor.get_username(),
        detail={
            "auditor": auditor.get_username(),
            "period": [period_start.isoformat(), period_end.isoformat()],
            "teams": sorted(team.slug for team in teams) or "all",
            "environments": sorted(environments) or "all",
            "restricted_in_scope": restricted_in_scope,
            "frameworks": list(frameworks),
            "ends_at": ends_at.isoformat(),
        },
    )
    return engagement


@transaction.atomic
def engagement_end(*, actor: Any, engagement: Engagement) -> Engagement:
    """End the auditor's access through ``engagement`` now (it takes effect on their next request)."""
    _check_lead(actor)
    if engagement.ended_at is not None:
        return engagement
    engagement.ended_at = timezone.now()
    engagement.save(update_fields=["ended_at"])
    audit_event(
        action="engagement_end",
        object_type="audits_engagement",
        object_id=str(engagement.pk),
        actor_id=actor.pk,
        actor_label=actor.get_username(),
        detail={"auditor": engagement.auditor.get_username()},
    )
    return engagement
