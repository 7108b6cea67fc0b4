"""Demo metrics: the daily snapshots of the demo's own history, so a first ``make run`` shows trends.

The demo's scans are dated up to a few months back; without this the overview would say that no snapshot
covers the period until the beat task has run for as many days. Computed by the same service as the
worker's (``snapshot_backfill``), from the first day the demo data knows of to today.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Min
from django.utils import timezone

from findings.models import Finding
from metrics.services.snapshots import snapshot_backfill

# At most this many days back: the demo's history is a few months long.
LOOKBACK_DAYS = 400


def seed_demo_data(**_: Any) -> None:
    today = timezone.localdate()
    first_seen = Finding.objects.aggregate(first=Min("first_seen"))["first"]
    if first_seen is None:
        return
    since = max(timezone.localdate(first_seen), today - dt.timedelta(days=LOOKBACK_DAYS))
    snapshot_backfill(since=since)
