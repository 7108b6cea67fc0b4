"""The section registry: a module that lands later (controls, incidents) plugs into every builder; audit-log
entries outside the auditor's view stay in the chain by their hashes only."""

import io
import json
import zipfile

import pytest

from audits import sections as registry
from audits.services.bundles import bundle_write
from audits.services.oscal import engagement_oscal
from audits.services.verify import bundle_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def assessments_section(estate):
    """The controls app registers its sections from its ready(): one failing baseline control on the model."""
    from controls.services.assessments import assessment_run
    from tests.factories.controls import ControlFactory

    ControlFactory(code="MFA-01", rule="owner_recorded", from_baseline=True, applies_to_kinds=["model"])
    assessment_run()
    return registry.SECTIONS["assessments"]


def test_a_registered_section_appears_in_the_bundle_workspace_report_and_oscal(
    client, estate, engagement, auditor, lead, assessments_section
):
    from trestle.oscal.assessment_results import AssessmentResults

    from tests.conftest import client_for

    out = io.BytesIO()
    bundle_write(engagement=engagement, out=out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        assert "MFA-01" in archive.read("records/assessments.csv").decode()
        manifest = json.loads(archive.read("manifest.json"))
    assert {"key": "assessments", "title": "Control assessments", "rows": 1, "evidence_files": 0} in manifest[
        "sections"
    ]
    assert bundle_verify(source=io.BytesIO(out.getvalue())).ok

    client_for(client, auditor)
    page = client.get(f"/audits/{engagement.pk}/").content.decode()
    assert "Control assessments" in page and "Compliance, all controls in scope" in page

    document = engagement_oscal(engagement=engagement, actor=lead)
    parsed = AssessmentResults.parse_obj(json.loads(json.dumps(document))["assessment-results"])
    assert parsed.results[0].findings[0].title == "MFA-01 failing on churn-model"


def test_audit_entries_the_auditor_may_not_see_are_redacted_and_the_chain_still_verifies(
    estate, engagement, monkeypatch
):
    from django.db.models import Q

    from hygiene.models import AuditEntry

    secret = estate["secret"].pk
    # The entries about the restricted asset, which the audit log's scoping hides from the auditor.
    hidden = AuditEntry.objects.filter(Q(scope_asset_id=secret) | Q(scope_other_asset_id=secret))
    hidden_ids = list(hidden.values_list("id", flat=True))
    assert hidden_ids
    out = io.BytesIO()
    bundle_write(engagement=engagement, out=out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        lines = [json.loads(line) for line in archive.read("audit-log/extract.jsonl").splitlines()]
    redacted = [line for line in lines if line.get("redacted")]
    # Sealed by the bundle; entries outside the engagement's teams are redacted as well.
    hidden_seqs = set(AuditEntry.objects.filter(id__in=hidden_ids).values_list("seq", flat=True))
    assert hidden_seqs <= {line["seq"] for line in redacted}
    assert all(set(line) == {"seq", "prev_hash", "hash", "redacted"} for line in redacted)
    assert "patients" not in json.dumps(lines)
    report = bundle_verify(source=io.BytesIO(out.getvalue()), check_live_log=True)
    assert report.ok, report.problems()
    assert report.chain_redacted == len(redacted)


def test_oscal_observations_point_at_inventory_items_of_the_same_result(estate, engagement, lead):
    document = engagement_oscal(engagement=engagement, actor=lead)
    result = document["assessment-results"]["results"][0]
    inventory = {item["uuid"] for item in result["local-definitions"]["inventory-items"]}
    subjects = {s["subject-uuid"] for o in result["observations"] for s in o["subjects"]}
    assert subjects and subjects <= inventory


def test_pdf_report_text_has_the_summary_the_figures_and_what_is_not_covered(estate, engagement, lead):
    from audits.services.report import engagement_report_pdf

    text = _pdf_text(engagement_report_pdf(engagement=engagement, actor=lead))
    for expected in (
        "Audit report",
        engagement.name,
        "Auditor",
        "Findings open during the period",
        "SLA compliance",
    ):
        assert expected in text, expected
    # Controls and incidents now fill their sections, so nothing is listed as not covered.
    assert "Not covered by this installation" not in text


def _pdf_text(pdf: bytes) -> str:
    """The text shown by a ReportLab PDF's content streams (Flate, possibly ASCII85 first)."""
    import base64
    import re
    import zlib

    shown = []
    for filters, body in re.findall(rb"/Filter \[([^\]]*)\][^>]*>>\s*stream\r?\n(.*?)endstream", pdf, re.S):
        data = body.strip()
        if b"ASCII85Decode" in filters:
            data = base64.a85decode(data.removesuffix(b"~>"))
        if b"FlateDecode" in filters:
            data = zlib.decompress(data)
        shown += re.findall(rb"\((.*?)\)\s*Tj", data)
    return " ".join(part.decode("latin-1") for part in shown)
