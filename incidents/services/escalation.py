"""Escalating unacknowledged incidents and overdue checklist steps, each level once.

The escalation path is the pinned version's when a playbook runs, otherwise the current version of the
playbook for the incident's category, otherwise ``DEFAULT_PATH``. A level fires when the incident has
gone that many minutes without acknowledgement (from its report), or a step that many minutes past its
due time. Each fired level is a row under a unique constraint, a timeline entry and notifications (in the
app and by e-mail). One run at a time (an advisory lock), so two beat ticks never fire a level twice.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from hygiene.models import Membership, TeamRole
from hygiene.roles import SECURITY_LEAD
from hygiene.services.audit import actor_context
from hygiene.services.notifications import OutgoingMessage, notification_send_many
from incidents.models import (
    ChecklistItem,
    EntryKind,
    Escalation,
    EscalationLevel,
    EscalationReason,
    EscalationTarget,
    Incident,
    Playbook,
    PlaybookRun,
    Status,
    TimelineEntry,
)

_LOCK_KEY = 0x1C1DE7  # any constant; serializes escalation runs across workers
DEFAULT_PATH: tuple[tuple[str, int], ...] = (
    (EscalationTarget.CHAMPIONS, 15),
    (EscalationTarget.LEADS, 60),
    (EscalationTarget.SECURITY_LEADS, 240),
)


@dataclass(frozen=True)
class Level:
    level: int
    target: str
    after_minutes: int
    person_id: int | None = None


@dataclass(frozen=True)
class Due:
    incident: Incident
    reason: str
    level: Level
    item: ChecklistItem | None


def _paths(version_ids: set[int]) -> dict[int | None, list[Level]]:
    paths: dict[int | None, list[Level]] = defaultdict(list)
    rows = EscalationLevel.objects.filter(version_id__in=version_ids).order_by("version_id", "level")
    for row in rows:
        paths[row.version_id].append(Level(row.level, row.target, row.after_minutes, row.person_id))
    paths[None] = [Level(n, target, minutes) for n, (target, minutes) in enumerate(DEFAULT_PATH, start=1)]
    return paths


def _category_versions() -> dict[str, int]:
    versions: dict[str, int] = {}
    for playbook in Playbook.objects.filter(current_version__isnull=False).order_by("-title"):
        for category in playbook.categories:
            versions[category] = playbook.current_version_id  # type: ignore[assignment]
    return versions


def _find_due(now: dt.datetime) -> list[Due]:
    incidents = list(
        Incident.objects.filter(status__in=(Status.REPORTED, Status.ACKNOWLEDGED, Status.CONTAINED))
        .select_related("team")
        .only(
            "id",
            "title",
            "team_id",
            "team__name",
            "category",
            "severity",
            "status",
            "reported_at",
            "commander_id",
            "escalation_level",
        )
    )
    pinned = dict(
        PlaybookRun.objects.filter(incident_id__in=[i.pk for i in incidents]).values_list(
            "incident_id", "version_id"
        )
    )
    unacknowledged = [i for i in incidents if i.status == Status.REPORTED]
    running = {i.pk: i for i in incidents if i.status != Status.REPORTED}
    items = list(
        ChecklistItem.objects.filter(run__incident_id__in=list(running), done_at__isnull=True, due_at__lt=now)
        .select_related("run")
        .only("id", "position", "title", "due_at", "run__incident_id", "run__version_id")
    )
    by_category = _category_versions()

    def version_of(incident: Incident) -> int | None:
        return pinned.get(incident.pk) or by_category.get(incident.category)

    candidates: list[tuple[Incident, str, ChecklistItem | None, dt.datetime, int | None]] = [
        (i, EscalationReason.UNACKNOWLEDGED, None, i.reported_at, version_of(i)) for i in unacknowledged
    ]
    candidates += [
        (running[item.run.incident_id], EscalationReason.STEP_OVERDUE, item, item.due_at, item.run.version_id)
        for item in items
    ]
    if not candidates:
        return []
    paths = _paths({version for *_, version in candidates if version is not None})
    fired = set(
        Escalation.objects.filter(incident_id__in={c[0].pk for c in candidates}).values_list(
            "incident_id", "reason", "item_id", "level"
        )
    )
    due: list[Due] = []
    for incident, reason, item, since, version in candidates:
        minutes = (now - since).total_seconds() / 60
        for level in paths.get(version) or paths[None]:
            key = (incident.pk, reason, item.pk if item else None, level.level)
            if level.after_minutes <= minutes and key not in fired:
                due.append(Due(incident, reason, level, item))
    return due


class _Recipients:
    """Whom each level tells, looked up once per run rather than once per escalation."""

    def __init__(self, dues: list[Due]) -> None:
        users = get_user_model().objects.filter(is_active=True)
        teams = {d.incident.team_id for d in dues}
        self.by_team_role: dict[tuple[int, str], list[Any]] = defaultdict(list)
        self.members: set[tuple[int, int]] = set()
        for team_id, user_id in Membership.objects.filter(team_id__in=teams).values_list(
            "team_id", "user_id"
        ):
            self.members.add((team_id, user_id))
        for membership in Membership.objects.filter(
            team_id__in=teams, role__in=(TeamRole.CHAMPION, TeamRole.LEAD), user__is_active=True
        ).select_related("user"):
            self.by_team_role[(membership.team_id, membership.role)].append(membership.user)
        self.security_leads = list(users.filter(groups__name=SECURITY_LEAD).distinct())
        self.security_lead_ids = {person.pk for person in self.security_leads}
        wanted = {d.level.person_id for d in dues} | {d.incident.commander_id for d in dues}
        self.people = {u.pk: u for u in users.filter(pk__in=[pk for pk in wanted if pk])}

    def for_due(self, due: Due) -> list[Any]:
        team = due.incident.team_id
        target = due.level.target
        found: list[Any] = []
        if target == EscalationTarget.CHAMPIONS:
            found = self.by_team_role[(team, TeamRole.CHAMPION)]
        elif target == EscalationTarget.LEADS:
            found = self.by_team_role[(team, TeamRole.LEAD)]
        elif target == EscalationTarget.SECURITY_LEADS:
            found = self.security_leads
        elif target == EscalationTarget.COMMANDER:
            found = (
                [self.people[due.incident.commander_id]] if due.incident.commander_id in self.people else []
            )
        elif target == EscalationTarget.PERSON and due.level.person_id in self.people:
            found = [self.people[due.level.person_id]]
        # Only people who may see the incident hear of it: its team and the security leads.
        found = [p for p in found if (team, p.pk) in self.members or p.pk in self.security_lead_ids]
        if not found:  # nobody in that role: the team's managers, then the security leads, hear of it
            found = self.by_team_role[(team, TeamRole.CHAMPION)] + self.by_team_role[(team, TeamRole.LEAD)]
        return found or self.security_leads


def _describe(due: Due) -> str:
    if due.reason == EscalationReason.UNACKNOWLEDGED:
        return f"not acknowledged after {due.level.after_minutes} minutes"
    assert due.item is not None
    return f"step {due.item.position} “{due.item.title}” overdue by {due.level.after_minutes} minutes"


@dataclass(frozen=True)
class EscalationResult:
    fired: int
    incidents: int
    notified: int


def escalation_run(*, now: dt.datetime | None = None) -> EscalationResult:
    """Fire every escalation level that is due and has not fired yet."""
    with actor_context(actor_id=None, actor_label="escalation", context={"task": "incidents.escalate"}):
        return _run(now or timezone.now())


@transaction.atomic
def _run(now: dt.datetime) -> EscalationResult:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
    dues = _find_due(now)
    if not dues:
        return EscalationResult(0, 0, 0)
    recipients = _Recipients(dues)
    people = [recipients.for_due(due) for due in dues]
    # Several levels and steps of one incident fire together on a catch-up tick: one URL lookup each.
    urls = {due.incident.pk: due.incident.get_absolute_url() for due in dues}
    sent = notification_send_many(
        messages=[
            OutgoingMessage(
                recipients=found,
                kind="incident_escalated",
                title=f"{due.incident.reference} escalated (level {due.level.level}): {due.incident.title}",
                body=f"{due.incident.reference} of {due.incident.team.name} is {_describe(due)}.",
                url=urls[due.incident.pk],
            )
            for due, found in zip(dues, people, strict=True)
        ]
    )
    escalations: list[Escalation] = []
    entries: list[TimelineEntry] = []
    for due, found, notes in zip(dues, people, sent, strict=True):
        names = ", ".join(sorted({p.get_username() for p in found})) or "nobody (no one holds the role)"
        escalations.append(
            Escalation(
                incident=due.incident,
                item=due.item,
                reason=due.reason,
                level=due.level.level,
                fired_at=now,
                notified=len(notes),
            )
        )
        entries.append(
            TimelineEntry(
                incident=due.incident,
                kind=EntryKind.ESCALATION,
                at=now,
                recorded_at=now,
                actor=None,
                actor_label="escalation",
                text=f"Escalation level {due.level.level}: {_describe(due)}; notified {names}",
                data={
                    "level": due.level.level,
                    "reason": due.reason,
                    "item_id": due.item.pk if due.item else None,
                },
            )
        )
    notified = sum(len(notes) for notes in sent)
    Escalation.objects.bulk_create(escalations)
    TimelineEntry.objects.bulk_create(entries)
    highest: dict[int, int] = {}
    for due in dues:
        highest[due.incident.pk] = max(highest.get(due.incident.pk, 0), due.level.level)
    by_level: dict[int, list[int]] = defaultdict(list)
    for incident_id, level in highest.items():
        by_level[level].append(incident_id)
    for level, ids in by_level.items():
        Incident.objects.filter(pk__in=ids, escalation_level__lt=level).update(escalation_level=level)
    return EscalationResult(fired=len(dues), incidents=len(highest), notified=notified)
