"""The demo data gives the findings pages something worth seeing."""

import io

import pytest
from django.core.management import call_command

from findings.models import Finding, FindingStatus, ImportJob, ScanSource

pytestmark = pytest.mark.django_db


def test_the_demo_has_findings_across_statuses_with_kev_epss_and_past_slas(settings, tmp_path):
    settings.HYGIENE_SCAN_FOLDER_ROOTS = [str(tmp_path)]

    call_command("seed_demo", stdout=io.StringIO())

    findings = Finding.objects.all()
    assert findings.count() > 20
    assert set(findings.values_list("status", flat=True)) == {
        FindingStatus.OPEN, FindingStatus.MITIGATED, FindingStatus.FALSE_POSITIVE,
        FindingStatus.RISK_ACCEPTED,  # by the controls demo's approved exception
    }  # fmt: skip
    assert findings.kev().open().exists()
    assert findings.past_sla().exists()
    assert findings.filter(epss__isnull=False).exists()
    assert ImportJob.objects.filter(mitigated_count__gt=0).exists()
    assert ScanSource.objects.filter(name="Serving image CI drop").exists()
