"""Snapshots are idempotent, and a day backfilled later equals the same day computed on the day."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from metrics.models import CoverageSnapshot, FindingMonth, FindingSnapshot
from metrics.services.snapshots import snapshot_backfill, snapshot_compute_day, snapshot_compute_days
from tests.metrics.conftest import build_history

pytestmark = pytest.mark.django_db

IGNORED = {"id", "computed_at"}


def _rows(model, day):
    fields = [f.attname for f in model._meta.concrete_fields if f.attname not in IGNORED]
    return sorted(
        (tuple(sorted(row.items())) for row in model.objects.filter(day=day).values(*fields)), key=repr
    )


def test_backfilled_days_equal_the_days_computed_on_the_day(team_a, team_b):
    computed = {}

    def compute_that_day(n):
        day = dt.date.today() - dt.timedelta(days=60 - n)
        snapshot_compute_day(day=day)
        computed[day] = (_rows(FindingSnapshot, day), _rows(CoverageSnapshot, day))

    history = build_history(team_a, team_b, on_day=compute_that_day)
    FindingSnapshot.objects.all().delete()
    CoverageSnapshot.objects.all().delete()

    snapshot_backfill(since=history.day(0), until=history.today - dt.timedelta(days=1))

    assert computed  # five days of imports, each computed as it happened
    for day, (findings, coverage) in computed.items():
        assert _rows(FindingSnapshot, day) == findings, day
        assert _rows(CoverageSnapshot, day) == coverage, day


@pytest.mark.django_db(transaction=True)
def test_a_backfill_on_two_connections_writes_what_one_connection_writes(team_a, team_b):
    """Committed data (no test transaction around it), so the second connection sees it: the days
    are cut into two stretches computed at once, and every day and month equals the run on one."""
    history = build_history(team_a, team_b)
    days = [history.day(0) + dt.timedelta(days=n) for n in range((history.today - history.day(0)).days)]

    def written():
        month_fields = [f.attname for f in FindingMonth._meta.concrete_fields if f.attname not in IGNORED]
        months = sorted(map(repr, FindingMonth.objects.values_list(*month_fields)))
        return [(_rows(FindingSnapshot, day), _rows(CoverageSnapshot, day)) for day in days], months

    snapshot_compute_days(days=days, connections=1)
    alone = written()
    FindingSnapshot.objects.all().delete()
    FindingMonth.objects.all().delete()

    snapshot_compute_days(days=days, connections=2)

    assert len(days) >= 60  # long enough to be cut in two (two chunks each)
    assert any(findings for findings, _ in alone[0])
    assert written() == alone


def test_computing_a_day_twice_changes_nothing(history):
    day = history.day(40)
    snapshot_compute_day(day=day)
    first = (_rows(FindingSnapshot, day), _rows(CoverageSnapshot, day))
    snapshot_compute_day(day=day)
    assert (_rows(FindingSnapshot, day), _rows(CoverageSnapshot, day)) == first
    assert FindingSnapshot.objects.filter(day=day).count() == len(first[0])


def test_a_day_with_a_reopened_finding_counts_the_new_episode(history):
    snapshot_compute_day(day=history.day(40))
    critical = FindingSnapshot.objects.get(
        day=history.day(40), team=history.trainer.team, severity="critical"
    )
    assert (critical.new, critical.reopened, critical.open) == (0, 1, 1)
    high = FindingSnapshot.objects.get(day=history.day(40), team=history.trainer.team, severity="high")
    assert (high.patched, high.patched_late, high.open, high.open_past_sla) == (1, 1, 1, 1)


def test_coverage_counts_assets_scanned_within_7_and_30_days_by_check_type(history):
    snapshot_compute_day(day=history.day(50))
    trainer = CoverageSnapshot.objects.get(day=history.day(50), kind="container_image")
    # Last scanned on day 45: within 7 days of day 50; a container image's vulnerabilities count as
    # dependency and container scanning, and a Trivy file is a secret scan too (it runs that scanner).
    assert (trainer.active, trainer.scanned_7, trainer.scanned_30) == (1, 1, 1)
    assert trainer.checks == {"container": [1, 1], "dependency": [1, 1], "secret": [1, 1]}
    model = CoverageSnapshot.objects.get(day=history.day(50), kind="model")
    assert (model.active, model.scanned_30, model.checks) == (1, 0, {})


def test_compute_metrics_command_backfills_and_refuses_bad_dates(history, capsys):
    call_command("compute_metrics", "--since", history.day(0).isoformat())
    assert "Computed 60 days" in capsys.readouterr().out
    assert FindingSnapshot.objects.filter(day=history.day(0)).exists()
    with pytest.raises(CommandError, match="not a date"):
        call_command("compute_metrics", "--date", "yesterday")
    with pytest.raises(CommandError, match="future"):
        call_command("compute_metrics", "--date", (history.today + dt.timedelta(days=1)).isoformat())
