"""The audits API: engagements (leads open, auditors read their own), bundles, report, OSCAL, verification."""

import datetime as dt
import io
import zipfile

import pytest
from django.utils import timezone

from hygiene.models import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)


def _engagement_body(auditor, team_a):
    today = timezone.localdate()
    return {
        "name": "SOC review",
        "auditor": auditor.username,
        "period_start": (today - dt.timedelta(days=10)).isoformat(),
        "period_end": today.isoformat(),
        "ends_at": (timezone.now() + dt.timedelta(days=3)).isoformat(),
        "frameworks": ["nist-csf-2.0"],
        "teams": [team_a.slug],
        "restricted_in_scope": True,
    }


def test_lead_opens_an_engagement_by_api_and_a_member_cannot(api_client, lead, owner, auditor, team_a):
    api_client.force_authenticate(owner)
    assert (
        api_client.post("/api/v1/engagements/", _engagement_body(auditor, team_a), format="json").status_code
        == 403
    )
    api_client.force_authenticate(lead)
    response = api_client.post("/api/v1/engagements/", _engagement_body(auditor, team_a), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["teams"] == ["research"] and response.json()["is_active"] is True


def test_engagement_for_someone_without_the_auditor_role_is_refused(api_client, lead, owner, team_a):
    api_client.force_authenticate(lead)
    response = api_client.post("/api/v1/engagements/", _engagement_body(owner, team_a), format="json")
    assert response.status_code == 400
    assert "not an auditor" in str(response.json())


def test_auditor_lists_only_their_engagements(api_client, auditor, engagement, lead):
    from tests.factories import UserFactory
    from tests.factories.audits import EngagementFactory

    other = UserFactory(username="auditor-2", role="Auditor")
    EngagementFactory(auditor=other, opened_by=lead)
    api_client.force_authenticate(auditor)
    assert [row["id"] for row in api_client.get("/api/v1/engagements/").json()] == [engagement.pk]


def test_bundle_by_api_builds_downloads_and_verifies(api_client, auditor, estate, engagement):
    api_client.force_authenticate(auditor)
    response = api_client.post(f"/api/v1/engagements/{engagement.pk}/bundles/")
    assert response.status_code == 202
    bundle = api_client.get(f"/api/v1/bundles/{response.json()['id']}/").json()
    assert bundle["status"] == "done" and bundle["download_url"]
    data = b"".join(api_client.get(bundle["download_url"]).streaming_content)
    ok = api_client.post("/api/v1/bundles/verify/", {"file": io.BytesIO(data)}, format="multipart")
    assert ok.status_code == 200 and ok.json()["ok"] is True
    assert AuditEntry.objects.filter(action="download", object_type="audits_evidencebundle").exists()

    tampered = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            if info.filename != "records/findings.json":
                target.writestr(info.filename, source.read(info))
    tampered.seek(0)
    bad = api_client.post("/api/v1/bundles/verify/", {"file": tampered}, format="multipart")
    assert bad.status_code == 422
    assert bad.json()["missing"] == ["records/findings.json"]


def test_report_and_oscal_by_api(api_client, auditor, estate, engagement):
    api_client.force_authenticate(auditor)
    assert api_client.get(f"/api/v1/engagements/{engagement.pk}/report/").content.startswith(b"%PDF-")
    oscal = api_client.get(f"/api/v1/engagements/{engagement.pk}/oscal/").json()
    assert oscal["assessment-results"]["metadata"]["oscal-version"] == "1.1.3"


def test_ended_engagement_refuses_bundles_and_exports(api_client, auditor, lead, engagement):
    api_client.force_authenticate(lead)
    assert api_client.post(f"/api/v1/engagements/{engagement.pk}/end/").status_code == 200
    api_client.force_authenticate(auditor)
    response = api_client.post(f"/api/v1/engagements/{engagement.pk}/bundles/")
    assert response.status_code == 403 and "ended" in response.json()["detail"]
    assert api_client.get(f"/api/v1/engagements/{engagement.pk}/report/").status_code == 403


def test_members_cannot_verify_or_see_engagements(api_client, teammate, engagement):
    api_client.force_authenticate(teammate)
    assert api_client.get("/api/v1/engagements/").json() == []
    assert api_client.get(f"/api/v1/engagements/{engagement.pk}/").status_code == 404
    response = api_client.post("/api/v1/bundles/verify/", {"file": io.BytesIO(b"x")}, format="multipart")
    assert response.status_code == 403


def test_openapi_schema_documents_the_audits_api(api_client, lead):
    api_client.force_authenticate(lead)
    schema = api_client.get("/api/v1/schema/?format=json").json()
    for path in ("/api/v1/engagements/", "/api/v1/bundles/verify/", "/api/v1/exports/{key}/{export_format}/"):
        assert path in schema["paths"]


def test_engagement_records_by_api_are_its_scope(api_client, auditor, estate, restricted_engagement):
    import json

    api_client.force_authenticate(auditor)
    response = api_client.get(f"/api/v1/engagements/{restricted_engagement.pk}/records/assets/json/")
    names = {row["name"] for row in json.loads(b"".join(response.streaming_content))}
    assert names == {"churn-model", "patients"}
    assert (
        api_client.get(f"/api/v1/engagements/{restricted_engagement.pk}/records/nope/json/").status_code
        == 404
    )
