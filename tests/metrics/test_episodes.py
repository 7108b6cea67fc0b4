"""Findings' episodes, kept by the database from their history, and the plans that read them.

The snapshots and the "open at the end of day D" drill-down count episodes; these tests pin that the
table follows every path that writes the history (import, re-import, bulk triage, deletion) and equals
a rebuild from the sightings, and that a day's episodes are found by index, not by reading them all
(the planner is told to avoid table scans, as it does on a big table).
"""

import datetime as dt
import re

import pytest
from django.db import connection
from django.utils import timezone

from findings.models import Finding, FindingEpisode, FindingStatus
from findings.selectors import finding_list_for_user
from findings.services.findings import finding_bulk_set_status
from findings.services.jobs import job_import_records
from metrics.services.snapshots import _EPISODES, day_bounds
from tests.factories.assets import AssetFactory
from tests.factories.findings import record
from tests.metrics.conftest import at

pytestmark = pytest.mark.django_db


def _episodes() -> list[tuple]:
    return list(
        FindingEpisode.objects.order_by("finding__rule_id", "opened_at").values_list(
            "finding__rule_id", "opened_at", "closed_at", "closed_as", "closing_sla_due", "is_first"
        )
    )


def test_imports_and_triage_keep_one_episode_per_open_stretch(history):
    episodes = {}
    for rule_id, opened, closed, closed_as, _due, first in _episodes():
        episodes.setdefault(rule_id, []).append((opened, closed, closed_as, first))

    day = lambda n: at(history.day(n))  # noqa: E731
    assert episodes["f1"] == [
        (day(0), day(5), "mitigated", True),
        (day(40), day(45), "mitigated", False),  # reopened: a second episode, not a longer first one
    ]
    assert episodes["f2"] == [(day(0), day(40), "mitigated", True)]
    assert episodes["f3"] == [(day(0), None, "", True)]
    [(opened, closed, closed_as, _)] = episodes["f4"]
    assert (opened, closed_as) == (day(0), "false_positive") and closed is not None  # bulk triage
    assert set(episodes) == {"f1", "f2", "f3", "f4", "f5", "f6"}


def test_the_kept_episodes_equal_a_rebuild_from_the_history(history):
    kept = _episodes()

    with connection.cursor() as cursor:
        cursor.execute("SELECT findings_refresh_episodes(NULL)")

    assert _episodes() == kept
    assert len(kept) == 7


def test_deleting_a_finding_deletes_its_episodes(history):
    f1 = history.finding("f1")

    f1.delete()

    assert not FindingEpisode.objects.filter(finding_id=f1.pk).exists()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred foreign keys hold
    assert FindingEpisode.objects.count() == 5


def test_a_corrected_first_seen_moves_the_first_episode(history):
    f3 = history.finding("f3")
    earlier = at(history.day(-3))

    Finding.objects.filter(pk=f3.pk).update(first_seen=earlier)

    assert list(FindingEpisode.objects.filter(finding=f3).values_list("opened_at", flat=True)) == [earlier]


def _episodes_by_index(shown: str) -> bool:
    """Whether the plan reads episodes through an index of theirs, never all of them. On tables this
    small the planner picks whichever episode index it likes (by finding, opening or closing time)."""
    return (
        "Seq Scan on findings_findingepisode" not in shown
        and re.search(r"Index (Only )?Scan.* on (episode_\w+|findings_findingepisode\w*)", shown) is not None
    )


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_a_days_snapshot_reads_only_the_episodes_that_meet_the_day_by_index(history):
    start, end = day_bounds(history.today)

    shown = _plan(_EPISODES.replace("CREATE TEMP TABLE metrics_episode AS", ""), {"start": start, "end": end})

    # On a table this small the planner may pick either episode index (or both, OR-ed): what matters is that
    # the episodes are found by an index, never by reading them all.
    assert _episodes_by_index(shown)


def test_the_open_on_drill_down_looks_up_each_findings_episodes_by_index(lead, history):
    day = history.today - dt.timedelta(days=20)
    findings = finding_list_for_user(user=lead, filters={"open_on": day.isoformat()})

    sql, params = findings.query.sql_with_params()
    shown = _plan(sql, params)

    assert _episodes_by_index(shown)
    assert set(findings.values_list("rule_id", flat=True)) == {"f1", "f3", "f4", "f5"}


@pytest.mark.parametrize("hashed", [True, False], ids=["sets-of-episodes-since", "probe-each-finding"])
def test_open_on_a_day_lists_exactly_the_findings_in_an_episode_then(lead, history, monkeypatch, hashed):
    """Both ways of asking (the episodes reopened or closed since, looked up by hash; or each
    finding's episodes probed) list the findings in an episode at the end of each day, including one
    closed then and reopened since."""
    from findings import selectors

    monkeypatch.setattr(selectors, "HASHED_EPISODES", 10**9 if hashed else -1)
    f2 = history.finding("f2")  # mitigated on day 40
    finding_bulk_set_status(actor=lead, finding_ids=[f2.pk], status=FindingStatus.OPEN, reason="back")

    listed_on = {}
    for n in range(0, 61, 5):
        day = history.day(n)
        end = day_bounds(day)[1]
        expected = {
            episode.finding.rule_id
            for episode in FindingEpisode.objects.select_related("finding")
            if episode.opened_at < end and (episode.closed_at is None or episode.closed_at >= end)
        }
        listed = finding_list_for_user(user=lead, filters={"open_on": day.isoformat()})
        listed_on[n] = set(listed.values_list("rule_id", flat=True))
        assert listed_on[n] == expected, day

    assert "f2" in listed_on[35] and "f2" not in listed_on[45] and "f2" in listed_on[60]  # reopened today
    assert "f1" in listed_on[40] and "f1" not in listed_on[30]  # its second episode, days 40 to 45


@pytest.mark.parametrize("hashed", [True, False], ids=["set-of-episodes", "probe-each-finding"])
def test_the_patched_drill_down_finds_episodes_closed_as_mitigated_by_index(
    lead, history, monkeypatch, hashed
):
    from findings import selectors

    monkeypatch.setattr(selectors, "HASHED_EPISODES", 10**9 if hashed else -1)
    filters = {"patched_from": history.day(40).isoformat(), "patched_to": history.day(45).isoformat()}
    findings = finding_list_for_user(user=lead, filters=filters)

    sql, params = findings.query.sql_with_params()
    shown = _plan(sql, params)

    assert _episodes_by_index(shown)
    assert set(findings.values_list("rule_id", flat=True)) == {"f1", "f2"}  # not f4's false positive


def test_an_older_scan_imported_later_closes_nothing_before_the_finding_was_first_seen(team_a, lead):
    """A scan file dated before a finding was first seen (uploaded after a newer one) cannot close or
    open an episode before the finding existed: its sighting counts as of first seen, so the episode
    starts at first seen and "patched by a day" implies "first seen before it" (the drill-down lists
    read findings in first-seen order on that)."""
    today = timezone.localdate()
    asset = AssetFactory(team=team_a, name="late-upload")
    newer, older = at(today - dt.timedelta(days=10)), at(today - dt.timedelta(days=20))
    job_import_records(team=team_a, asset=asset, records=[record(0, rule_id="g1")], scanner="trivy",
                       started_at=newer)  # fmt: skip
    job_import_records(team=team_a, asset=asset, records=[], scanner="trivy", started_at=older)

    [(opened, closed, closed_as)] = FindingEpisode.objects.filter(finding__rule_id="g1").values_list(
        "opened_at", "closed_at", "closed_as"
    )
    assert opened == newer  # not the older scan's time
    # The finding is mitigated (the older file lacks it), and so is its episode, from first seen on
    # (before 0017 the episode stayed open while the finding said mitigated).
    assert Finding.objects.get(rule_id="g1").status == "mitigated"
    assert closed is not None and closed >= opened and closed_as == "mitigated"
    patched = finding_list_for_user(
        user=lead,
        filters={
            "patched_from": (today - dt.timedelta(days=30)).isoformat(),
            "patched_to": today.isoformat(),
        },
    )
    assert list(patched.values_list("rule_id", flat=True)) == ["g1"]
