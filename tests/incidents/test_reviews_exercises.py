"""Post-incident reviews, the anonymized summary on Learnings, follow-ups, and exercises for controls."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from incidents.models import Status
from incidents.selectors import exercise_last_held_by_playbook, exercise_last_held_by_team, learning_list
from incidents.services import (
    exercise_record,
    followup_add,
    followup_complete,
    incident_transition,
    review_publish,
    review_save,
)
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.factories.assets import AssetFactory
from tests.factories.incidents import ExerciseFactory, IncidentFactory, playbook

pytestmark = pytest.mark.django_db


def resolved(owner, team, **kwargs):
    incident = IncidentFactory(team=team, **kwargs)
    for status in (Status.ACKNOWLEDGED, Status.CONTAINED, Status.RESOLVED):
        incident = incident_transition(actor=owner, incident=incident, status=status)
    return incident


SUMMARY = (
    "owner found that teammate (teammate@example.org) had pasted the key of chat-gateway into a notebook; "
    "the Research team rotated registry.example.org/research/chat-gateway:2.1 credentials. OpenAI keys were "
    "involved."
)


def test_published_summary_names_no_person_team_asset_or_identifier(owner, teammate, team_a):
    asset = AssetFactory(
        team=team_a, name="chat-gateway", identifiers=["registry.example.org/research/chat-gateway:2.1"]
    )
    incident = resolved(owner, team_a)
    incident.asset_links.create(asset=asset)
    review_save(
        actor=owner, incident=incident, root_cause="Key in notebook", lessons="Use the vault", summary=SUMMARY
    )
    review = review_publish(actor=owner, incident=incident)
    text = review.published_summary
    for term in ("owner", "teammate", "chat-gateway", "registry.example.org", "Research", "example.org"):
        assert term.lower() not in text.lower(), term
    assert "[person]" in text and "[asset]" in text and "[identifier]" in text and "[team]" in text
    assert "OpenAI keys were involved." in text
    assert list(learning_list()) == [review]


def test_author_may_keep_a_term_on_purpose(owner, teammate, team_a):
    asset = AssetFactory(team=team_a, name="chat-gateway")
    incident = resolved(owner, team_a)
    incident.asset_links.create(asset=asset)
    review_save(
        actor=owner,
        incident=incident,
        root_cause="x",
        lessons="",
        summary=SUMMARY,
        kept_terms=["chat-gateway"],
    )
    text = review_publish(actor=owner, incident=incident).published_summary
    assert "chat-gateway" in text and "teammate" not in text


def test_review_waits_for_resolution(owner, team_a):
    with pytest.raises(ValidationError, match="once it is resolved"):
        review_save(actor=owner, incident=IncidentFactory(team=team_a), root_cause="x", lessons="")


def test_learnings_show_on_the_page_for_an_outsider_without_names(client, owner, outsider, team_a):
    incident = resolved(owner, team_a)
    review_save(
        actor=owner, incident=incident, root_cause="x", lessons="", summary="owner leaked it in Research"
    )
    review_publish(actor=owner, incident=incident)
    client_for(client, outsider)
    text = client.get("/incidents/learnings/").content.decode()
    assert "[person] leaked it in [team]" in text and "Research" not in text.split("<main")[1]


def test_follow_up_owner_is_from_the_team_and_is_told(owner, teammate, outsider, team_a):
    incident = resolved(owner, team_a)
    due = timezone.localdate() + dt.timedelta(days=7)
    followup = followup_add(
        actor=owner, incident=incident, title="Add a pre-commit secret scan", owner=teammate, due_on=due
    )
    assert teammate.notifications.filter(kind="followup_assigned").exists()
    with pytest.raises(ValidationError, match="is not in Research"):
        followup_add(actor=owner, incident=incident, title="x", owner=outsider, due_on=due)
    followup_complete(actor=teammate, followup=followup)
    followup.refresh_from_db()
    assert followup.done_at is not None


def test_member_cannot_add_follow_ups(teammate, owner, team_a):
    incident = resolved(owner, team_a)
    with pytest.raises(PermissionDenied):
        followup_add(
            actor=teammate, incident=incident, title="x", owner=teammate, due_on=timezone.localdate()
        )


def test_exercise_pins_the_playbook_version_and_feeds_the_controls(owner, team_a, team_b):
    book = playbook("prompt-injection")
    held = timezone.localdate() - dt.timedelta(days=10)
    exercise = exercise_record(
        actor=owner, team=team_a, playbook=book, kind="tabletop", held_on=held, scenario="Injected tool call",
        participant_ids=[owner.pk], gaps_found="No kill switch",
    )  # fmt: skip
    assert exercise.version == book.current_version
    from hygiene.models import AuditEntry

    assert AuditEntry.objects.filter(object_type="incidents_exerciseparticipant", action="insert").exists()
    ExerciseFactory(team=team_a, held_on=held - dt.timedelta(days=100))
    ExerciseFactory(team=team_b, held_on=held - dt.timedelta(days=5), kind="dr_drill")
    assert exercise_last_held_by_team() == {team_a.pk: held, team_b.pk: held - dt.timedelta(days=5)}
    assert exercise_last_held_by_team(kind="dr_drill") == {team_b.pk: held - dt.timedelta(days=5)}
    assert exercise_last_held_by_playbook(team_id=team_a.pk)[book.pk] == held


def test_exercise_in_the_future_or_by_a_member_is_refused(owner, teammate, team_a):
    with pytest.raises(ValidationError, match="future"):
        exercise_record(
            actor=owner, team=team_a, playbook=playbook(), kind="tabletop",
            held_on=timezone.localdate() + dt.timedelta(days=1), scenario="x",
        )  # fmt: skip
    with pytest.raises(PermissionDenied):
        exercise_record(
            actor=teammate, team=team_a, playbook=playbook(), kind="tabletop", held_on=timezone.localdate(),
            scenario="x",
        )  # fmt: skip


def test_follow_up_owner_leaving_does_not_break_the_overview(client, owner, team_a):
    person = UserFactory(username="leaver")
    from hygiene.models import Membership

    Membership.objects.create(team=team_a, user=person)
    incident = resolved(owner, team_a)
    followup_add(actor=owner, incident=incident, title="Document", owner=person, due_on=timezone.localdate())
    Membership.objects.filter(user=person).delete()
    client_for(client, person)
    assert client.get("/").status_code == 200
