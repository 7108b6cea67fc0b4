"""The controls pages and API for the personas: owner (champion), teammate, outsider, auditor, lead."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from controls.models import Assessment, Control, ControlOwnership, Evidence, RiskException
from controls.services.assessments import assessment_run
from controls.services.catalogs import builtin_catalogs_load
from controls.services.controls import baseline_seed
from controls.services.evidence import evidence_add
from hygiene.models import AuditEntry
from tests.conftest import client_for
from tests.factories.assets import AssetFactory, level
from tests.factories.controls import ExceptionFactory
from tests.factories.findings import FindingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(team_a, team_b, owner, teammate):
    """The baseline over a few assets of two teams, one of them restricted."""
    builtin_catalogs_load()
    baseline_seed(assess=False)
    model = AssetFactory(team=team_a, name="ranker", kind="model", environment="production")
    repo = AssetFactory(team=team_a, name="ranker-src", kind="repository")
    secret = AssetFactory(team=team_a, name="patients", kind="dataset", classification=level("restricted"))
    other = AssetFactory(team=team_b, name="billing", kind="endpoint")
    finding = FindingFactory(asset=repo, category="secret", rule_id="aws-key", severity="high")
    assessment_run()
    return {"model": model, "repo": repo, "secret": secret, "other": other, "finding": finding}


def _assessment(code, asset):
    return Assessment.objects.get(control__code=code, asset=asset)


PAGES = [
    "/controls/",
    "/controls/compliance/",
    "/controls/assessments/",
    "/controls/frameworks/",
    "/controls/frameworks/nist-ai-rmf-1/",
    "/controls/frameworks/owasp-llm-top-10-2025/",
    "/controls/gaps/",
    "/controls/exceptions/",
    "/controls/HYG-VUL-03/",
]


@pytest.mark.parametrize("persona", ["owner", "teammate", "outsider", "auditor", "lead"])
def test_every_controls_page_opens_for_every_persona(client, world, persona, request):
    client_for(client, request.getfixturevalue(persona))
    for url in PAGES:
        assert client.get(url).status_code == 200, url


def test_nav_item_leads_to_controls(client, world, teammate):
    client_for(client, teammate)
    html = client.get("/").content.decode()
    assert 'href="/controls/compliance/"' in html
    assert client.get("/controls/compliance/").status_code == 200


def test_another_teams_assessment_exception_and_evidence_are_404(client, world, outsider, owner, team_a):
    assessment = _assessment("HYG-SEC-01", world["repo"])
    exception = ExceptionFactory(asset=world["repo"], requested_by=owner)
    evidence = Evidence.objects.create(assessment=assessment, team=team_a, kind="text", title="t", text="x")
    client_for(client, outsider)
    assert client.get(f"/controls/assessments/{assessment.pk}/").status_code == 404
    assert client.get(f"/controls/exceptions/{exception.pk}/").status_code == 404
    assert client.get(f"/controls/evidence/{evidence.pk}/download/").status_code == 404
    assert client.get(f"/api/v1/assessments/{assessment.pk}/").status_code == 404
    assert client.get(f"/api/v1/exceptions/{exception.pk}/").status_code == 404
    assert client.get("/controls/gaps/research/").status_code == 404


def test_lists_show_only_what_the_person_may_see(client, world, outsider, teammate, auditor, lead):
    secret_id = world["secret"].pk
    client_for(client, outsider)
    rows = client.get("/api/v1/assessments/?page_size=1000").json()["results"]
    assert {r["team"] for r in rows} <= {"platform"}
    client_for(client, auditor)
    assets = {
        r["asset"] for r in client.get("/api/v1/assessments/?asset=" + str(secret_id)).json()["results"]
    }
    assert assets == set()  # restricted: not for auditors outside an engagement
    client_for(client, teammate)
    assert client.get(f"/api/v1/assessments/?asset={secret_id}").json()["count"] > 0
    client_for(client, lead)
    assert client.get(f"/api/v1/assessments/?asset={secret_id}").json()["count"] > 0


def test_compliance_numbers_count_what_the_person_sees_and_link_to_the_assessments(
    client, world, outsider, lead
):
    client_for(client, outsider)
    api = client.get("/api/v1/compliance/").json()
    teams = {row["key"] for row in api["teams"]}
    assert teams == {"platform"}
    total = api["total"][0]
    listed = client.get("/api/v1/assessments/?page_size=1").json()["count"]
    assert total["applicable"] == listed
    html = client.get("/controls/compliance/").content.decode()
    assert "/controls/assessments/?framework=nist-ai-rmf-1&amp;status=passing" in html
    client_for(client, lead)
    assert {row["key"] for row in client.get("/api/v1/compliance/").json()["teams"]} == {
        "research",
        "platform",
    }


def test_framework_page_shows_requirements_with_their_controls_and_share(client, world, teammate):
    client_for(client, teammate)
    html = client.get("/controls/frameworks/owasp-llm-top-10-2025/").content.decode()
    assert "LLM02:2025" in html and "HYG-SEC-01" in html
    assert "CC BY-SA 4.0" in html
    requirement_link = "/controls/assessments/?framework=owasp-llm-top-10-2025&amp;requirement=LLM02%3A2025"
    assert requirement_link in html
    rows = client.get("/controls/assessments/?framework=owasp-llm-top-10-2025&requirement=LLM02:2025")
    assert "HYG-SEC-01" in rows.content.decode()


def test_asset_page_shows_its_controls(client, world, teammate):
    client_for(client, teammate)
    html = client.get(f"/assets/{world['repo'].pk}/").content.decode()
    assert 'id="controls-heading"' in html
    assert "HYG-SEC-01" in html and "1 open secret finding" in html


def test_member_gets_no_catalogue_editing_and_is_refused_if_they_try(client, world, teammate):
    client_for(client, teammate)
    assert "Add a control" not in client.get("/controls/").content.decode()
    assert client.get("/controls/new/").status_code == 403
    assert client.post("/controls/HYG-VUL-03/retire/").status_code == 403
    response = client.post("/api/v1/controls/", {"code": "X-1"}, content_type="application/json")
    assert response.status_code in (400, 403)


def test_lead_adds_edits_maps_and_retires_a_control_and_the_audit_log_has_it(client, world, lead):
    client_for(client, lead)
    data = {
        "code": "HYG-OPS-09", "title": "Model cards published", "objective": "Each model has a model card.",
        "domain": "model", "mode": "attested", "rule": "evidence", "scope": "asset", "cadence_days": 180,
        "applies_to_kinds": ["model"],
    }  # fmt: skip
    response = client.post("/controls/new/", data)
    assert response.status_code == 302
    control = Control.objects.get(code="HYG-OPS-09")
    client.post("/controls/HYG-OPS-09/edit/", {**data, "title": "Model cards published and current"})
    control.refresh_from_db()
    assert control.title == "Model cards published and current"
    client.post("/controls/HYG-OPS-09/mappings/", {"framework": "nist-ai-rmf-1", "requirement": "MAP 2.2"})
    assert control.mappings.get().requirement.identifier == "MAP 2.2"
    client.post("/controls/HYG-OPS-09/retire/")
    control.refresh_from_db()
    assert control.retired_at is not None
    entries = AuditEntry.objects.filter(object_type="controls_control", object_id=str(control.pk))
    assert set(entries.values_list("action", flat=True)) >= {"insert", "update"}
    assert AuditEntry.objects.filter(object_type="controls_controlmapping", action="insert").exists()


def test_gaps_list_unowned_controls_and_one_click_assigns_an_owner(client, world, owner, teammate, team_a):
    client_for(client, owner)
    html = client.get("/controls/gaps/research/").content.decode()
    assert "HYG-SEC-01" in html and "Assign" in html
    control = Control.objects.get(code="HYG-SEC-01")
    response = client.post(
        "/controls/gaps/research/assign/",
        {"control": control.pk, "owner": teammate.pk, "next": "team"},
        follow=True,
    )
    assert "teammate now owns HYG-SEC-01 in Research" in response.content.decode()
    ownership = ControlOwnership.objects.get(control=control, team=team_a)
    assert ownership.owner == teammate and ownership.champion == owner
    assert "HYG-SEC-01" not in client.get("/controls/gaps/research/").content.decode()


def test_a_plain_member_sees_gaps_but_is_not_offered_assignment_and_is_refused(
    client, world, teammate, owner
):
    client_for(client, teammate)
    html = client.get("/controls/gaps/research/").content.decode()
    assert "champion or lead assigns it" in html
    control = Control.objects.get(code="HYG-SEC-01")
    response = client.post(
        "/controls/gaps/research/assign/", {"control": control.pk, "owner": owner.pk}, follow=True
    )
    assert "Only a security lead or the champion or lead of Research" in response.content.decode()
    assert not ControlOwnership.objects.exists()


def test_owner_must_be_a_member_of_the_team(client, world, owner, outsider):
    client_for(client, owner)
    control = Control.objects.get(code="HYG-SEC-01")
    response = client.post(
        "/controls/gaps/research/assign/", {"control": control.pk, "owner": outsider.pk}, follow=True
    )
    assert "outsider is not a member of Research" in response.content.decode()


def test_evidence_file_is_served_as_an_attachment_with_nosniff(client, world, teammate):
    assessment = _assessment("HYG-GOV-01", world["model"])
    client_for(client, teammate)
    upload = SimpleUploadedFile(
        "report.html", b"<html><script>alert(1)</script></html>", content_type="text/html"
    )
    response = client.post(
        f"/controls/assessments/{assessment.pk}/evidence/",
        {"kind": "file", "title": "Pentest report", "file": upload, "collected_on": timezone.localdate()},
    )
    assert response.status_code == 302
    evidence = Evidence.objects.get(assessment=assessment)
    assert evidence.content_type == "text/html"
    assert len(evidence.sha256) == 64 and evidence.size_bytes == 38
    download = client.get(f"/controls/evidence/{evidence.pk}/download/")
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Type"] == "application/octet-stream"  # never rendered as HTML
    api = client.get(f"/api/v1/evidence/{evidence.pk}/download/")
    assert api["Content-Disposition"].startswith("attachment;") and api["X-Content-Type-Options"] == "nosniff"
    assessment.refresh_from_db()
    assert assessment.status == "passing"


def test_a_pdf_evidence_keeps_its_sniffed_type(client, world, teammate):
    assessment = _assessment("HYG-GOV-01", world["model"])
    client_for(client, teammate)
    upload = SimpleUploadedFile("r.txt", b"%PDF-1.7\n...", content_type="text/plain")
    client.post(
        f"/controls/assessments/{assessment.pk}/evidence/",
        {"kind": "file", "title": "Report", "file": upload, "collected_on": timezone.localdate()},
    )
    evidence = Evidence.objects.get(assessment=assessment)
    assert evidence.content_type == "application/pdf"
    assert client.get(f"/controls/evidence/{evidence.pk}/download/")["Content-Type"] == "application/pdf"


def test_evidence_over_the_cap_is_refused_before_it_is_read(client, world, teammate, settings):
    settings.HYGIENE_EVIDENCE_MAX_BYTES = 1024
    assessment = _assessment("HYG-GOV-01", world["model"])
    client_for(client, teammate)
    upload = SimpleUploadedFile("big.bin", b"x" * 200_000)
    response = client.post(
        f"/controls/assessments/{assessment.pk}/evidence/",
        {"kind": "file", "title": "Big", "file": upload, "collected_on": timezone.localdate()},
    )
    assert response.status_code == 413
    assert "limited to" in response.content.decode()
    assert not Evidence.objects.exists()


def test_evidence_cap_also_stops_a_body_that_lies_about_its_length(world, teammate, settings):
    from controls.services.evidence import EvidenceTooLarge

    settings.HYGIENE_EVIDENCE_MAX_BYTES = 1024
    assessment = _assessment("HYG-GOV-01", world["model"])
    with pytest.raises(EvidenceTooLarge):
        evidence_add(
            actor=teammate, assessment=assessment, kind="file", title="x",
            file=SimpleUploadedFile("a.bin", b"x" * 5000),
        )  # fmt: skip


def test_auditors_and_outsiders_cannot_attach_evidence(client, world, auditor, outsider):
    assessment = _assessment("HYG-GOV-01", world["model"])
    client_for(client, auditor)
    response = client.post(
        f"/controls/assessments/{assessment.pk}/evidence/",
        {"kind": "text", "title": "t", "text": "x", "collected_on": timezone.localdate()},
        follow=True,
    )
    assert "Only members of Research" in response.content.decode()
    client_for(client, outsider)
    response = client.post(
        f"/controls/assessments/{assessment.pk}/evidence/",
        {"kind": "text", "title": "t", "text": "x", "collected_on": timezone.localdate()},
    )
    assert response.status_code == 404
    assert not Evidence.objects.exists()


def test_member_requests_an_exception_from_a_finding_and_the_champion_approves_it(
    client, world, teammate, owner
):
    finding = world["finding"]
    client_for(client, teammate)
    html = client.get(f"/findings/{finding.pk}/").content.decode()
    assert f"/controls/exceptions/new/?finding={finding.pk}" in html
    form = client.get(f"/controls/exceptions/new/?finding={finding.pk}")
    assert "at most 90 days" in form.content.decode()
    too_long = (timezone.localdate() + dt.timedelta(days=120)).isoformat()
    data = {
        "title": "Rotated key, history rewrite pending", "justification": "Key revoked.",
        "risk_rating": "high", "finding": [finding.pk],
    }  # fmt: skip
    refused = client.post("/controls/exceptions/new/", {**data, "expires_on": too_long})
    assert refused.status_code == 400
    assert "at most 90 days" in refused.content.decode()
    ok = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    response = client.post("/controls/exceptions/new/", {**data, "expires_on": ok})
    exception = RiskException.objects.get()
    assert response.url == f"/controls/exceptions/{exception.pk}/"
    detail = client.get(response.url).content.decode()
    assert "You requested this exception" in detail
    refused = client.post(f"/controls/exceptions/{exception.pk}/approve/", follow=True)
    assert "you cannot decide on it" in refused.content.decode()

    client_for(client, owner)
    client.post(f"/controls/exceptions/{exception.pk}/approve/", {"comment": "fine"})
    finding.refresh_from_db()
    assert finding.status == "risk_accepted"
    assert _assessment("HYG-SEC-01", world["repo"]).status == "excepted"


def test_exception_api_refuses_self_approval_with_a_reason(client, world, owner):
    client_for(client, owner)
    expires = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    response = client.post(
        "/api/v1/exceptions/",
        {"title": "t", "justification": "j", "risk_rating": "low", "expires_on": expires,
         "findings": [world["finding"].pk]},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    exception_id = response.json()["id"]
    refused = client.post(f"/api/v1/exceptions/{exception_id}/approve/", {}, content_type="application/json")
    assert refused.status_code == 403
    assert "You requested this exception" in refused.json()["detail"]


def test_api_lists_frameworks_requirements_controls_and_owners(client, world, owner, teammate):
    client_for(client, owner)
    assert {f["slug"] for f in client.get("/api/v1/frameworks/").json()} >= {"nist-ai-rmf-1"}
    requirements = client.get("/api/v1/frameworks/owasp-llm-top-10-2025/requirements/").json()["results"]
    assert requirements[1]["identifier"] == "LLM02:2025" and "HYG-SEC-01" in requirements[1]["controls"]
    controls = client.get("/api/v1/controls/?page_size=100").json()
    assert controls["count"] >= 30
    response = client.post(
        "/api/v1/control-owners/",
        {"control": "HYG-SEC-01", "team": "research", "owner": "teammate"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert client.get("/api/v1/control-owners/?team=research").json()["results"][0]["owner"] == "teammate"
    gaps = client.get("/api/v1/control-gaps/?team=research").json()
    assert "HYG-SEC-01" not in {g["control"] for g in gaps}


def test_api_attaches_text_evidence_and_reassesses(client, world, teammate):
    assessment = _assessment("HYG-GOV-01", world["model"])
    client_for(client, teammate)
    response = client.post(
        f"/api/v1/assessments/{assessment.pk}/evidence/",
        {"kind": "text", "title": "Red team", "text": "Done by ACME"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert client.get(f"/api/v1/assessments/{assessment.pk}/").json()["status"] == "passing"


def test_openapi_schema_documents_the_controls_endpoints(client, world, teammate):
    client_for(client, teammate)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in ("/api/v1/controls/", "/api/v1/assessments/", "/api/v1/exceptions/{id}/approve/",
                 "/api/v1/compliance/", "/api/v1/frameworks/"):  # fmt: skip
        assert path in schema


API_READS = [
    "/api/v1/frameworks/",
    "/api/v1/frameworks/nist-ai-rmf-1/",
    "/api/v1/frameworks/nist-ai-rmf-1/requirements/",
    "/api/v1/controls/",
    "/api/v1/controls/HYG-VUL-03/",
    "/api/v1/assessments/",
    "/api/v1/exceptions/",
    "/api/v1/control-owners/",
    "/api/v1/control-gaps/",
    "/api/v1/compliance/",
]


@pytest.mark.parametrize("persona", ["owner", "teammate", "outsider", "auditor", "lead"])
def test_every_controls_endpoint_answers_every_persona(client, world, persona, request):
    client_for(client, request.getfixturevalue(persona))
    for url in API_READS:
        assert client.get(url).status_code == 200, url


def test_anonymous_requests_are_refused(client, world):
    assert client.get("/controls/compliance/").status_code == 302
    assert client.get("/api/v1/assessments/").status_code in (401, 403)


def test_auditors_write_nothing_through_the_api(client, world, auditor):
    client_for(client, auditor)
    assessment = _assessment("HYG-GOV-01", world["model"])
    expires = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    writes = [
        ("/api/v1/controls/", {"code": "X-1", "title": "t", "objective": "o", "domain": "model",
                               "mode": "attested", "cadence_days": 30}),
        (f"/api/v1/assessments/{assessment.pk}/evidence/", {"kind": "text", "title": "t", "text": "x"}),
        ("/api/v1/exceptions/", {"title": "t", "justification": "j", "risk_rating": "low",
                                 "expires_on": expires, "findings": [world["finding"].pk]}),
        ("/api/v1/control-owners/", {"control": "HYG-SEC-01", "team": "research", "owner": "owner"}),
    ]  # fmt: skip
    for url, body in writes:
        assert client.post(url, body, content_type="application/json").status_code == 403, url
    assert not Evidence.objects.exists() and not RiskException.objects.exists()


def test_a_member_sees_the_exception_of_a_teammate_but_cannot_decide_it(client, world, teammate, owner):
    other = ExceptionFactory(asset=world["repo"], requested_by=owner)
    client_for(client, teammate)
    html = client.get(f"/controls/exceptions/{other.pk}/").content.decode()
    assert "Approve" not in html
    response = client.post(f"/controls/exceptions/{other.pk}/approve/", follow=True)
    assert "Only a security lead or the champion or lead of Research" in response.content.decode()


def test_api_refuses_an_evidence_file_over_the_cap(client, world, teammate, settings):
    settings.HYGIENE_EVIDENCE_MAX_BYTES = 1024
    assessment = _assessment("HYG-GOV-01", world["model"])
    client_for(client, teammate)
    response = client.post(
        f"/api/v1/assessments/{assessment.pk}/evidence/",
        {"kind": "file", "title": "Big", "file": SimpleUploadedFile("big.bin", b"x" * 200_000)},
    )
    assert response.status_code == 413
    assert "limited to" in response.json()["detail"]
    assert not Evidence.objects.exists()


def test_api_attaches_an_evidence_file(client, world, teammate):
    assessment = _assessment("HYG-GOV-01", world["model"])
    client_for(client, teammate)
    response = client.post(
        f"/api/v1/assessments/{assessment.pk}/evidence/",
        {"kind": "file", "title": "Report", "file": SimpleUploadedFile("r.pdf", b"%PDF-1.7 report")},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["content_type"] == "application/pdf" and len(body["sha256"]) == 64


def test_detail_pages_follow_the_asset_visibility(client, world, owner, teammate, outsider, auditor, lead):
    public = _assessment("HYG-VUL-03", world["repo"])
    restricted = _assessment("HYG-VUL-03", world["secret"])
    exception = ExceptionFactory(asset=world["secret"], restricted=True, requested_by=owner)
    expected = {
        owner: (200, 200, 200),
        teammate: (200, 200, 200),
        outsider: (404, 404, 404),
        auditor: (200, 404, 404),  # restricted data only inside an audit engagement
        lead: (200, 200, 200),
    }
    for person, codes in expected.items():
        client_for(client, person)
        got = (
            client.get(f"/controls/assessments/{public.pk}/").status_code,
            client.get(f"/controls/assessments/{restricted.pk}/").status_code,
            client.get(f"/controls/exceptions/{exception.pk}/").status_code,
        )
        assert got == codes, person.username


def test_the_asset_page_of_a_restricted_asset_is_not_opened_to_auditors_by_its_controls(
    client, world, auditor
):
    client_for(client, auditor)
    html = client.get(f"/assets/{world['repo'].pk}/").content.decode()
    assert 'id="controls-heading"' in html
    rows = client.get(f"/api/v1/assessments/?asset={world['secret'].pk}").json()
    assert rows["count"] == 0


def test_list_pages_make_the_same_number_of_queries_whatever_the_rows(client, world, teammate, team_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client_for(client, teammate)
    urls = [
        "/controls/assessments/?per_page=200",
        "/controls/assessments/?status=not_applicable&per_page=200",
        "/controls/",
        "/controls/compliance/",
        "/controls/gaps/",
        f"/assets/{world['repo'].pk}/",
    ]

    def counts():
        result = []
        for url in urls:
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            result.append(len(captured))
        return result

    counts()  # the first request of a session loads more (session, user, permissions)
    before = counts()
    for n in range(15):
        AssetFactory(team=team_a, name=f"more-{n}", kind="repository")
    assessment_run()
    assert counts() == before


def test_the_champion_names_owner_and_champion_of_a_control_on_its_page(
    client, world, owner, teammate, team_a
):
    client_for(client, owner)
    html = client.get("/controls/HYG-IR-01/").content.decode()
    assert "Owner in Research" in html and "Owner in Platform" not in html
    client.post(
        "/controls/HYG-IR-01/owners/", {"team": "research", "owner": teammate.pk, "champion": owner.pk}
    )
    ownership = ControlOwnership.objects.get(control__code="HYG-IR-01", team=team_a)
    assert (ownership.owner, ownership.champion) == (teammate, owner)
    client_for(client, teammate)
    assert "Owner in Research" not in client.get("/controls/HYG-IR-01/").content.decode()
    response = client.post(
        "/controls/HYG-IR-01/owners/",
        {"team": "research", "owner": owner.pk, "champion": owner.pk},
        follow=True,
    )
    assert "Only a security lead or the champion or lead of Research" in response.content.decode()
