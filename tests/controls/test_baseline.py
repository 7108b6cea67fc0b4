"""The baseline: at least 30 controls from the guide, mapped to CSF 2.0 and AI RMF, seeded idempotently;
the demo fills every controls page."""

import io

import pytest
from django.core.management import call_command

from controls.baseline import BASELINE
from controls.models import (
    Assessment,
    AssessmentStatus,
    Control,
    ControlMapping,
    ControlOwnership,
    Evidence,
    ExceptionStatus,
    Framework,
    RiskException,
)
from controls.selectors import gaps_for_user
from hygiene.models import AuditEntry

pytestmark = pytest.mark.django_db

DESIGN_FLOOR = [
    "MFA", "Secret management", "Least-privilege", "Environment segregation", "Encryption at rest",
    "Encryption in transit", "Data minimization", "Retention", "Anonymization", "provenance",
    "Dependency scanning", "Secret scanning", "Static analysis", "Patching within SLA",
    "Infrastructure as code", "Rollback", "Centralized logging", "Monitoring of model outputs",
    "Rate limits", "Query auditing", "Incident response plan", "Tabletop", "Disaster-recovery",
    "Threat modelling", "sign-off", "Vendor assessments", "Dependency pinning", "Penetration testing",
    "training",
]  # fmt: skip


def test_the_baseline_covers_the_design_floor_with_at_least_30_controls():
    assert len(BASELINE) >= 30
    titles = " | ".join(c.title for c in BASELINE).lower()
    missing = [topic for topic in DESIGN_FLOOR if topic.lower() not in titles]
    assert not missing


def test_seed_baseline_loads_the_frameworks_and_maps_every_control_idempotently():
    call_command("seed_baseline", stdout=io.StringIO())
    assert set(Framework.objects.values_list("slug", flat=True)) == {
        "nist-sp-800-53-rev5", "nist-csf-2", "mitre-atlas", "nist-ai-rmf-1", "owasp-llm-top-10-2025"
    }  # fmt: skip
    assert Control.objects.count() == len(BASELINE)
    wanted = sum(len(c.maps) for c in BASELINE)
    assert ControlMapping.objects.count() == wanted  # every mapping found its requirement
    for control in Control.objects.all():
        slugs = set(control.mappings.values_list("requirement__framework__slug", flat=True))
        assert {"nist-ai-rmf-1", "nist-csf-2", "nist-sp-800-53-rev5"} <= slugs, control.code

    Control.objects.filter(code="HYG-VUL-01").update(cadence_days=3)
    out = io.StringIO()
    call_command("seed_baseline", stdout=out)
    assert "(0 new)" in out.getvalue()
    assert Control.objects.count() == len(BASELINE)
    assert ControlMapping.objects.count() == wanted
    assert Control.objects.get(code="HYG-VUL-01").cadence_days == 3  # a lead's edit is kept


def test_the_demo_fills_every_controls_page(settings, tmp_path):
    settings.HYGIENE_SCAN_FOLDER_ROOTS = [str(tmp_path)]
    call_command("seed_demo", stdout=io.StringIO())

    statuses = set(RiskException.objects.values_list("status", flat=True))
    assert statuses == set(ExceptionStatus.values)
    assert ControlOwnership.objects.count() >= 5
    from django.contrib.auth import get_user_model

    lead = get_user_model().objects.get(username="lead")
    assert gaps_for_user(user=lead)  # some controls have no owner
    assessed = set(Assessment.objects.values_list("status", flat=True))
    assert assessed >= {AssessmentStatus.PASSING, AssessmentStatus.FAILING, AssessmentStatus.EXCEPTED,
                        AssessmentStatus.NOT_ASSESSED, AssessmentStatus.NOT_APPLICABLE}  # fmt: skip
    assert Evidence.objects.filter(kind="file").exists()
    assert AuditEntry.objects.filter(action="exception_expire").exists()
