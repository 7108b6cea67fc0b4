"""The metrics section of an audit engagement: the period's metric values, read as the engagement's
auditor, so another team's and restricted data stay out unless the engagement opens them."""

import pytest

from audits import sections as registry
from audits.selectors import section_context
from metrics.audit_sections import FIGURE_KEYS
from metrics.definitions import METRICS
from metrics.services.snapshots import snapshot_backfill, snapshot_compute_day
from tests.factories.audits import EngagementFactory

pytestmark = pytest.mark.django_db


def _open(engagement):
    rows = {row[0]: row for row in registry.SECTIONS["metrics"].rows(section_context(engagement))}
    return rows["open"][4]


def test_the_metrics_section_carries_the_periods_values_scoped_to_the_engagement(
    history, auditor, lead, team_a, team_b
):
    snapshot_backfill(since=history.day(0), until=history.today)
    snapshot_compute_day(day=history.today)
    team_a_only = EngagementFactory(
        auditor=auditor, opened_by=lead, teams=[team_a], period_start=history.day(0), period_end=history.today
    )
    with_restricted = EngagementFactory(
        auditor=auditor,
        opened_by=lead,
        teams=[team_a],
        restricted_in_scope=True,
        period_start=history.day(0),
        period_end=history.today,
    )
    both_teams = EngagementFactory(
        auditor=auditor,
        opened_by=lead,
        teams=[team_a, team_b],
        period_start=history.day(0),
        period_end=history.today,
    )

    # Open at the end: team A's f3 (and f6 on the restricted vault); team B's f5.
    assert _open(team_a_only) == 1
    assert _open(with_restricted) == 2
    assert _open(both_teams) == 2
    section = registry.SECTIONS["metrics"]
    assert section.count(section_context(team_a_only)) == len(
        list(section.rows(section_context(team_a_only)))
    )
    labels = [figure.label for figure in section.figures(section_context(team_a_only))]
    assert labels == [METRICS[key].label for key in FIGURE_KEYS]
