"""The controls app in an engagement: controls of its frameworks, assessments with their evidence files (in
the bundle with their SHA-256), exceptions in force; the PDF's compliance, failing controls with owners and
exceptions; OSCAL findings for failing controls; and the controls' lists in the one export path."""

import datetime as dt
import hashlib
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audits.services.bundles import bundle_write
from audits.services.oscal import engagement_oscal
from audits.services.report import engagement_report_pdf
from audits.services.verify import bundle_verify
from controls.models import Assessment, ControlOwnership
from controls.services.assessments import assessment_run
from controls.services.evidence import evidence_add
from hygiene.models import AuditEntry
from hygiene.services.exports import export_stream
from tests.audits.test_sections import _pdf_text
from tests.factories.controls import ControlFactory, ExceptionFactory

pytestmark = pytest.mark.django_db

EVIDENCE_BYTES = b"%PDF-1.4\n% access review signed by the lead\n"


@pytest.fixture
def controlled(estate, team_a, team_b, owner, outsider):
    """A baseline automated control failing everywhere (no owners recorded), an attested one on models with
    an evidence file on each team's model, a control outside the engagement's frameworks, exceptions."""
    failing = ControlFactory(code="TST-OWN", title="Owner named", rule="owner_recorded", from_baseline=True)
    attested = ControlFactory(
        code="TST-ATT", title="Access reviewed", rule="evidence", from_baseline=True,
        applies_to_kinds=["model", "endpoint"],
    )  # fmt: skip
    ControlFactory(code="TST-OUT", title="Not in the frameworks", rule="owner_recorded")
    ControlOwnership.objects.create(control=failing, team=team_a, owner=owner)
    assessment_run()
    mine = Assessment.objects.get(control=attested, asset=estate["model"])
    evidence = evidence_add(
        actor=owner, assessment=mine, kind="file", title="Access review Q3",
        file=SimpleUploadedFile("review.pdf", EVIDENCE_BYTES),
    )  # fmt: skip
    theirs = Assessment.objects.get(control=attested, asset=estate["other"])
    evidence_add(
        actor=outsider, assessment=theirs, kind="file", title="Other team's review",
        file=SimpleUploadedFile("theirs.pdf", b"%PDF-1.4\n% team b\n"),
    )  # fmt: skip
    now = timezone.now()
    in_force = ExceptionFactory(
        asset=estate["model"], control=failing, title="Owner being hired", status="approved",
        decided_by=owner, decided_at=now - dt.timedelta(days=5),
    )  # fmt: skip
    old = ExceptionFactory(
        asset=estate["model"], title="Long gone", status="expired", decided_at=now - dt.timedelta(days=400),
        expires_on=timezone.localdate() - dt.timedelta(days=300),
    )  # fmt: skip
    ExceptionFactory(
        asset=estate["other"], title="Team B accepted", status="approved", decided_at=now,
    )  # fmt: skip
    return {"failing": failing, "attested": attested, "evidence": evidence, "in_force": in_force, "old": old}


def test_bundle_holds_the_controls_assessments_evidence_files_and_exceptions_of_the_engagement_and_verifies(
    engagement, controlled
):
    out = io.BytesIO()
    bundle_write(engagement=engagement, out=out)
    data = out.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        controls_csv = archive.read("records/controls.csv").decode()
        assessments = archive.read("records/assessments.csv").decode()
        evidence_csv = archive.read("records/control-evidence.csv").decode()
        exceptions = archive.read("records/exceptions.csv").decode()
        manifest = json.loads(archive.read("manifest.json"))
        evidence_paths = [n for n in names if n.startswith("evidence/control-evidence/")]
        assert len(evidence_paths) == 1  # the other team's file is not in this engagement
        assert archive.read(evidence_paths[0]) == EVIDENCE_BYTES

    assert "TST-OWN" in controls_csv and "TST-ATT" in controls_csv and "TST-OUT" not in controls_csv
    assert "churn-model" in assessments and "TST-OWN" in assessments
    assert "platform-api" not in assessments  # team B is outside the engagement
    assert "patients" not in assessments  # restricted data is out of its scope
    assert "Access review Q3" in evidence_csv and "Other team's review" not in evidence_csv
    assert "Owner being hired" in exceptions
    assert "Long gone" not in exceptions and "Team B accepted" not in exceptions

    recorded = controlled["evidence"].sha256
    assert recorded == hashlib.sha256(EVIDENCE_BYTES).hexdigest()
    entry = next(f for f in manifest["files"] if f["path"] == evidence_paths[0])
    assert entry["sha256"] == recorded
    summary = {s["key"]: s for s in manifest["sections"]}
    assert summary["control-evidence"]["evidence_files"] == 1
    assert summary["exceptions"]["rows"] == 1
    report = bundle_verify(source=io.BytesIO(data))
    assert report.ok, report.problems()

    # Change the evidence file inside the bundle: verification fails on it.
    tampered = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(tampered, "w") as target:
        for item in source.infolist():
            body = source.read(item.filename)
            target.writestr(item, b"%PDF-1.4\n% forged\n" if item.filename == evidence_paths[0] else body)
    assert not bundle_verify(source=io.BytesIO(tampered.getvalue())).ok


def test_oscal_results_carry_a_finding_per_failing_assessment_and_stay_valid(engagement, lead, controlled):
    from trestle.oscal.assessment_results import AssessmentResults

    document = engagement_oscal(engagement=engagement, actor=lead)
    parsed = AssessmentResults.parse_obj(json.loads(json.dumps(document))["assessment-results"])
    titles = [finding.title for finding in parsed.results[0].findings]
    assert "TST-OWN failing on churn-model" in titles
    assert not any("platform-api" in title or "patients" in title for title in titles)
    finding = parsed.results[0].findings[titles.index("TST-OWN failing on churn-model")]
    assert finding.target.status.state.value == "not-satisfied"


def test_pdf_report_shows_compliance_per_framework_and_domain_failing_controls_with_owners_and_exceptions(
    engagement, lead, owner, controlled
):
    text = _pdf_text(engagement_report_pdf(engagement=engagement, actor=lead))
    for expected in (
        "Control assessments",
        "Compliance, all controls in scope",
        "Compliance: AI minimum hygiene baseline",
        "Compliance: Vulnerability management",
        "Failing controls and their owners",
        "TST-OWN Owner named",
        owner.username,
        "Exceptions in force during the period",
        "Owner being hired",
    ):
        assert expected in text, expected
    assert "Team B accepted" not in text
    assert "Control assessments and compliance" not in text  # no longer listed as not covered


def test_control_assessment_and_exception_exports_follow_permissions_and_filters_and_are_audited(
    owner, outsider, controlled
):
    def body(user, key, params=None, export_format="csv"):
        export = export_stream(user=user, key=key, export_format=export_format, params=params or {})
        return b"".join(c if isinstance(c, bytes) else c.encode() for c in export.chunks).decode()

    mine = body(owner, "assessments")
    assert "churn-model" in mine and "platform-api" not in mine
    assert "platform-api" in body(outsider, "assessments") and "churn-model" not in body(
        outsider, "assessments"
    )
    failing_only = body(owner, "assessments", {"status": "failing", "control": "TST-ATT"})
    assert "TST-ATT" not in failing_only.split("\n", 1)[1]  # the attested control is not failing
    rows = json.loads(body(owner, "exceptions", export_format="json"))
    assert {row["title"] for row in rows} == {"Owner being hired", "Long gone"}
    assert "TST-OUT" in body(outsider, "controls")  # the catalogue is public to everyone signed in
    assert "TST-OUT" not in body(outsider, "controls", {"q": "TST-OWN"})
    entries = AuditEntry.objects.filter(action="export", object_type="controls_assessment")
    assert entries.filter(actor_id=owner.pk).exists()
    assert entries.filter(after__list="assessments", after__filters__status="failing").exists()


def test_the_assessment_list_page_offers_its_export_with_the_filters_applied(client, owner, controlled):
    from tests.conftest import client_for

    client_for(client, owner)
    page = client.get("/controls/assessments/?status=failing").content.decode()
    link = "/exports/assessments.csv?status=failing"
    assert link in page
    response = client.get(link)
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert "TST-OWN" in body and "TST-ATT" not in body and "platform-api" not in body
    exceptions_page = client.get("/controls/exceptions/").content.decode()
    assert "/exports/exceptions.json?" in exceptions_page
