"""A lead opens the overview, clicks a bar of the time-to-patch chart and lands on the findings it counts."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from metrics.services.snapshots import snapshot_backfill, snapshot_compute_day
from tests.browser import sign_in
from tests.factories.hygiene import PASSWORD
from tests.metrics.conftest import build_history

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_lead_clicks_a_time_to_patch_bar_and_lands_on_its_findings(page, lead, team_a, team_b):
    history = build_history(team_a, team_b)
    snapshot_backfill(since=history.day(0), until=history.today - dt.timedelta(days=1))
    snapshot_compute_day(day=history.today)
    month = history.day(45).strftime("%Y-%m")
    sign_in(page, lead.username, PASSWORD)

    page.goto(f"/?month={month}")
    chart = page.locator("#chart-ttp .chart")
    expect(chart).to_have_attribute("data-drawn", "true")
    # The first bar is the critical median: f1's second episode was patched in 5 days that month.
    chart.scroll_into_view_if_needed()
    bar = chart.locator("g.point path").first
    box = bar.bounding_box()
    assert box is not None and box["height"] > 0
    # Plotly listens on the plot area above the bars: click where the bar is, as a person would.
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    expect(page).to_have_url(re.compile(r"/findings/\?.*severity=critical"))
    assert f"patched_from={history.day(45).replace(day=1).isoformat()}" in page.url
    rows = page.locator("table.findings tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("f1")
