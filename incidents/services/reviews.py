"""After the incident: the review, its anonymized summary for the Learnings page, and follow-up actions.

The published summary names no person, team, asset or asset identifier of the incident unless the author
kept that term on purpose: every such term found in the text is replaced by a placeholder.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from hygiene.models import Membership
from hygiene.permissions import can_change, is_security_lead
from hygiene.services.notifications import notification_send
from incidents.models import (
    TITLE_MAX,
    EntryKind,
    Exercise,
    FollowUp,
    Incident,
    IncidentAsset,
    IncidentFinding,
    Review,
    Status,
    TimelineEntry,
)
from incidents.services.common import (
    actor_label,
    clean_text,
    lock_incident,
    require_manage,
    timeline_add,
    touch,
)

MIN_TERM = 3  # shorter names ("QA", "ml") would blank out ordinary words


def identifying_terms(*, incident: Incident) -> list[tuple[str, str]]:
    """(term, placeholder) of every name and identifier the incident's summary must not reveal."""
    users = get_user_model()
    person_ids = set(Membership.objects.filter(team_id=incident.team_id).values_list("user_id", flat=True))
    person_ids |= {pk for pk in (incident.reporter_id, incident.commander_id) if pk}
    person_ids |= set(
        TimelineEntry.objects.filter(incident=incident, actor__isnull=False).values_list(
            "actor_id", flat=True
        )
    )
    person_ids |= set(FollowUp.objects.filter(incident=incident).values_list("owner_id", flat=True))
    terms: list[tuple[str, str]] = []
    for person in users.objects.filter(pk__in=person_ids):
        full = person.get_full_name().strip() if hasattr(person, "get_full_name") else ""
        for value in (person.get_username(), person.email, full, person.first_name, person.last_name):
            terms.append((value, "[person]"))
        if person.email:
            terms.append((person.email.split("@")[0], "[person]"))
    from assets.models import Asset

    asset_ids = set(IncidentAsset.objects.filter(incident=incident).values_list("asset_id", flat=True))
    asset_ids |= set(
        IncidentFinding.objects.filter(incident=incident).values_list("finding__asset_id", flat=True)
    )
    for asset in (
        Asset.objects.filter(pk__in=asset_ids)
        .select_related("team")
        .only("name", "identifiers", "team__name", "team__slug")
    ):
        terms.append((asset.name, "[asset]"))
        terms.extend(((asset.team.name, "[team]"), (asset.team.slug, "[team]")))
        terms.extend((identifier, "[identifier]") for identifier in asset.identifiers)
    terms.append((incident.team.name, "[team]"))
    terms.append((incident.team.slug, "[team]"))
    return [(term.strip(), placeholder) for term, placeholder in terms if len(term.strip()) >= MIN_TERM]


def anonymize(text: str, *, terms: Iterable[tuple[str, str]], kept: Iterable[str] = ()) -> str:
    """Replace each term (longest first, whole words, any case) by its placeholder, except the kept ones."""
    keep = {term.strip().lower() for term in kept if term.strip()}
    ordered = sorted({(t, p) for t, p in terms if t.lower() not in keep}, key=lambda pair: -len(pair[0]))
    for term, placeholder in ordered:
        pattern = re.compile(rf"(?<![\w.@/-]){re.escape(term)}(?![\w@/-]|\.\w)", re.IGNORECASE)
        text = pattern.sub(placeholder, text)
    return text


def review_preview(*, incident: Incident, summary: str, kept: Sequence[str]) -> str:
    return anonymize(summary, terms=identifying_terms(incident=incident), kept=kept)


@transaction.atomic
def review_save(
    *,
    actor: Any,
    incident: Incident,
    root_cause: str,
    lessons: str,
    summary: str = "",
    kept_terms: Sequence[str] = (),
) -> Review:
    """Write or update the post-incident review (once the incident is resolved)."""
    incident = lock_incident(actor=actor, incident=incident)
    require_manage(actor, incident)
    if incident.status not in (Status.RESOLVED, Status.CLOSED):
        raise ValidationError({"root_cause": "Review the incident once it is resolved."})
    root_cause = clean_text(root_cause, field="root_cause", label="The root cause")
    lessons = clean_text(lessons, field="lessons", label="The lessons", required=False)
    summary = clean_text(summary, field="summary", label="The summary", required=False)
    kept = sorted({term.strip() for term in kept_terms if term.strip()})[:50]
    review, created = Review.objects.select_for_update().get_or_create(
        incident=incident, defaults={"root_cause": root_cause, "author": actor}
    )
    review.root_cause, review.lessons, review.summary, review.kept_terms = root_cause, lessons, summary, kept
    review.updated_at = timezone.now()
    fields = ["root_cause", "lessons", "summary", "kept_terms", "updated_at"]
    if review.published_at is not None:  # a published summary follows the text it was made from
        review.published_summary = review_preview(incident=incident, summary=summary, kept=kept)
        fields.append("published_summary")
    review.save(update_fields=fields)
    timeline_add(
        incident=incident,
        kind=EntryKind.REVIEW,
        text=f"Post-incident review {'written' if created else 'updated'} by {actor_label(actor)}",
        actor=actor,
    )
    return review


@transaction.atomic
def review_publish(*, actor: Any, incident: Incident, publish: bool = True) -> Review:
    """Publish the anonymized summary to the Learnings page (or take it down)."""
    incident = lock_incident(actor=actor, incident=incident)
    require_manage(actor, incident)
    review = Review.objects.select_for_update().filter(incident=incident).first()
    if review is None or (publish and not review.summary.strip()):
        raise ValidationError({"summary": "Write the review and its summary before publishing it."})
    if publish:
        review.published_summary = review_preview(
            incident=incident, summary=review.summary, kept=review.kept_terms
        )
        review.published_at = timezone.now()
    else:
        review.published_summary = ""
        review.published_at = None
    review.save(update_fields=["published_summary", "published_at"])
    timeline_add(
        incident=incident,
        kind=EntryKind.REVIEW,
        text=f"Anonymized summary {'published to Learnings' if publish else 'withdrawn'}"
        f" by {actor_label(actor)}",
        actor=actor,
    )
    return review


def _check_owner(owner: Any, team_id: int, team_name: str) -> None:
    if owner is None or not owner.is_active:
        raise ValidationError({"owner": "Choose who owns the action."})
    if not (Membership.objects.filter(team_id=team_id, user_id=owner.pk).exists() or is_security_lead(owner)):
        raise ValidationError({"owner": f"{owner.get_username()} is not in {team_name}."})


@transaction.atomic
def followup_add(
    *,
    actor: Any,
    title: str,
    owner: Any,
    due_on: dt.date,
    incident: Incident | None = None,
    exercise: Exercise | None = None,
) -> FollowUp:
    """A follow-up action of a review or an exercise; its owner is told."""
    title = clean_text(title, field="title", label="The action", limit=TITLE_MAX)
    if due_on is None:
        raise ValidationError({"due_on": "Give a due date."})
    if incident is not None:
        incident = lock_incident(actor=actor, incident=incident)
        require_manage(actor, incident)
        team_id, team_name, label, url = (
            incident.team_id,
            incident.team.name,
            incident.reference,
            incident.get_absolute_url(),
        )
    elif exercise is not None:
        exercise = Exercise.objects.select_related("team").get(pk=exercise.pk)
        if actor is not None and not can_change(actor, exercise, team_id=exercise.team_id):
            raise PermissionDenied(f"Only {exercise.team.name}'s security champion or lead can add actions.")
        team_id, team_name, label, url = (
            exercise.team_id,
            exercise.team.name,
            str(exercise),
            exercise.get_absolute_url(),
        )
    else:
        raise ValidationError({"title": "A follow-up belongs to an incident or an exercise."})
    _check_owner(owner, team_id, team_name)
    followup = FollowUp.objects.create(
        incident=incident, exercise=exercise, title=title, owner=owner, due_on=due_on, created_by=actor
    )
    if incident is not None:
        touch(incident)
        timeline_add(
            incident=incident,
            kind=EntryKind.REVIEW,
            text=f"Follow-up “{title}” for {owner.get_username()} due {due_on:%Y-%m-%d}",
            actor=actor,
            data={"followup_id": followup.pk},
        )
    notification_send(
        recipients=[owner],
        kind="followup_assigned",
        title=f"Action for you ({label}): {title}",
        body=f"Due {due_on:%Y-%m-%d}.",
        url=url,
    )
    return followup


@transaction.atomic
def followup_complete(*, actor: Any, followup: FollowUp) -> FollowUp:
    """Mark an action done (its owner, or someone who manages the incident or exercise)."""
    followup = (
        FollowUp.objects.select_for_update(of=("self",))
        .select_related("incident", "exercise")
        .get(pk=followup.pk)
    )
    if followup.done_at is not None:
        raise ValidationError({"followup": "This action is already done."})
    if actor is not None and followup.owner_id != actor.pk:
        if followup.incident is not None:
            require_manage(actor, lock_incident(actor=actor, incident=followup.incident))
        elif followup.exercise is not None and not can_change(
            actor, followup.exercise, team_id=followup.exercise.team_id
        ):
            raise PermissionDenied("Only the owner or the team's champion or lead can close this action.")
    followup.done_at = timezone.now()
    followup.save(update_fields=["done_at"])
    if followup.incident is not None:
        timeline_add(
            incident=followup.incident,
            kind=EntryKind.REVIEW,
            text=f"Follow-up “{followup.title}” done ({actor_label(actor)})",
            actor=actor,
            data={"followup_id": followup.pk},
        )
    return followup
