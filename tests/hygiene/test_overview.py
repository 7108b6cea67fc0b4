"""The overview counts only what the person may see, and each card leads to the list behind it."""

import pytest

from tests.conftest import client_for
from tests.factories.assets import AssetFactory
from tests.factories.findings import FindingFactory

pytestmark = pytest.mark.django_db


def test_overview_counts_only_the_teams_the_person_sees(client, teammate, team_a, team_b, lead):
    mine = AssetFactory(team=team_a)
    theirs = AssetFactory(team=team_b)
    FindingFactory(asset=mine, severity="critical")
    FindingFactory(asset=theirs, severity="critical")
    FindingFactory(asset=theirs, severity="critical")

    client_for(client, teammate)
    cards = client.get("/").context["severity_counts"]
    assert ("critical", "Critical", 1) in cards
    client_for(client, lead)
    assert ("critical", "Critical", 3) in client.get("/").context["severity_counts"]


def test_overview_shows_an_empty_state_before_any_import(client, teammate):
    client_for(client, teammate)
    page = client.get("/").content.decode()
    assert "No scans imported yet." in page
    assert 'href="/findings/upload/"' in page
