"""Celery tasks of the metrics app: thin and idempotent (a day's snapshot is rewritten whole)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from metrics.services.data_version import data_version_prune
from metrics.services.snapshots import snapshot_compute_day, snapshot_compute_days, snapshot_missing_days


@shared_task(name="metrics.tasks.snapshot_today", ignore_result=True)
def snapshot_today() -> None:
    """Refresh today's snapshot, so the dashboards' current month is at most a quarter of an hour old,
    and fold the data version's log into its base count."""
    snapshot_compute_day(day=timezone.localdate())
    data_version_prune()


@shared_task(name="metrics.tasks.snapshot_missing", ignore_result=True)
def snapshot_missing() -> None:
    """Compute yesterday's snapshot for good once the day is over, and any day of the last 30 missed."""
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    days = set(snapshot_missing_days(lookback=30))
    if not _computed_after_day_end(yesterday):
        days.add(yesterday)
    snapshot_compute_days(days=sorted(days))


def _computed_after_day_end(day: dt.date) -> bool:
    from metrics.models import FindingSnapshot
    from metrics.services.snapshots import day_bounds

    _, end = day_bounds(day)
    return FindingSnapshot.objects.filter(day=day, computed_at__gte=end).exists()


@shared_task(name="metrics.tasks.snapshot_day", ignore_result=True)
def snapshot_day(day: str) -> None:
    snapshot_compute_day(day=dt.date.fromisoformat(day))
