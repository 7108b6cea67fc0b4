"""Keeping the data version's log short (see migration metrics/0005 and metrics.dashboard_cache), and
the snapshot generation's (0006)."""

from __future__ import annotations

from django.db import connection, transaction

PRUNE_SQL = """
WITH moved AS (DELETE FROM metrics_data_version_log RETURNING 1)
UPDATE metrics_data_version_base SET value = value + (SELECT count(*) FROM moved)
"""
# The snapshot tables' generation (migration metrics/0006) is kept the same way.
PRUNE_GENERATION_SQL = """
WITH moved AS (DELETE FROM metrics_snapshot_generation_log RETURNING 1)
UPDATE metrics_snapshot_generation SET value = value + (SELECT count(*) FROM moved)
"""


@transaction.atomic
def data_version_prune() -> None:
    """Move the committed log rows into the base count: the version stays what it was, and reading it
    counts a quarter of an hour's writing transactions instead of every one since the start."""
    with connection.cursor() as cursor:
        cursor.execute(PRUNE_SQL)
        cursor.execute(PRUNE_GENERATION_SQL)
