"""Assessments follow the events that change them, right after those events commit."""

import pytest

from assets.services.assets import asset_update
from assets.services.lineage import edge_add
from controls.models import Assessment, AssessmentStatus
from controls.services.assessments import assessment_run
from findings.services.findings import finding_bulk_set_status
from findings.services.jobs import job_run
from tests.factories.assets import AssetFactory, level
from tests.factories.controls import ControlFactory
from tests.factories.findings import FindingFactory, QueuedImportJobFactory

pytestmark = pytest.mark.django_db


def _status(control, asset):
    return Assessment.objects.get(control=control, asset=asset).status


def test_an_import_finishing_reassesses_its_asset_after_commit(team_a, django_capture_on_commit_callbacks):
    control = ControlFactory(rule="scan_dependencies", cadence_days=7)
    job = QueuedImportJobFactory(asset=AssetFactory(team=team_a, kind="container_image"))
    assessment_run()
    assert _status(control, job.asset) == AssessmentStatus.FAILING
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job_run(job_id=job.pk)
    assert callbacks  # sent after commit, not inside the import's transaction
    assert _status(control, job.asset) == AssessmentStatus.PASSING


def test_a_failed_import_changes_nothing(team_a, django_capture_on_commit_callbacks):
    from django.core.files.base import ContentFile

    control = ControlFactory(rule="scan_dependencies", cadence_days=7)
    job = QueuedImportJobFactory(
        asset=AssetFactory(team=team_a, kind="container_image"),
        raw_file=ContentFile(b"not json", name="x.json"),
    )
    assessment_run()
    with django_capture_on_commit_callbacks(execute=True):
        job_run(job_id=job.pk)
    assert _status(control, job.asset) == AssessmentStatus.FAILING


def test_finding_status_changes_reassess_the_asset(team_a, owner, django_capture_on_commit_callbacks):
    control = ControlFactory(rule="no_open_secrets")
    finding = FindingFactory(asset=AssetFactory(team=team_a, kind="repository"), category="secret")
    assessment_run()
    assert _status(control, finding.asset) == AssessmentStatus.FAILING
    with django_capture_on_commit_callbacks(execute=True):
        finding_bulk_set_status(
            actor=owner, finding_ids=[finding.pk], status="false_positive", reason="test key"
        )
    assert _status(control, finding.asset) == AssessmentStatus.PASSING


def test_classification_and_lineage_changes_reassess_downstream(
    team_a, owner, django_capture_on_commit_callbacks
):
    control = ControlFactory(rule="owner_recorded", min_classification=level("restricted"))
    dataset = AssetFactory(team=team_a, kind="dataset", classification=level("internal"))
    model = AssetFactory(team=team_a, kind="model")
    assessment_run()
    assert _status(control, model) == AssessmentStatus.NOT_APPLICABLE
    with django_capture_on_commit_callbacks(execute=True):
        edge_add(actor=owner, source=dataset, target=model, kind="trained_on")
        asset_update(actor=owner, asset=dataset, classification=level("restricted"))
    assert _status(control, dataset) == AssessmentStatus.FAILING
    assert _status(control, model) == AssessmentStatus.FAILING  # inherited restricted: now applies
