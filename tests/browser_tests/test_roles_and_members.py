"""Each kind of person doing their job in the browser: the security lead on the People page, members
finishing what they start on assets and findings, and refusals that keep the site and say why."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from assets.models import DatasetProvenance, LineageEdge
from findings.models import FindingStatus
from hygiene.models import ApiToken, TeamRole
from hygiene.roles import AUDITOR
from tests.browser import sign_in
from tests.factories import MembershipFactory, UserFactory
from tests.factories.assets import AssetFactory, level
from tests.factories.findings import FindingFactory, ImportJobFactory
from tests.factories.hygiene import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def switch_to(page, user):
    page.context.clear_cookies()
    sign_in(page, user.username, PASSWORD)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def test_people_page_starts_from_each_role_and_date_and_saving_a_date_keeps_the_role(
    page, lead, auditor, teammate
):
    until = timezone.localdate(auditor.profile.access_expires_at)
    sign_in(page, lead.username, PASSWORD)
    page.goto("/people/")

    expect(page.get_by_label("Role of auditor")).to_have_value("Auditor")
    expect(page.get_by_label("Role of teammate")).to_have_value("Member")
    expect(page.get_by_label("Role of lead")).to_have_value("Security lead")
    expect(page.get_by_label("Access of auditor ends on")).to_have_value(until.isoformat())
    later = until + dt.timedelta(days=10)
    page.get_by_label("Access of auditor ends on").fill(later.isoformat())
    page.locator(f"form[action='/people/{auditor.pk}/role/']").get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_contain_text("auditor is now Auditor")
    auditor.refresh_from_db()
    assert list(auditor.groups.values_list("name", flat=True)) == [AUDITOR]
    assert timezone.localdate(auditor.profile.access_expires_at) == later
    expect(page.get_by_label("Access of auditor ends on")).to_have_value(later.isoformat())
    page.locator(f"form[action='/people/{teammate.pk}/role/']").get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Nothing changed for teammate")
    assert list(teammate.groups.values_list("name", flat=True)) == ["Member"]


def test_header_and_overview_name_team_roles_and_say_what_global_roles_see(
    page, owner, teammate, lead, auditor, team_a
):
    team_lead = UserFactory(username="team-lead")
    MembershipFactory(team=team_a, user=team_lead, role=TeamRole.LEAD)
    header = page.locator(".user-menu summary")

    sign_in(page, owner.username, PASSWORD)
    expect(header).to_contain_text("Security champion")
    expect(header).to_contain_text("Research")
    switch_to(page, team_lead)
    expect(header).to_contain_text("Team lead")
    switch_to(page, teammate)
    expect(header).to_contain_text("Member")
    expect(page.get_by_role("cell", name="Add and edit the team's assets")).to_be_visible()
    switch_to(page, lead)
    expect(header).to_contain_text("Security lead")
    expect(page.locator("#role-scope")).to_contain_text("you see and manage every team's")
    expect(page.get_by_text("You belong to no team")).to_have_count(0)
    AssetFactory(team=team_a, name="patients", classification=level("restricted"))
    switch_to(page, auditor)
    expect(header).to_contain_text("Auditor")
    expect(page.locator("#role-scope")).to_contain_text(
        "1 restricted asset and its findings are hidden from you"
    )
    expect(page.get_by_text("You belong to no team")).to_have_count(0)


def test_a_token_is_created_with_the_default_expiry_the_page_fills_in(page, teammate):
    sign_in(page, teammate.username, PASSWORD)
    page.goto("/tokens/")

    expiry = page.get_by_label("Expires on")
    expect(expiry).to_have_value(re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    page.get_by_label("Name").fill("CI of research")
    page.get_by_role("button", name="Create token").click()

    expect(page.locator("#new-token")).to_be_visible()
    token = ApiToken.objects.get(name="CI of research")
    assert timezone.localdate(token.expires_at) == timezone.localdate() + dt.timedelta(days=90)


def test_refusals_keep_the_site_and_say_why_and_unavailable_actions_are_not_offered(
    page, teammate, outsider, auditor, team_a
):
    asset = AssetFactory(team=team_a, name="churn-model")
    sign_in(page, auditor.username, PASSWORD)
    page.goto("/assets/")
    expect(page.get_by_role("link", name="Export CSV")).to_be_visible()
    expect(page.get_by_role("link", name="Import", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Add asset")).to_have_count(0)
    page.goto("/findings/")
    expect(page.get_by_role("link", name="Upload a scan")).to_have_count(0)

    response = page.goto("/findings/upload/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("auditors read them")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()

    switch_to(page, teammate)
    response = page.goto("/people/")
    assert response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("The people page is for security leads and auditors.")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inventory").click()
    expect(page.get_by_role("heading", name="Inventory")).to_be_visible()

    switch_to(page, outsider)
    response = page.goto(f"/assets/{asset.pk}/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("No such asset.")
    expect(page.locator(".user-menu summary")).to_contain_text("outsider")


def test_a_member_edits_a_team_asset_links_its_lineage_and_records_provenance(page, teammate, team_a, team_b):
    dataset = AssetFactory(team=team_a, name="support-chats", classification=level("confidential"))
    AssetFactory(team=team_a, name="raw-tickets", classification=level("internal"))
    sign_in(page, teammate.username, PASSWORD)
    page.goto(f"/assets/{dataset.pk}/")

    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Description").fill("Chats exported weekly from the help desk")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("“support-chats” saved.")

    page.get_by_label("Relation").select_option(label="This asset is derived from …")
    page.get_by_label("Other asset").fill("raw-tickets")
    page.get_by_role("button", name="Add link").click()
    expect(page.get_by_role("status")).to_contain_text("Recorded: support-chats is derived from raw-tickets.")
    assert LineageEdge.objects.filter(source__name="raw-tickets", target=dataset).exists()

    page.get_by_role("link", name="Record provenance").click()
    page.get_by_label("Source").fill("Zendesk export")
    page.get_by_label("Collected on").fill("2026-10-01")
    page.get_by_role("button", name="Save provenance").click()
    expect(page.get_by_role("status")).to_contain_text("Provenance of “support-chats” saved.")
    assert DatasetProvenance.objects.get(dataset=dataset).collected_on == dt.date(2026, 10, 1)

    page.get_by_role("link", name="Edit provenance").click()
    expect(page.get_by_label("Collected on")).to_have_value("2026-10-01")
    page.goto(f"/assets/{dataset.pk}/edit/")
    page.get_by_label("Classification").select_option(label="Public (rank 10)")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field.has-error")).to_contain_text("champion or lead, or a security lead")
    dataset.refresh_from_db()
    assert dataset.classification.slug == "confidential"


def test_a_member_marks_a_team_finding_false_positive_and_reopens_it(page, teammate, team_a):
    finding = FindingFactory(asset=AssetFactory(team=team_a, name="llm-serving"), title="Old zlib")
    sign_in(page, teammate.username, PASSWORD)
    page.goto(f"/findings/{finding.pk}/")

    page.get_by_label("Change to").select_option(label="Mark false positive")
    page.get_by_label("Reason").fill("Only in the test image")
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_role("status")).to_contain_text("1 finding marked false positive.")
    finding.refresh_from_db()
    assert finding.status == FindingStatus.FALSE_POSITIVE

    page.get_by_label("Change to").select_option(label="Reopen")
    page.get_by_label("Reason").fill("The test image ships after all")
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_role("status")).to_contain_text("1 finding reopened.")
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN
    assert not Group.objects.filter(user=teammate, name="Security lead").exists()


def test_the_asset_page_shows_open_findings_by_severity_its_imports_and_scan_freshness(
    page, teammate, team_a
):
    asset = AssetFactory(team=team_a, name="llm-serving", kind="container_image")
    FindingFactory(asset=asset, severity="critical")
    FindingFactory(asset=asset, severity="high")
    FindingFactory(asset=asset, severity="high")
    FindingFactory(asset=asset, severity="high", status=FindingStatus.FALSE_POSITIVE)
    FindingFactory(asset=AssetFactory(team=team_a, name="other"), severity="high")
    ImportJobFactory(asset=asset, format="trivy", filename="trivy-2026-11-28.json")
    sign_in(page, teammate.username, PASSWORD)
    page.goto(f"/assets/{asset.pk}/")

    section = page.locator("#asset-findings")
    expect(section.get_by_role("link", name="2 open high findings")).to_be_visible()
    expect(section.get_by_role("link", name="trivy-2026-11-28.json")).to_be_visible()
    expect(section.locator(".scan-freshness")).to_contain_text("Trivy")
    section.get_by_role("link", name="2 open high findings").click()
    expect(page.locator("table.findings tbody tr")).to_have_count(2)
    assert "severity=high" in page.url
