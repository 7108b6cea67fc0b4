"""Uploading a real Trivy report in a browser: the job page follows the import to "Done", the findings
appear in the list, can be found by CVE and marked false positive in bulk."""

import pytest
from playwright.sync_api import expect

from findings.models import Finding, FindingStatus
from tests.browser import sign_in
from tests.factories.assets import AssetFactory
from tests.factories.hygiene import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_an_uploaded_scan_becomes_findings_people_can_search_and_triage(page, owner, team_a, scans_dir):
    AssetFactory(team=team_a, name="teamdojo", kind="container_image")
    sign_in(page, owner.username, PASSWORD)

    page.goto("/findings/upload/")
    page.get_by_label("Scan file").set_input_files(str(scans_dir / "trivy" / "scheme_2_many_vulns.json"))
    page.get_by_label("Asset").fill("teamdojo")
    page.get_by_role("button", name="Upload and import").click()

    expect(page.locator("#job-status-badge")).to_have_text("Done")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Findings").click()
    rows = page.locator("table.findings tbody tr")
    expect(rows).to_have_count(Finding.objects.count())
    expect(page.get_by_role("link", name="freetype: Heap-based buffer overflow")).to_be_visible()

    page.get_by_label("Search").fill("CVE-2020-15999")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)

    page.get_by_label("Search").fill("")
    page.get_by_role("button", name="Filter").click()
    page.get_by_label("Select all findings on this page").check()
    expect(page.locator("#selected-count")).to_have_text(f"{Finding.objects.count()} selected")
    page.get_by_label("With the selected").select_option(label="Mark false positive")
    page.get_by_label("Reason").fill("Base image replaced; not shipped")
    page.get_by_role("button", name="Apply").click()

    expect(page.get_by_role("status")).to_contain_text("marked false positive")
    expect(page.get_by_text("No findings match these filters.")).to_be_visible()
    assert set(Finding.objects.values_list("status", flat=True)) == {FindingStatus.FALSE_POSITIVE}
