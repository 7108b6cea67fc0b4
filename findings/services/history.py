"""The history the metrics read when a person (or an exception) changes a finding's status.

Each change is an episode boundary: it ends or starts a stretch of being open, so it is written as a
sighting with the status and the due date in force then. Imports write their own sightings in SQL
(``findings.services.ingest``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import F
from django.utils import timezone

from findings.models import Finding, FindingSighting, FindingStatus, Outcome


def closing_fields(status: str) -> dict[str, Any]:
    """What a status change sets besides the status: the due date in force when a finding closes is
    frozen on it (the metrics' SLA compliance reads it); reopening clears it."""
    if status == FindingStatus.OPEN:
        return {"sla_due_at_close": None}
    return {"sla_due_at_close": F("sla_due")}


def status_sightings_write(*, finding_ids: Iterable[int], status: str) -> None:
    """Record that these findings (already updated) changed to ``status`` now."""
    now = timezone.now()
    dues = Finding.objects.filter(pk__in=list(finding_ids)).values_list("pk", "sla_due")
    FindingSighting.objects.bulk_create(
        FindingSighting(finding_id=pk, outcome=Outcome.TRIAGED, occurred_at=now, status=status, sla_due=due)
        for pk, due in dues
    )
