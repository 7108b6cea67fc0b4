"""Fixtures of the controls tests: the shared frameworks folder and a run of the assessments."""

import pytest

from controls.models import Assessment
from controls.services.assessments import assessment_run
from tests.conftest import SHARED_DIR


@pytest.fixture
def frameworks_dir():
    return SHARED_DIR / "frameworks"


@pytest.fixture
def assess():
    """Run the assessments (all, or some assets); return the assessment of a control on a subject."""

    def run(control, asset=None, *, team=None, asset_ids=None):
        if asset_ids is not None:
            assessment_run(asset_ids=asset_ids)
        else:
            assessment_run()
        if asset is not None:
            return Assessment.objects.get(control=control, asset=asset)
        return Assessment.objects.get(control=control, team=team, asset__isnull=True)

    return run
