"""A small fixed history the metrics are computed on by hand (see ``History``).

Day 0 is 60 days ago; every import happens one second after midnight, so durations are whole days.
Team A's development asset "trainer":
- f1 critical, published 10 days before day 0: found day 0, gone day 5 (patched in 5, within its
  7-day SLA), back day 40 (a second episode, due day 47), gone day 45 (patched in 5, within SLA).
- f2 high, no published date: found day 0, gone day 40 (patched in 40, late: due day 30).
- f3 high, published 100 days before day 0: found day 0, still open (past its due date, day 30).
- f4 medium, no published date: found day 0, marked false positive today (closed, not patched).
Team A's restricted asset "vault" has f6 (low) found yesterday; team B's asset "gateway" f5 (high),
found day 0 and open.
"""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from assets.models import Asset
from findings.models import Finding
from findings.services.findings import finding_bulk_set_status
from findings.services.jobs import job_import_records
from tests.factories.assets import AssetFactory
from tests.factories.findings import record

DAY0_OFFSET = 60


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0, 1), tzinfo=dt.UTC)


@dataclass
class History:
    day0: dt.date
    today: dt.date
    trainer: Asset
    vault: Asset
    gateway: Asset

    def day(self, n: int) -> dt.date:
        return self.day0 + dt.timedelta(days=n)

    def finding(self, rule_id: str) -> Finding:
        return Finding.objects.get(rule_id=rule_id)


def _records(day0: dt.date, *names: str):
    published = {
        "f1": at(day0 - dt.timedelta(days=10)),
        "f3": at(day0 - dt.timedelta(days=100)),
    }
    severity = {"f1": "critical", "f2": "high", "f3": "high", "f4": "medium", "f5": "high", "f6": "low"}
    return [
        record(i, rule_id=name, severity=severity[name], published_at=published.get(name))
        for i, name in enumerate(names)
    ]


def build_history(team_a, team_b, *, until: int | None = None, on_day=None) -> History:
    """Build the history up to day ``until`` (all of it by default); ``on_day(n)`` runs after each import."""
    today = timezone.localdate()
    day0 = today - dt.timedelta(days=DAY0_OFFSET)
    created = at(day0 - dt.timedelta(days=1))
    trainer = AssetFactory(team=team_a, name="trainer", kind="container_image", created_at=created)
    vault = AssetFactory(team=team_a, name="vault", kind="model", is_restricted=True, created_at=created)
    gateway = AssetFactory(team=team_b, name="gateway", kind="endpoint", created_at=created)
    history = History(day0=day0, today=today, trainer=trainer, vault=vault, gateway=gateway)
    steps = [
        (0, trainer, ("f1", "f2", "f3", "f4")),
        (0, gateway, ("f5",)),
        (5, trainer, ("f2", "f3", "f4")),
        (40, trainer, ("f1", "f3", "f4")),
        (45, trainer, ("f3", "f4")),
        (DAY0_OFFSET - 1, vault, ("f6",)),
    ]
    for n, asset, names in steps:
        if until is not None and n > until:
            break
        job_import_records(
            team=asset.team,
            asset=asset,
            records=_records(day0, *names),
            scanner="trivy",
            started_at=at(history.day(n)),
        )
        if on_day is not None:
            on_day(n)
    if until is None:
        finding_bulk_set_status(
            actor=None,
            finding_ids=[history.finding("f4").pk],
            status="false_positive",
            reason="Not reachable",
        )
    return history


@pytest.fixture
def history(team_a, team_b) -> History:
    return build_history(team_a, team_b)
