import pytest

from assets.models import ClassificationLevel
from tests.factories.assets import AssetFactory
from tests.factories.audits import EngagementFactory
from tests.factories.findings import FindingFactory, ImportJobFactory


@pytest.fixture
def restricted_level(db):
    return ClassificationLevel.objects.get(slug="restricted")


@pytest.fixture
def estate(team_a, team_b, restricted_level):
    """Team A: an open production model and a restricted dataset, each with a finding and a scan; team B:
    one asset with a finding."""
    model = AssetFactory(team=team_a, name="churn-model", kind="model", environment="production")
    secret = AssetFactory(
        team=team_a, name="patients", classification=restricted_level, environment="production"
    )
    other = AssetFactory(team=team_b, name="platform-api", kind="endpoint", environment="production")
    jobs = {asset.name: ImportJobFactory(asset=asset) for asset in (model, secret, other)}
    findings = {
        asset.name: FindingFactory(asset=asset, title=f"Issue on {asset.name}", last_job=jobs[asset.name])
        for asset in (model, secret, other)
    }
    return {"model": model, "secret": secret, "other": other, "jobs": jobs, "findings": findings}


@pytest.fixture
def engagement(auditor, lead, team_a):
    return EngagementFactory(auditor=auditor, opened_by=lead, teams=[team_a])


@pytest.fixture
def restricted_engagement(auditor, lead, team_a):
    return EngagementFactory(auditor=auditor, opened_by=lead, teams=[team_a], restricted_in_scope=True)
