"""Pieces every incident service shares: who acts, locking, the timeline, the permission checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from hygiene.permissions import is_auditor, token_allows
from incidents.models import Incident, TimelineEntry
from incidents.selectors import incident_get_for_user, incident_may_manage

# Times a little ahead of the server's clock (a laptop a minute fast) are accepted as "now".
CLOCK_SKEW = dt.timedelta(minutes=2)
MAX_TEXT = 20_000


def actor_label(actor: Any) -> str:
    return "system" if actor is None else str(actor.get_username())


def lock_incident(*, actor: Any, incident: Incident) -> Incident:
    """The incident row locked for this transaction, read through the actor's door (404 if unseen)."""
    if actor is not None:
        incident_get_for_user(user=actor, pk=incident.pk)
    return (
        Incident.objects.select_for_update(of=("self",))
        .select_related("team", "commander")
        .get(pk=incident.pk)
    )


def require_manage(actor: Any, incident: Incident) -> None:
    if actor is None:
        return
    if is_auditor(actor) or not token_allows(actor, "write"):
        raise PermissionDenied("Auditors and read-only tokens cannot change incidents.")
    if not incident_may_manage(user=actor, incident=incident):
        raise PermissionDenied(
            f"Only {incident.team.name}'s security champion or lead, the incident commander or a security"
            " lead"
            " can manage this incident."
        )


def timeline_add(
    *,
    incident: Incident,
    kind: str,
    text: str,
    actor: Any,
    at: dt.datetime | None = None,
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    now = timezone.now()
    return TimelineEntry.objects.create(
        incident=incident,
        kind=kind,
        at=at or now,
        recorded_at=now,
        actor=actor,
        actor_label=actor_label(actor),
        text=text,
        data=data or {},
    )


def clean_text(value: str, *, field: str, label: str, required: bool = True, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: f"{label} is required."})
    if len(value) > limit:
        raise ValidationError({field: f"{label} is too long (at most {limit} characters)."})
    return value


def not_in_future(value: dt.datetime, *, field: str, label: str) -> dt.datetime:
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > timezone.now() + CLOCK_SKEW:
        raise ValidationError({field: f"{label} cannot be in the future."})
    return value


def touch(incident: Incident, *fields: str) -> None:
    incident.updated_at = timezone.now()
    incident.save(update_fields=[*fields, "updated_at"])
