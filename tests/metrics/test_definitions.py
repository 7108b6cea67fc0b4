"""Each metric computed by hand on the fixed history of conftest.py and compared."""

import datetime as dt

import pytest

from hygiene.lib.survival import bucket, kaplan_meier
from metrics.dashboards import Period, period_context
from metrics.definitions import METRICS, value_of
from metrics.selectors import Scope, finding_summary
from metrics.services.snapshots import snapshot_backfill, snapshot_compute_day

pytestmark = pytest.mark.django_db


def _compute(history):
    snapshot_backfill(since=history.day(0), until=history.today - dt.timedelta(days=1))
    snapshot_compute_day(day=history.today)


def _values(user, history, **scope):
    context = period_context(Scope(user=user, **scope), Period(history.day(0), history.today))
    return {key: value_of(metric, context) for key, metric in METRICS.items()}


def test_time_to_patch_counts_each_episode_and_keeps_open_items(history, lead):
    _compute(history)
    values = _values(lead, history, team="research")
    # critical: f1's two episodes, patched in 5 days each.
    assert values["ttp_p50_critical"].value == 5
    assert values["ttp_p90_critical"].value == 5
    assert values["ttp_p50_critical"].note.startswith("2 patched")
    # high: f2 patched in 40 days, f3 open for 60: half patched at 40, the 90th percentile not reached.
    assert values["ttp_p50_high"].value == bucket(40)
    assert values["ttp_p90_high"].value is None
    assert "not reached" in values["ttp_p90_high"].note
    # medium: f4 closed as a false positive is not patched: no estimate, one censored item.
    assert values["ttp_p50_medium"].value is None
    assert values["ttp_p50_medium"].count == 1


def test_sla_compliance_uses_the_due_date_frozen_at_closing(history, lead):
    _compute(history)
    values = _values(lead, history, team="research")
    # f1 twice within SLA, f2 late.
    assert values["sla_compliance"].value == pytest.approx(66.7)
    assert values["sla_compliance"].count == 3
    assert history.finding("f2").sla_due_at_close == history.day(30)
    assert history.finding("f4").sla_due_at_close == history.day(90)


def test_time_to_detect_counts_missing_published_dates_beside_the_median(history, lead):
    _compute(history)
    values = _values(lead, history, team="research")
    assert values["mttd"].value == 10  # f1: 10 days; f3: 100 days
    assert values["mttd"].note == "2 with a published date, 3 without"  # f2, f4, f6
    # Exposure: f1 patched 15 and 55 days after it was published.
    assert values["exposure_window"].value == 15


def test_open_and_past_sla_at_the_end_of_the_period(history, lead, teammate):
    _compute(history)
    lead_values = _values(lead, history, team="research")
    assert lead_values["open"].value == 2  # f3, f6
    assert lead_values["open_past_sla"].value == 1  # f3
    summary = finding_summary(Scope(user=lead), start=history.day(0), end=history.today)
    assert +summary.state["open"] == {"high": 2, "low": 1}
    assert summary.total("new") == 6
    assert summary.total("reopened") == 1
    assert summary.total("patched") == 3
    assert summary.total("closed_unpatched") == 1


def test_kaplan_meier_matches_a_hand_computation():
    # 4 items: events at 2 and 4, censored at 3 and 5. S(2) = 3/4; S(4) = 3/4 * (1 - 1/2) = 3/8.
    estimate = kaplan_meier({2: 1, 4: 1}, {3: 1, 5: 1})
    assert estimate.p50 == 4
    assert estimate.p90 is None
    assert (estimate.events, estimate.censored) == (2, 2)
