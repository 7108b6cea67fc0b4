"""Tabletop exercises and disaster-recovery drills a team runs against a playbook."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from hygiene.models import Team
from hygiene.permissions import can_change
from incidents.models import Exercise, ExerciseKind, Playbook
from incidents.services.common import clean_text

MAX_PARTICIPANTS = 200


@transaction.atomic
def exercise_record(
    *,
    actor: Any,
    team: Team,
    playbook: Playbook,
    kind: str,
    held_on: dt.date,
    scenario: str,
    participant_ids: Sequence[int] = (),
    gaps_found: str = "",
) -> Exercise:
    """Record an exercise held by a team against the playbook's current version."""
    if actor is not None and not can_change(actor, team, team_id=team.pk):
        raise PermissionDenied(
            f"Only {team.name}'s security champion or lead, or a security lead, records exercises."
        )
    if kind not in ExerciseKind.values:
        raise ValidationError({"kind": "Choose a tabletop exercise or a disaster-recovery drill."})
    if held_on is None or held_on > timezone.localdate():
        raise ValidationError(
            {"held_on": "Record an exercise once it has been held (the date cannot be in the future)."}
        )
    scenario = clean_text(scenario, field="scenario", label="The scenario")
    gaps_found = clean_text(gaps_found, field="gaps_found", label="The gaps found", required=False)
    playbook = Playbook.objects.select_related("current_version").get(pk=playbook.pk)
    if playbook.current_version is None:
        raise ValidationError({"playbook": "This playbook has no version yet."})
    ids = sorted({int(pk) for pk in participant_ids})
    if len(ids) > MAX_PARTICIPANTS:
        raise ValidationError({"participants": f"At most {MAX_PARTICIPANTS} participants."})
    people = list(get_user_model().objects.filter(pk__in=ids, is_active=True))
    if len(people) != len(ids):
        raise ValidationError({"participants": "Some participants do not exist."})
    exercise = Exercise.objects.create(
        team=team,
        playbook=playbook,
        version=playbook.current_version,
        kind=kind,
        held_on=held_on,
        scenario=scenario,
        gaps_found=gaps_found,
        recorded_by=actor,
    )
    exercise.participants.set(people)
    return exercise
