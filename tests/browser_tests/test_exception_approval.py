"""A member asks to accept the risk of a finding in a browser; the team's champion approves it and sees
the finding marked risk accepted."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from controls.services.catalogs import builtin_catalogs_load
from controls.services.controls import baseline_seed
from tests.browser import sign_in
from tests.factories.assets import AssetFactory
from tests.factories.findings import FindingFactory
from tests.factories.hygiene import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_member_requests_an_exception_and_the_champion_approves_it(
    page, browser, live_server, owner, teammate, team_a
):
    builtin_catalogs_load()
    baseline_seed()
    asset = AssetFactory(team=team_a, name="ranker-src", kind="repository")
    finding = FindingFactory(
        asset=asset,
        category="secret",
        severity="high",
        rule_id="aws-access-token",
        title="AWS key in settings.py",
    )

    sign_in(page, teammate.username, PASSWORD)
    page.goto(f"/findings/{finding.pk}/")
    page.get_by_role("link", name="Request an exception").click()
    page.get_by_label("Title").fill("Key revoked; history rewrite scheduled")
    page.get_by_label("Justification").fill("The key was revoked at AWS the same day.")
    page.get_by_label("Compensating controls").fill("CloudTrail alert on the old key id")
    page.get_by_label("Risk rating").select_option("high")
    page.get_by_label("Expires on").fill((timezone.localdate() + dt.timedelta(days=30)).isoformat())
    page.get_by_role("button", name="Request exception").click()
    expect(page.get_by_role("status")).to_contain_text("requested")
    expect(page.locator("#exception-status")).to_have_text("Requested")
    expect(page.get_by_text("You requested this exception")).to_be_visible()

    champion = browser.new_context(base_url=live_server.url)
    champion.set_default_timeout(15_000)
    other = champion.new_page()
    sign_in(other, owner.username, PASSWORD)
    other.get_by_role("link", name="Notifications").click()
    other.get_by_role("button", name="Exception requested for ranker-src").click()
    other.get_by_label("Comment").fill("Fine until the rewrite")
    other.get_by_role("button", name="Approve").click()
    expect(other.locator("#exception-status")).to_have_text("Approved")
    other.get_by_role("link", name="aws-access-token").click()
    expect(other.locator(".badge.status-risk_accepted")).to_have_text("Risk accepted")
    champion.close()
