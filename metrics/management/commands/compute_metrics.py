"""Compute the metrics snapshots of a day, or backfill every day since a date, from the data's history."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from metrics.services.snapshots import snapshot_backfill, snapshot_compute_day


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = "Compute the daily metrics snapshots: one day (--date, default today) or every day since --since."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=_date, help="The day to compute (YYYY-MM-DD); default today.")
        parser.add_argument("--since", type=_date, help="Backfill every day from this one to --until.")
        parser.add_argument(
            "--until", type=_date, help="Last day of a backfill (default yesterday; today included if given)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.localdate()
        started = time.monotonic()
        if options["since"] and options["date"]:
            raise CommandError("Give --date or --since, not both.")
        if options["since"]:
            until = options["until"] or today - dt.timedelta(days=1)
            if options["since"] > until or until > today:
                raise CommandError("--since must be on or before --until, and neither after today.")
            rows = snapshot_backfill(since=options["since"], until=until)
            days = (until - options["since"]).days + 1
        else:
            day = options["date"] or today
            if day > today:
                raise CommandError("A day in the future has no data yet.")
            rows = snapshot_compute_day(day=day)
            days = 1
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Computed {days} day{'s' if days != 1 else ''} ({rows} snapshot rows) in {elapsed:.1f} s."
        )
