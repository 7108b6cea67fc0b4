"""A security lead opens an engagement; the auditor signs in, works inside it, downloads the evidence bundle
and the PDF report, and the bundle verifies (with the command's service and on the verify page)."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from assets.models import ClassificationLevel
from audits.services.verify import bundle_verify
from tests.browser import sign_in
from tests.factories.assets import AssetFactory
from tests.factories.findings import FindingFactory, ImportJobFactory
from tests.factories.hygiene import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_lead_opens_an_engagement_and_the_auditor_downloads_a_bundle_that_verifies(
    browser, live_server, page, lead, auditor, team_a, team_b, tmp_path
):
    restricted = ClassificationLevel.objects.get(slug="restricted")
    patients = AssetFactory(team=team_a, name="patients", classification=restricted, environment="production")
    FindingFactory(asset=patients, title="Unencrypted bucket")
    ImportJobFactory(asset=patients)
    AssetFactory(team=team_b, name="platform-api", environment="production")

    sign_in(page, lead.username, PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audits").click()
    page.get_by_role("link", name="Open an engagement").click()
    today = timezone.localdate()
    page.get_by_label("Name").fill("ISO 42001 audit")
    page.get_by_label("Auditor").select_option(label=auditor.username)
    page.get_by_label("Period from").fill((today - dt.timedelta(days=30)).isoformat())
    page.get_by_label("Period to").fill(today.isoformat())
    page.get_by_label("ISO/IEC 42001").check()
    page.get_by_label("Research").check()
    page.get_by_label("Restricted assets are in scope").check()
    page.get_by_label("Access ends on").fill((today + dt.timedelta(days=7)).isoformat())
    page.get_by_role("button", name="Open the engagement").click()
    expect(page.get_by_role("status")).to_contain_text("opened for auditor")

    context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    context.set_default_timeout(20_000)
    auditor_page = context.new_page()
    sign_in(auditor_page, auditor.username, PASSWORD)
    auditor_page.goto("/assets/")
    expect(auditor_page.get_by_text("1 restricted asset is hidden from you")).to_be_visible()
    auditor_page.get_by_role("navigation", name="Main").get_by_role("link", name="Audits").click()
    auditor_page.get_by_role("link", name="ISO 42001 audit").click()
    expect(auditor_page.get_by_role("note").filter(has_text="Working inside the engagement")).to_be_visible()
    auditor_page.goto("/assets/")
    expect(auditor_page.get_by_role("link", name="patients")).to_be_visible()
    expect(auditor_page.get_by_text("platform-api")).to_have_count(0)

    auditor_page.get_by_role("link", name="ISO 42001 audit").click()
    with auditor_page.expect_download() as pdf_download:
        auditor_page.get_by_role("link", name="Download the PDF report").click()
    pdf = tmp_path / "report.pdf"
    pdf_download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")

    auditor_page.get_by_role("button", name="Build an evidence bundle").click()
    expect(auditor_page.locator("#job-status-badge")).to_have_text("Done")
    with auditor_page.expect_download() as bundle_download:
        auditor_page.get_by_role("link", name="Download the bundle").click()
    bundle = tmp_path / "bundle.zip"
    bundle_download.value.save_as(bundle)
    report = bundle_verify(source=str(bundle), check_live_log=True)
    assert report.ok, report.problems()

    auditor_page.goto("/audits/verify/")
    auditor_page.get_by_label("Bundle (ZIP)").set_input_files(str(bundle))
    auditor_page.get_by_role("button", name="Verify").click()
    expect(auditor_page.get_by_role("heading", name="OK:")).to_be_visible()
    context.close()
