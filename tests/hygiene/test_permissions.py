"""The one visibility rule: object grants, to a person or to one of their groups, count everywhere alike."""

import pytest
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm

from assets.selectors import asset_get_for_user, visible_assets
from findings.selectors import finding_list_for_user
from hygiene.permissions import can_change
from tests.conftest import client_for
from tests.factories.assets import AssetFactory, level
from tests.factories.findings import FindingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def granted_group(outsider):
    group = Group.objects.create(name="Red team")
    outsider.groups.add(group)
    return group


def test_asset_granted_to_a_group_is_visible_with_its_findings_and_changeable_alike(
    outsider, team_a, granted_group
):
    asset = AssetFactory(team=team_a, classification=level("restricted"))
    finding = FindingFactory(asset=asset)
    assign_perm("assets.view_asset", granted_group, asset)
    assign_perm("assets.change_asset", granted_group, asset)

    assert asset_get_for_user(user=outsider, pk=asset.pk) == asset
    assert list(visible_assets(outsider)) == [asset]
    assert [f.pk for f in finding_list_for_user(user=outsider)] == [finding.pk]
    assert can_change(outsider, asset, team_id=team_a.pk, grant_perm="assets.change_asset")


def test_group_grant_shows_the_asset_page_and_api_and_its_removal_hides_them(
    client, api_client, outsider, team_a, granted_group
):
    from guardian.shortcuts import remove_perm

    asset = AssetFactory(team=team_a, classification=level("restricted"))
    FindingFactory(asset=asset)
    assign_perm("assets.view_asset", granted_group, asset)
    client_for(client, outsider)
    assert client.get(f"/assets/{asset.pk}/").status_code == 200
    api_client.force_authenticate(outsider)
    assert api_client.get(f"/api/v1/assets/{asset.pk}/").status_code == 200
    assert api_client.get("/api/v1/findings/").json()["count"] == 1

    remove_perm("assets.view_asset", granted_group, asset)
    client_for(client, outsider)
    assert client.get(f"/assets/{asset.pk}/").status_code == 404
    api_client.force_authenticate(outsider)
    assert api_client.get(f"/api/v1/assets/{asset.pk}/").status_code == 404
    assert api_client.get("/api/v1/findings/").json()["count"] == 0


def test_a_team_token_does_not_carry_the_person_s_group_grants(
    api_client, outsider, team_a, team_b_token, granted_group
):
    asset = AssetFactory(team=team_a)
    FindingFactory(asset=asset)
    assign_perm("assets.view_asset", granted_group, asset)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {team_b_token.clear}")
    assert api_client.get(f"/api/v1/assets/{asset.pk}/").status_code == 404
    assert api_client.get("/api/v1/findings/").json()["count"] == 0
