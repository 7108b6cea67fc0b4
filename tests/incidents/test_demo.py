"""The demo data shows incidents in every state, playbooks running, an escalation, learnings and exercises."""

import io

import pytest
from django.core.management import call_command

from incidents.models import Escalation, Exercise, FollowUp, Incident, PlaybookRun, Review, Status
from incidents.selectors import exercise_last_held_by_team
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_demo_has_incidents_in_every_state_with_playbooks_escalation_and_learnings(
    settings, tmp_path, client
):
    settings.HYGIENE_SCAN_FOLDER_ROOTS = [str(tmp_path)]

    call_command("seed_demo", stdout=io.StringIO())

    assert set(Incident.objects.values_list("status", flat=True)) == set(Status.values)
    assert (
        PlaybookRun.objects.filter(incident__status__in=[Status.ACKNOWLEDGED, Status.CONTAINED]).count() >= 2
    )
    assert Incident.objects.filter(escalation_level__gt=0, status=Status.REPORTED).exists()
    assert Escalation.objects.exists()
    assert Incident.objects.filter(is_restricted=True).exists()
    assert Review.objects.filter(published_at__isnull=False).exists()
    assert FollowUp.objects.filter(done_at__isnull=True).exists()
    assert Exercise.objects.count() == 3 and len(exercise_last_held_by_team()) == 3
    summary = Review.objects.get(published_at__isnull=False).published_summary
    assert "researcher" not in summary and "champion" not in summary and "support-llm-repo" not in summary

    from django.contrib.auth import get_user_model

    researcher = get_user_model().objects.get(username="researcher")
    client_for(client, researcher)
    assert "Enable the gitleaks pre-commit hook" in client.get("/").content.decode()
    for incident in Incident.objects.filter(team__slug="research"):
        assert client.get(incident.get_absolute_url()).status_code == 200
