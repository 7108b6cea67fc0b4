"""An incident from report to resolution in a browser: a member reports it from the header, the champion
acknowledges it, starts the playbook, ticks a step and resolves it, and the timeline shows each step."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from incidents.models import Incident, Status
from tests.browser import sign_in
from tests.factories.assets import AssetFactory, level
from tests.factories.hygiene import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_member_reports_from_the_header_and_the_champion_runs_it_to_resolution(page, teammate, owner, team_a):
    AssetFactory(
        team=team_a, name="support-llm-repo", kind="repository", classification=level("confidential")
    )
    sign_in(page, teammate.username, PASSWORD)
    page.goto("/assets/")
    page.get_by_role("link", name="Report an incident").click()
    page.get_by_label("Title").fill("Hub token committed to support-llm-repo")
    page.get_by_label("Category").select_option(label="Credential leak")
    page.get_by_label("Severity").select_option(label="High")
    page.get_by_label("What happened").fill("gitleaks found an hf_ token on main")
    happened = timezone.localtime() - dt.timedelta(minutes=40)
    page.get_by_label("When it happened").fill(happened.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Affected assets").fill("support-llm-repo")
    expect(page.locator("#sensitive-warning")).to_contain_text("Confidential data: support-llm-repo")
    page.get_by_label("Affected assets").press("Escape")
    page.get_by_role("button", name="Report", exact=True).click()

    expect(page).to_have_url(re.compile(r"/incidents/\d+/$"))
    incident = Incident.objects.get()
    expect(page.get_by_role("status")).to_contain_text(f"INC-{incident.pk} reported")
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, owner.username, PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Incidents").click()
    page.get_by_role("link", name=f"INC-{incident.pk}: Hub token committed to support-llm-repo").click()
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#incident-status")).to_have_text("Acknowledged")
    expect(page.locator("#incident-commander")).to_have_text("owner")

    expect(page.get_by_role("combobox", name="Playbook")).to_have_value("credential-leak")
    page.get_by_role("button", name="Start playbook").click()
    checklist = page.get_by_role("list", name="Checklist")
    expect(checklist.get_by_text("1. Revoke or rotate the exposed credential")).to_be_visible()
    page.get_by_role("button", name="Mark step 1 done").click()
    expect(page.get_by_role("status")).to_contain_text("Step 1 done.")

    page.get_by_role("button", name="Mark contained").click()
    expect(page.locator("#incident-status")).to_have_text("Contained")
    page.get_by_role("button", name="Mark resolved").click()
    expect(page.locator("#incident-status")).to_have_text("Resolved")

    timeline = page.locator("#timeline li")
    expect(timeline).to_have_count(6)
    expect(timeline.nth(0)).to_contain_text("Reported by teammate; affected: support-llm-repo")
    expect(timeline.nth(1)).to_contain_text("Acknowledged by owner; commander: owner")
    expect(timeline.nth(2)).to_contain_text(
        "Playbook “Leaked credential or secret” version 1 started by owner"
    )
    expect(timeline.nth(3)).to_contain_text("Step 1 done by owner: Revoke or rotate the exposed credential")
    expect(timeline.nth(4)).to_contain_text("Contained by owner")
    expect(timeline.nth(5)).to_contain_text("Resolved by owner")
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED and incident.commander == owner
