"""Reporting incidents and moving them through their lifecycle, each change written to the timeline.

reported -> acknowledged -> contained -> resolved -> closed, one step at a time. Every time is checked
here (with a message that says why) and again by the database's check constraints.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from hygiene.models import Membership, Team, TeamRole
from hygiene.permissions import can_contribute
from hygiene.services.notifications import notification_send, people_with_roles
from incidents.models import (
    LIFECYCLE,
    TIME_FIELDS,
    TITLE_MAX,
    Category,
    EntryKind,
    Incident,
    IncidentAsset,
    IncidentFinding,
    Severity,
    Status,
)
from incidents.services.common import (
    actor_label,
    clean_text,
    lock_incident,
    not_in_future,
    require_manage,
    timeline_add,
    touch,
)

TIME_LABELS = {
    "occurred_at": "When it happened",
    "detected_at": "When it was noticed",
    "reported_at": "When it was reported",
    "acknowledged_at": "When it was acknowledged",
    "contained_at": "When it was contained",
    "resolved_at": "When it was resolved",
    "closed_at": "When it was closed",
}
MAX_ASSETS = 50
STATUS_ORDER = [status for status, _ in LIFECYCLE]
STATUS_FIELD = dict(LIFECYCLE)


def _visible_assets(actor: Any, asset_ids: Sequence[int]) -> list[Any]:
    from assets.models import Asset
    from assets.selectors import visible_assets

    ids = sorted({int(pk) for pk in asset_ids})
    if len(ids) > MAX_ASSETS:
        raise ValidationError({"assets": f"Name at most {MAX_ASSETS} affected assets."})
    assets = list((Asset.objects.all() if actor is None else visible_assets(actor)).filter(pk__in=ids))
    if len(assets) != len(ids):
        raise ValidationError({"assets": "Some of the affected assets do not exist or you cannot see them."})
    return assets


def _check_order(values: dict[str, dt.datetime | None]) -> None:
    """Refuse times out of order: each set time not before the set times before it."""
    previous: tuple[str, dt.datetime] | None = None
    for field in TIME_FIELDS:
        value = values.get(field)
        if value is None:
            continue
        if previous is not None and value < previous[1]:
            raise ValidationError(
                {
                    field: f"{TIME_LABELS[field]} cannot be before {TIME_LABELS[previous[0]].lower()}"
                    f" ({previous[1]:%Y-%m-%d %H:%M})."
                }
            )
        previous = (field, value)


@transaction.atomic
def incident_report(
    *,
    actor: Any,
    team: Team,
    title: str,
    category: str,
    severity: str,
    description: str = "",
    occurred_at: dt.datetime,
    detected_at: dt.datetime,
    asset_ids: Sequence[int] = (),
    reported_at: dt.datetime | None = None,
) -> Incident:
    """Log an incident for a team the actor belongs to; the team's champions and leads are told.

    ``reported_at`` (default now) records a report written down afterwards, e.g. from another tool.
    """
    if actor is not None and not can_contribute(actor, team_id=team.pk):
        raise PermissionDenied(f"You can report incidents only for your own teams, not for {team.name}.")
    title = clean_text(title, field="title", label="A title", limit=TITLE_MAX)
    description = clean_text(description, field="description", label="What happened", required=False)
    if category not in Category.values:
        raise ValidationError({"category": "Choose one of the categories."})
    if severity not in Severity.values:
        raise ValidationError({"severity": "Choose a severity."})
    occurred_at = not_in_future(occurred_at, field="occurred_at", label=TIME_LABELS["occurred_at"])
    detected_at = not_in_future(detected_at, field="detected_at", label=TIME_LABELS["detected_at"])
    now = timezone.now()
    reported = (
        not_in_future(reported_at, field="reported_at", label=TIME_LABELS["reported_at"])
        if reported_at
        else now
    )
    _check_order(
        {"occurred_at": occurred_at, "detected_at": detected_at, "reported_at": max(reported, detected_at)}
    )
    assets = _visible_assets(actor, asset_ids)
    incident = Incident.objects.create(
        team=team,
        title=title,
        description=description,
        category=category,
        severity=severity,
        reporter=actor,
        occurred_at=occurred_at,
        detected_at=detected_at,
        reported_at=max(reported, detected_at),
        updated_at=now,
    )
    IncidentAsset.objects.bulk_create([IncidentAsset(incident=incident, asset=asset) for asset in assets])
    names = ", ".join(sorted(asset.name for asset in assets))
    timeline_add(
        incident=incident,
        kind=EntryKind.REPORTED,
        text=f"Reported by {actor_label(actor)}" + (f"; affected: {names}" if names else ""),
        actor=actor,
        at=incident.reported_at,
        data={"asset_ids": [asset.pk for asset in assets]},
    )
    incident.refresh_from_db(fields=["is_restricted"])
    notification_send(
        recipients=people_with_roles(team_id=team.pk, roles=[TeamRole.CHAMPION, TeamRole.LEAD]),
        kind="incident_reported",
        title=f"{incident.reference} reported ({incident.get_severity_display()}): {title}",
        body=f"{actor_label(actor)} reported a {incident.get_category_display().lower()} incident for"
        f" {team.name}. Acknowledge it to take command.",
        url=incident.get_absolute_url(),
    )
    return incident


def _check_commander(incident: Incident, commander: Any) -> None:
    if commander is None or not commander.is_active:
        raise ValidationError({"commander": "Choose the incident commander."})
    if not Membership.objects.filter(team_id=incident.team_id, user_id=commander.pk).exists():
        raise ValidationError(
            {
                "commander": f"{commander.get_username()} is not in {incident.team.name}; the commander"
                " comes from the incident's team."
            }
        )


@transaction.atomic
def incident_transition(
    *,
    actor: Any,
    incident: Incident,
    status: str,
    at: dt.datetime | None = None,
    note: str = "",
    commander: Any = None,
) -> Incident:
    """Move the incident to the next status, recording who and when (acknowledging names a commander)."""
    incident = lock_incident(actor=actor, incident=incident)
    require_manage(actor, incident)
    if status not in STATUS_ORDER:
        raise ValidationError({"status": "Unknown status."})
    current = STATUS_ORDER.index(incident.status)
    wanted = STATUS_ORDER.index(status)
    if wanted != current + 1:
        expected = STATUS_ORDER[current + 1] if current + 1 < len(STATUS_ORDER) else None
        follow = f"it can only become {Status(expected).label.lower()} next" if expected else "it is closed"
        raise ValidationError(
            {
                "status": f"{incident.reference} is {incident.get_status_display().lower()}: {follow}"
                " (reported → acknowledged → contained → resolved → closed, no step skipped)."
            }
        )
    note = clean_text(note, field="note", label="The note", required=False)
    field = STATUS_FIELD[status]
    when = not_in_future(at, field=field, label=TIME_LABELS[field]) if at else timezone.now()
    values: dict[str, dt.datetime | None] = {name: getattr(incident, name) for name in TIME_FIELDS}
    values[field] = when
    _check_order(values)
    fields = ["status", field]
    if status == Status.ACKNOWLEDGED:
        commander = commander if commander is not None else actor
        _check_commander(incident, commander)
        incident.commander = commander
        fields.append("commander")
    incident.status = status
    setattr(incident, field, when)
    touch(incident, *fields)
    text = f"{Status(status).label} by {actor_label(actor)}"
    if status == Status.ACKNOWLEDGED:
        text += f"; commander: {incident.commander.get_username()}"  # type: ignore[union-attr]
    if note:
        text += f". {note}"
    timeline_add(
        incident=incident,
        kind=EntryKind.STATUS,
        text=text,
        actor=actor,
        at=when,
        data={"from": STATUS_ORDER[current], "to": status},
    )
    return incident


@transaction.atomic
def incident_set_commander(*, actor: Any, incident: Incident, commander: Any) -> Incident:
    """Hand command to another person of the team."""
    incident = lock_incident(actor=actor, incident=incident)
    require_manage(actor, incident)
    if incident.status == Status.REPORTED:
        raise ValidationError(
            {"commander": "Acknowledge the incident first: acknowledging names the commander."}
        )
    _check_commander(incident, commander)
    previous = incident.commander.get_username() if incident.commander else "nobody"
    incident.commander = commander
    touch(incident, "commander")
    timeline_add(
        incident=incident,
        kind=EntryKind.COMMANDER,
        text=f"Commander changed from {previous} to {commander.get_username()} by {actor_label(actor)}",
        actor=actor,
        data={"commander_id": commander.pk},
    )
    notification_send(
        recipients=[commander],
        kind="incident_commander",
        title=f"You command {incident.reference}: {incident.title}",
        url=incident.get_absolute_url(),
    )
    return incident


@transaction.atomic
def incident_correct_time(
    *, actor: Any, incident: Incident, field: str, value: dt.datetime, reason: str
) -> Incident:
    """Correct one recorded time; the timeline keeps the old value, the new one and why."""
    incident = lock_incident(actor=actor, incident=incident)
    require_manage(actor, incident)
    if field not in TIME_FIELDS:
        raise ValidationError({"field": "Choose which time to correct."})
    old = getattr(incident, field)
    if old is None:
        raise ValidationError({"field": f"{TIME_LABELS[field]} is not recorded yet; nothing to correct."})
    reason = clean_text(reason, field="reason", label="The reason", limit=1000)
    value = not_in_future(value, field="value", label=TIME_LABELS[field])
    values: dict[str, dt.datetime | None] = {name: getattr(incident, name) for name in TIME_FIELDS}
    values[field] = value
    try:
        _check_order(values)
    except ValidationError as exc:
        raise ValidationError({"value": exc.messages}) from exc
    setattr(incident, field, value)
    try:
        with transaction.atomic():
            touch(incident, field)
    except IntegrityError as exc:  # the database's own rule, should the check above ever miss one
        raise ValidationError({"value": "These times would be out of order."}) from exc
    timeline_add(
        incident=incident,
        kind=EntryKind.TIME_CORRECTION,
        text=f"{TIME_LABELS[field]} corrected from {timezone.localtime(old):%Y-%m-%d %H:%M} to"
        f" {timezone.localtime(value):%Y-%m-%d %H:%M} by {actor_label(actor)}: {reason}",
        actor=actor,
        data={"field": field, "old": old.isoformat(), "new": value.isoformat(), "reason": reason},
    )
    return incident


def _require_contribute(actor: Any, incident: Incident) -> None:
    from incidents.selectors import incident_may_manage

    if actor is None:
        return
    if not (
        can_contribute(actor, team_id=incident.team_id) or incident_may_manage(user=actor, incident=incident)
    ):
        raise PermissionDenied(f"Only people of {incident.team.name} can add to this incident.")


@transaction.atomic
def incident_add_note(*, actor: Any, incident: Incident, text: str, at: dt.datetime | None = None) -> Any:
    """Add a note to the timeline (anyone of the team)."""
    incident = lock_incident(actor=actor, incident=incident)
    _require_contribute(actor, incident)
    text = clean_text(text, field="text", label="The note")
    when = not_in_future(at, field="at", label="The note's time") if at else None
    if when is not None and when < incident.occurred_at:
        raise ValidationError({"at": "A note cannot be dated before the incident happened."})
    return timeline_add(incident=incident, kind=EntryKind.NOTE, text=text, actor=actor, at=when)


@transaction.atomic
def incident_link_finding(*, actor: Any, incident: Incident, finding_id: int) -> IncidentFinding:
    """Link a finding the actor can see (often the one that started it)."""
    from findings.models import Finding
    from findings.selectors import finding_list_for_user

    incident = lock_incident(actor=actor, incident=incident)
    _require_contribute(actor, incident)
    findings = Finding.objects.all() if actor is None else finding_list_for_user(user=actor)
    finding = findings.filter(pk=finding_id).select_related("asset").first()
    if finding is None:
        raise ValidationError({"finding": "No finding you can see has this number."})
    if IncidentFinding.objects.filter(incident=incident, finding=finding).exists():
        raise ValidationError({"finding": f"Finding {finding.pk} is already linked."})
    link = IncidentFinding.objects.create(incident=incident, finding=finding, linked_by=actor)
    # The finding's asset is affected too (and so a restricted asset makes the incident restricted).
    IncidentAsset.objects.get_or_create(incident=incident, asset_id=finding.asset_id)
    timeline_add(
        incident=incident,
        kind=EntryKind.FINDING,
        text=f"Finding {finding.rule_id or finding.pk} on {finding.asset.name} linked by"
        f" {actor_label(actor)}:"
        f" {finding.title}",
        actor=actor,
        data={"finding_id": finding.pk},
    )
    return link


@transaction.atomic
def incident_add_assets(*, actor: Any, incident: Incident, asset_ids: Sequence[int]) -> Incident:
    """Add affected assets found later; the incident becomes restricted if one of them is."""
    incident = lock_incident(actor=actor, incident=incident)
    _require_contribute(actor, incident)
    assets = _visible_assets(actor, asset_ids)
    present = set(IncidentAsset.objects.filter(incident=incident).values_list("asset_id", flat=True))
    new = [asset for asset in assets if asset.pk not in present]
    if not new:
        raise ValidationError({"assets": "These assets are already listed."})
    IncidentAsset.objects.bulk_create([IncidentAsset(incident=incident, asset=asset) for asset in new])
    touch(incident)
    timeline_add(
        incident=incident,
        kind=EntryKind.ASSET,
        text=f"Affected asset{'s' if len(new) > 1 else ''} added by {actor_label(actor)}: "
        + ", ".join(sorted(asset.name for asset in new)),
        actor=actor,
        data={"asset_ids": [asset.pk for asset in new]},
    )
    incident.refresh_from_db(fields=["is_restricted"])
    return incident


def user_by_id(pk: int | None) -> Any:
    if pk is None:
        return None
    return get_user_model().objects.filter(pk=pk, is_active=True).first()


@transaction.atomic
def incident_grant(*, actor: Any, incident: Incident, person: Any, revoke: bool = False) -> None:
    """Let one person outside the team see the incident by name (a restricted one included), or stop it."""
    from guardian.shortcuts import assign_perm, remove_perm

    from hygiene.permissions import is_auditor

    incident = lock_incident(actor=actor, incident=incident)
    require_manage(actor, incident)
    if person is None or not person.is_active:
        raise ValidationError({"person": "Nobody active has this name."})
    if not revoke and is_auditor(person):
        raise ValidationError({"person": "Auditors see incidents through an audit engagement, not by name."})
    if revoke:
        remove_perm("incidents.view_incident", person, incident)
    else:
        assign_perm("incidents.view_incident", person, incident)
    timeline_add(
        incident=incident,
        kind=EntryKind.NOTE,
        text=f"{'Access withdrawn from' if revoke else 'Shared by name with'} {person.get_username()}"
        f" by {actor_label(actor)}",
        actor=actor,
        data={"person_id": person.pk, "revoked": revoke},
    )


def incident_grantees(*, incident: Incident, member_ids: set[int] | None = None) -> list[Any]:
    """People outside the team granted the incident by name (``member_ids``: the team's, if known)."""
    from typing import cast

    from django.db.models import QuerySet
    from guardian.shortcuts import get_users_with_perms

    members = (
        set(Membership.objects.filter(team_id=incident.team_id).values_list("user_id", flat=True))
        if member_ids is None
        else member_ids
    )
    granted = cast(
        "QuerySet[Any]",
        get_users_with_perms(incident, only_with_perms_in=["view_incident"], with_superusers=False),
    )
    return [user for user in granted.order_by("username") if user.pk not in members]
