"""Dashboards kept per data version are exact: after any change a dashboard reads, the next view is
computed again and equals a view computed from scratch; two viewers never share what was kept.

These tests commit (``transaction=True``): the data version counts committed transactions, and a
transaction that wrote itself bypasses the cache (as every test in one transaction does)."""

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from assets.models import Asset
from assets.services.assets import asset_update
from findings.services.findings import finding_bulk_set_status
from findings.services.jobs import job_import_records
from hygiene.models import AuditEntry, Membership
from hygiene.services.teams import membership_remove
from metrics.dashboard_cache import data_version
from metrics.models import FindingSnapshot
from metrics.selectors import remembered_rows
from metrics.services.data_version import data_version_prune
from metrics.services.snapshots import snapshot_backfill, snapshot_compute_day
from tests.conftest import client_for
from tests.factories import TeamFactory
from tests.factories.audits import EngagementFactory
from tests.factories.findings import record
from tests.metrics.conftest import at

pytestmark = pytest.mark.django_db(transaction=True)

_VOLATILE = [
    re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"'),
    re.compile(r'nonce="[^"]+"'),
]
PAGES = ["/", "/metrics/teams/research/", "/metrics/compare/?month={month}"]


@pytest.fixture
def computed(history):
    snapshot_backfill(since=history.today - dt.timedelta(days=35), until=history.today - dt.timedelta(days=1))
    snapshot_compute_day(day=history.today)
    return history


def _body(response) -> str:
    text = response.content.decode()
    for pattern in _VOLATILE:
        text = pattern.sub("", text)
    return text


def _view(client, url: str) -> tuple[str, bool]:
    """The page, and whether its dashboard was computed (rather than taken from the cache)."""
    response = client.get(url)
    assert response.status_code == 200, url
    names = {template.name for template in response.templates}
    return _body(response), bool(names & {"metrics/_dashboard.html", "metrics/_compare.html"})


def _fresh(client, url: str) -> str:
    cache.clear()
    body, computed = _view(client, url)
    assert computed
    return body


def _assert_next_view_is_exact(client, url: str, before: str) -> None:
    after, computed = _view(client, url)
    assert computed, f"{url}: served from the cache after a change"
    assert after != before, f"{url}: the change does not show"
    assert after == _fresh(client, url)


def _seen(client, history) -> dict[str, str]:
    """Each page viewed twice: the second view comes from the cache, unchanged."""
    bodies = {}
    for page in PAGES:
        url = page.format(month=history.today.strftime("%Y-%m"))
        first, computed = _view(client, url)
        again, computed_again = _view(client, url)
        assert computed and not computed_again, url
        assert again == first
        bodies[url] = first
    return bodies


def test_the_version_moves_once_per_committed_writing_transaction_and_never_back(history):
    before = data_version()
    with transaction.atomic():
        asset_update(actor=None, asset=history.trainer, description="one")
        asset_update(actor=None, asset=history.trainer, description="two")
        assert data_version() is None  # this transaction wrote: it must not read or fill the cache
    assert data_version() == before + 1
    data_version_prune()
    assert data_version() == before + 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM metrics_data_version_log")
        assert cursor.fetchone()[0] == 0
    Membership.objects.filter(pk=0).delete()  # a statement that changes no row still counts
    assert data_version() == before + 2


def test_kept_snapshot_sums_follow_every_snapshot_write_and_the_prune_keeps_them(history):
    """Sums of snapshot rows are kept per generation of the snapshot tables (metrics/0004, 0006)."""
    counted = "SELECT count(*) FROM metrics_findingsnapshot WHERE day = %s"
    day = history.day(40)
    assert remembered_rows(counted, [day]) == [(0,)]

    snapshot_compute_day(day=day)
    written = FindingSnapshot.objects.filter(day=day).count()
    assert written and remembered_rows(counted, [day]) == [(written,)]

    data_version_prune()  # folds the generation's log into its base: the kept answer still holds
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM metrics_snapshot_generation_log")
        assert cursor.fetchone()[0] == 0
    with CaptureQueriesContext(connection) as queries:
        assert remembered_rows(counted, [day]) == [(written,)]
    assert not any("metrics_findingsnapshot WHERE" in query["sql"] for query in queries)

    FindingSnapshot.objects.filter(day=day, severity="critical").delete()
    assert remembered_rows(counted, [day]) == [(FindingSnapshot.objects.filter(day=day).count(),)]
    assert FindingSnapshot.objects.filter(day=day).count() < written


def test_an_imported_finding_shows_at_once_to_lead_and_member(client, lead, teammate, computed):
    seen = {}
    for user in (lead, teammate):
        client_for(client, user)
        seen[user.pk] = _seen(client, computed)
    job_import_records(
        team=computed.trainer.team,
        asset=computed.trainer,
        records=[record(9, rule_id="f9", severity="critical")],
        scanner="trivy",
        started_at=at(computed.today),
    )
    for user in (lead, teammate):
        client_for(client, user)
        _assert_next_view_is_exact(client, "/", seen[user.pk]["/"])
        _assert_next_view_is_exact(
            client, "/metrics/teams/research/", seen[user.pk]["/metrics/teams/research/"]
        )


def test_a_closed_finding_shows_at_once(client, teammate, computed):
    client_for(client, teammate)
    seen = _seen(client, computed)
    finding_bulk_set_status(
        actor=None, finding_ids=[computed.finding("f3").pk], status="false_positive", reason="Not reachable"
    )
    _assert_next_view_is_exact(client, "/", seen["/"])


def test_a_removed_membership_empties_the_member_s_dashboard_at_once(client, lead, teammate, computed):
    client_for(client, teammate)
    before, _ = _view(client, "/")
    assert "Research" in before
    membership_remove(actor=lead, membership=Membership.objects.get(user=teammate))
    after, computed_again = _view(client, "/")
    assert computed_again
    assert "You belong to no team" in after
    assert client.get("/metrics/teams/research/").status_code == 404


def test_an_asset_made_restricted_leaves_the_auditor_s_numbers_at_once(client, auditor, computed):
    client_for(client, auditor)
    before, _ = _view(client, "/")
    _, computed_again = _view(client, "/")
    assert not computed_again
    # Restricted follows the classification (a recompute writes the flag): the write is what counts.
    Asset.objects.filter(pk=computed.gateway.pk).update(is_restricted=True)
    _assert_next_view_is_exact(client, "/", before)


def test_a_recomputed_snapshot_shows_at_once(client, lead, computed):
    client_for(client, lead)
    month = computed.today.strftime("%Y-%m")
    url = f"/?month={month}"
    before, _ = _view(client, url)
    FindingSnapshot.objects.filter(day__gte=computed.today.replace(day=1)).delete()
    without, computed_again = _view(client, url)
    assert computed_again and without != before
    snapshot_backfill(since=computed.today.replace(day=1), until=computed.today - dt.timedelta(days=1))
    snapshot_compute_day(day=computed.today)
    _assert_next_view_is_exact(client, url, without)


def test_two_viewers_never_share_a_kept_dashboard(client, lead, teammate, outsider, computed):
    for first, second in ((lead, teammate), (teammate, outsider), (outsider, lead)):
        client_for(client, first)
        _view(client, "/")
        client_for(client, second)
        body, computed_again = _view(client, "/")
        assert computed_again
        assert body == _fresh(client, "/")


def test_a_kept_dashboard_read_in_an_engagement_is_still_logged_as_a_restricted_read(
    client, lead, auditor, computed
):
    team = TeamFactory(name="Vaults", slug="vaults")
    asset_update(actor=None, asset=computed.vault, team=team)
    engagement = EngagementFactory(auditor=auditor, opened_by=lead, teams=[team], restricted_in_scope=True)
    client_for(client, auditor)
    assert client.get(f"/audits/{engagement.pk}/").status_code == 200
    logged = AuditEntry.objects.filter(action="restricted_read").count()
    _, computed_first = _view(client, "/metrics/teams/vaults/")
    _, computed_again = _view(client, "/metrics/teams/vaults/")
    assert computed_first and not computed_again
    assert AuditEntry.objects.filter(action="restricted_read").count() == logged + 2


def test_an_api_value_kept_for_the_data_follows_a_change(api_client, lead, computed):
    client_for(api_client, lead)
    url = "/api/v1/metrics/open/"
    before = api_client.get(url).json()["value"]["value"]
    assert api_client.get(url).json()["value"]["value"] == before
    job_import_records(
        team=computed.gateway.team,
        asset=computed.gateway,  # its scan again (f5) with one finding more
        records=[record(0, rule_id="f5", severity="high"), record(1, rule_id="f9", severity="critical")],
        scanner="trivy",
        started_at=at(computed.today),
    )
    assert api_client.get(url).json()["value"]["value"] == before + 1


def test_the_snapshot_beat_task_folds_the_log_into_the_base_without_moving_the_version_back(history):
    from metrics.tasks import snapshot_today

    before = data_version()
    snapshot_today()  # writes today's snapshot rows (a new version), then prunes
    assert data_version() > before
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM metrics_data_version_log")
        assert cursor.fetchone()[0] == 0
