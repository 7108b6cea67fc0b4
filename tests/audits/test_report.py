"""The PDF report: drawn by ReportLab alone, from the engagement's scope."""

import pytest

from audits.services.report import engagement_report_pdf
from hygiene.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_pdf_report_is_a_pdf_with_summary_and_findings_and_is_audited(estate, engagement, lead):
    pdf = engagement_report_pdf(engagement=engagement, actor=lead)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(pdf) > 2000
    assert AuditEntry.objects.filter(
        action="export", object_id=str(engagement.pk), after__format="pdf-report"
    ).exists()
