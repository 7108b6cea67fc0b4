"""Every incidents page and endpoint for the personas: owner (champion), teammate, outsider, auditor, lead;
restricted incidents and grants by name."""

import pytest

from incidents.services import incident_grant
from tests.conftest import client_for
from tests.factories.assets import AssetFactory, level
from tests.factories.incidents import ExerciseFactory, IncidentFactory

pytestmark = pytest.mark.django_db

PERSONAS = ("owner", "teammate", "outsider", "auditor", "lead")


@pytest.fixture
def people(owner, teammate, outsider, auditor, lead):
    return {"owner": owner, "teammate": teammate, "outsider": outsider, "auditor": auditor, "lead": lead}


def test_every_page_answers_each_persona_as_it_should(client, people, team_a):
    incident = IncidentFactory(team=team_a)
    exercise = ExerciseFactory(team=team_a)
    expected = {
        "/incidents/": {p: 200 for p in PERSONAS},
        "/incidents/learnings/": {p: 200 for p in PERSONAS},
        "/incidents/playbooks/": {p: 200 for p in PERSONAS},
        "/incidents/playbooks/prompt-injection/": {p: 200 for p in PERSONAS},
        "/incidents/exercises/": {p: 200 for p in PERSONAS},
        "/incidents/export.csv": {p: 200 for p in PERSONAS},
        f"/incidents/{incident.pk}/": {
            "owner": 200,
            "teammate": 200,
            "outsider": 404,
            "auditor": 200,
            "lead": 200,
        },
        exercise.get_absolute_url(): {
            "owner": 200,
            "teammate": 200,
            "outsider": 404,
            "auditor": 200,
            "lead": 200,
        },
        "/incidents/report/": {"owner": 200, "teammate": 200, "outsider": 200, "auditor": 403, "lead": 200},
        "/incidents/exercises/new/": {
            "owner": 200,
            "teammate": 403,
            "outsider": 403,
            "auditor": 403,
            "lead": 200,
        },
        "/incidents/playbooks/new/": {
            "owner": 403,
            "teammate": 403,
            "outsider": 403,
            "auditor": 403,
            "lead": 200,
        },
    }
    for name, person in people.items():
        client_for(client, person)
        for url, statuses in expected.items():
            assert client.get(url).status_code == statuses[name], (name, url)


def test_every_endpoint_answers_each_persona_as_it_should(api_client, people, team_a):
    incident = IncidentFactory(team=team_a)
    exercise = ExerciseFactory(team=team_a)
    reads = {
        "/api/v1/incidents/": {p: 200 for p in PERSONAS},
        f"/api/v1/incidents/{incident.pk}/": {"owner": 200, "teammate": 200, "outsider": 404, "auditor": 200,
                                              "lead": 200},
        f"/api/v1/exercises/{exercise.pk}/": {"owner": 200, "teammate": 200, "outsider": 404, "auditor": 200,
                                              "lead": 200},
        "/api/v1/playbooks/": {p: 200 for p in PERSONAS},
        "/api/v1/learnings/": {p: 200 for p in PERSONAS},
        "/api/v1/followups/overdue/": {p: 200 for p in PERSONAS},
        "/api/v1/incidents/export/?as=csv": {p: 200 for p in PERSONAS},
    }  # fmt: skip
    for name, person in people.items():
        api_client.force_authenticate(person)
        for url, statuses in reads.items():
            assert api_client.get(url).status_code == statuses[name], (name, url)
        response = api_client.post(f"/api/v1/incidents/{incident.pk}/notes/", {"text": "x"}, format="json")
        expected = {"owner": 201, "teammate": 201, "outsider": 404, "auditor": 403, "lead": 201}[name]
        assert response.status_code == expected, (name, "notes")


def test_a_person_granted_a_restricted_incident_by_name_sees_it_until_revoked(
    client, owner, outsider, auditor, team_a
):
    incident = IncidentFactory(team=team_a, title="Restricted one")
    incident.asset_links.create(asset=AssetFactory(team=team_a, classification=level("restricted")))
    client_for(client, outsider)
    assert client.get(f"/incidents/{incident.pk}/").status_code == 404
    incident_grant(actor=owner, incident=incident, person=outsider)
    assert client.get(f"/incidents/{incident.pk}/").status_code == 200
    assert "Restricted one" in client.get("/incidents/").content.decode()
    incident_grant(actor=owner, incident=incident, person=outsider, revoke=True)
    assert client.get(f"/incidents/{incident.pk}/").status_code == 404


def test_sharing_is_for_managers_and_not_for_auditors(client, owner, teammate, auditor, outsider, team_a):
    from django.core.exceptions import PermissionDenied, ValidationError

    incident = IncidentFactory(team=team_a)
    with pytest.raises(PermissionDenied):
        incident_grant(actor=teammate, incident=incident, person=outsider)
    with pytest.raises(ValidationError, match="audit engagement"):
        incident_grant(actor=owner, incident=incident, person=auditor)
    client_for(client, owner)
    response = client.post(f"/incidents/{incident.pk}/access/", {"username": "outsider"}, follow=True)
    assert "outsider now sees" in response.content.decode()
