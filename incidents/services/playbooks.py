"""Versioned playbooks and the checklists they start on incidents.

A version is never edited (a trigger refuses it): editing a playbook writes a new version and makes it
current, so a checklist started earlier keeps the steps of the version it pinned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from hygiene.permissions import is_security_lead
from incidents.models import (
    TITLE_MAX,
    Category,
    ChecklistItem,
    EntryKind,
    EscalationLevel,
    EscalationTarget,
    Incident,
    Playbook,
    PlaybookRun,
    PlaybookStep,
    PlaybookVersion,
    Status,
    StepRole,
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

MAX_STEPS = 50
MAX_LEVELS = 10
MAX_MINUTES = 60 * 24 * 90


@dataclass(frozen=True)
class StepSpec:
    title: str
    role: str
    target_minutes: int
    guidance: str = ""


@dataclass(frozen=True)
class LevelSpec:
    target: str
    after_minutes: int
    person: str = ""  # a username when ``target`` is a person


def _require_lead(actor: Any) -> None:
    if actor is not None and not is_security_lead(actor):
        raise PermissionDenied("Only security leads write playbooks.")


def _check_steps(steps: Sequence[StepSpec]) -> list[StepSpec]:
    if not steps:
        raise ValidationError({"steps": "A playbook needs at least one step."})
    if len(steps) > MAX_STEPS:
        raise ValidationError({"steps": f"At most {MAX_STEPS} steps."})
    for number, step in enumerate(steps, start=1):
        if not step.title.strip() or len(step.title) > TITLE_MAX:
            raise ValidationError(
                {"steps": f"Step {number} needs a title of at most {TITLE_MAX} characters."}
            )
        if step.role not in StepRole.values:
            raise ValidationError(
                {"steps": f"Step {number}: the role must be one of {', '.join(StepRole.values)}."}
            )
        if not 0 < step.target_minutes <= MAX_MINUTES:
            raise ValidationError(
                {"steps": f"Step {number}: the target must be a positive number of minutes."}
            )
    return list(steps)


def _check_levels(levels: Sequence[LevelSpec]) -> list[tuple[LevelSpec, Any]]:
    if not levels:
        raise ValidationError({"levels": "An escalation path needs at least one level."})
    if len(levels) > MAX_LEVELS:
        raise ValidationError({"levels": f"At most {MAX_LEVELS} escalation levels."})
    checked: list[tuple[LevelSpec, Any]] = []
    previous = 0
    for number, spec in enumerate(levels, start=1):
        if spec.target not in EscalationTarget.values:
            raise ValidationError(
                {
                    "levels": f"Level {number}: whom to tell must be one of"
                    f" {', '.join(EscalationTarget.values)}."
                }
            )
        if not 0 < spec.after_minutes <= MAX_MINUTES or spec.after_minutes <= previous:
            raise ValidationError(
                {"levels": f"Level {number}: the minutes must be positive and later than the level before."}
            )
        previous = spec.after_minutes
        person = None
        if spec.target == EscalationTarget.PERSON:
            person = get_user_model().objects.filter(username=spec.person.strip(), is_active=True).first()
            if person is None:
                raise ValidationError({"levels": f"Level {number}: nobody active is named “{spec.person}”."})
        checked.append((spec, person))
    return checked


def _check_categories(categories: Sequence[str]) -> list[str]:
    chosen = sorted(set(categories))
    if not chosen or any(category not in Category.values for category in chosen):
        raise ValidationError({"categories": "Choose the categories this playbook is for."})
    return chosen


def _write_version(
    *,
    playbook: Playbook,
    actor: Any,
    summary: str,
    change_note: str,
    steps: list[StepSpec],
    levels: list[Any],
) -> PlaybookVersion:
    last = PlaybookVersion.objects.filter(playbook=playbook).order_by("-number").first()
    version = PlaybookVersion.objects.create(
        playbook=playbook,
        number=(last.number + 1) if last else 1,
        summary=summary,
        change_note=change_note,
        created_by=actor,
    )
    PlaybookStep.objects.bulk_create(
        PlaybookStep(
            version=version,
            position=n,
            title=s.title.strip(),
            guidance=s.guidance.strip(),
            role=s.role,
            target_minutes=s.target_minutes,
        )
        for n, s in enumerate(steps, start=1)
    )
    EscalationLevel.objects.bulk_create(
        EscalationLevel(
            version=version, level=n, target=spec.target, person=person, after_minutes=spec.after_minutes
        )
        for n, (spec, person) in enumerate(levels, start=1)
    )
    playbook.current_version = version
    playbook.save(update_fields=["current_version"])
    return version


@transaction.atomic
def playbook_create(
    *,
    actor: Any,
    title: str,
    categories: Sequence[str],
    summary: str,
    steps: Sequence[StepSpec],
    levels: Sequence[LevelSpec],
    slug: str = "",
) -> Playbook:
    """A new playbook with its first version."""
    _require_lead(actor)
    title = clean_text(title, field="title", label="A title", limit=TITLE_MAX)
    slug = slugify(slug or title)[:80]
    if not slug or Playbook.objects.filter(slug=slug).exists():
        raise ValidationError({"title": "A playbook with this name exists already."})
    playbook = Playbook.objects.create(slug=slug, title=title, categories=_check_categories(categories))
    _write_version(
        playbook=playbook,
        actor=actor,
        summary=clean_text(summary, field="summary", label="The summary", required=False),
        change_note="First version",
        steps=_check_steps(steps),
        levels=_check_levels(levels),
    )
    return playbook


@transaction.atomic
def playbook_revise(
    *,
    actor: Any,
    playbook: Playbook,
    summary: str,
    steps: Sequence[StepSpec],
    levels: Sequence[LevelSpec],
    change_note: str,
    title: str | None = None,
    categories: Sequence[str] | None = None,
) -> PlaybookVersion:
    """Write the next version and make it current; running checklists keep the version they pinned."""
    _require_lead(actor)
    playbook = Playbook.objects.select_for_update().get(pk=playbook.pk)
    change_note = clean_text(change_note, field="change_note", label="What changed", limit=300)
    fields = []
    if title is not None:
        playbook.title = clean_text(title, field="title", label="A title", limit=TITLE_MAX)
        fields.append("title")
    if categories is not None:
        playbook.categories = _check_categories(categories)
        fields.append("categories")
    if fields:
        playbook.save(update_fields=fields)
    return _write_version(
        playbook=playbook,
        actor=actor,
        summary=clean_text(summary, field="summary", label="The summary", required=False),
        change_note=change_note,
        steps=_check_steps(steps),
        levels=_check_levels(levels),
    )


@transaction.atomic
def playbook_start(
    *, actor: Any, incident: Incident, playbook: Playbook, at: dt.datetime | None = None
) -> PlaybookRun:
    """Start a playbook on an incident: pin its current version and create the checklist.

    ``at`` records a start made earlier (written down afterwards); it is neither in the future nor
    before the report.
    """
    incident = lock_incident(actor=actor, incident=incident)
    require_manage(actor, incident)
    if incident.status in (Status.RESOLVED, Status.CLOSED):
        raise ValidationError(
            {"playbook": f"{incident.reference} is {incident.get_status_display().lower()}."}
        )
    if PlaybookRun.objects.filter(incident=incident).exists():
        raise ValidationError({"playbook": "A playbook is already running on this incident."})
    current = Playbook.objects.filter(pk=playbook.pk).values_list("current_version_id", flat=True).first()
    version = (
        PlaybookVersion.objects.filter(pk=current).prefetch_related("steps").first() if current else None
    )
    if version is None:
        raise ValidationError({"playbook": "This playbook has no version yet."})
    now = not_in_future(at, field="at", label="The start") if at else timezone.now()
    if now < incident.reported_at:
        raise ValidationError({"at": "A playbook cannot start before the incident was reported."})
    run = PlaybookRun.objects.create(incident=incident, version=version, started_by=actor, started_at=now)
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            run=run,
            position=step.position,
            title=step.title,
            guidance=step.guidance,
            role=step.role,
            due_at=now + dt.timedelta(minutes=step.target_minutes),
        )
        for step in version.steps.all()
    )
    touch(incident)
    timeline_add(
        incident=incident,
        kind=EntryKind.PLAYBOOK,
        text=f"Playbook “{playbook.title}” version {version.number} started by {actor_label(actor)}"
        f" ({version.steps.count()} steps)",
        actor=actor,
        at=now,
        data={"playbook_id": playbook.pk, "version": version.number},
    )
    return run


@transaction.atomic
def checklist_item_complete(
    *, actor: Any, item: ChecklistItem, note: str = "", at: dt.datetime | None = None
) -> ChecklistItem:
    """Tick a step of the checklist; the timeline says who did it and when (``at``: done earlier)."""
    run = PlaybookRun.objects.select_related("incident").get(pk=item.run_id)
    incident = lock_incident(actor=actor, incident=run.incident)
    require_manage(actor, incident)
    if incident.status == Status.CLOSED:
        raise ValidationError({"item": f"{incident.reference} is closed."})
    item = ChecklistItem.objects.select_for_update().get(pk=item.pk)
    if item.done_at is not None:
        raise ValidationError({"item": f"Step {item.position} is already done."})
    note = clean_text(note, field="note", label="The note", required=False, limit=2000)
    item.done_at = not_in_future(at, field="at", label="When it was done") if at else timezone.now()
    if item.done_at < run.started_at:
        raise ValidationError({"at": "A step cannot be done before its playbook started."})
    item.done_by = actor
    item.save(update_fields=["done_at", "done_by"])
    touch(incident)
    late = " (late)" if item.done_at > item.due_at else ""
    timeline_add(
        incident=incident,
        kind=EntryKind.STEP,
        text=f"Step {item.position} done{late} by {actor_label(actor)}: {item.title}"
        + (f". {note}" if note else ""),
        actor=actor,
        at=item.done_at,
        data={"item_id": item.pk, "position": item.position},
    )
    return item


def step_specs_from_rows(rows: Sequence[dict[str, Any]]) -> list[StepSpec]:
    return [
        StepSpec(
            title=str(row.get("title", "")),
            role=str(row.get("role", "")),
            target_minutes=int(row.get("target_minutes") or 0),
            guidance=str(row.get("guidance", "")),
        )
        for row in rows
    ]


def level_specs_from_rows(rows: Sequence[dict[str, Any]]) -> list[LevelSpec]:
    return [
        LevelSpec(
            target=str(row.get("target", "")),
            after_minutes=int(row.get("after_minutes") or 0),
            person=str(row.get("person") or ""),
        )
        for row in rows
    ]
