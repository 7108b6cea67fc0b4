"""Every table a metrics page or metrics API endpoint reads moves the data version when written
(migration metrics/0005), or is exempted here with the reason it cannot make a kept dashboard stale.

A dashboard kept under the data version (metrics.dashboard_cache) is exact only if every row it depends
on is in a tracked table: a new table read by a dashboard without the trigger fails here."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metrics.services.snapshots import snapshot_backfill, snapshot_compute_day
from tests.conftest import client_for
from tests.factories.audits import EngagementFactory

pytestmark = pytest.mark.django_db

EXEMPT = {
    "django_session": "who is signed in, read before any view runs; per request, never kept",
    "django_content_type": "fixed at deploy time (model names)",
    "auth_permission": "fixed at deploy time (permission names)",
    "otp_totp_totpdevice": "the second factor of the sign-in, checked before any view runs",
    "otp_static_staticdevice": "the second factor of the sign-in, checked before any view runs",
    "hygiene_notification": "the header's unread count, computed on every request outside the kept part",
    "hygiene_apitoken": "authenticates an API request before the view; the token's team is in the key",
    "metrics_data_version_log": "the version itself",
    "metrics_data_version_base": "the version itself",
    "metrics_snapshot_generation": "moved by writes to the snapshot tables, which move the version too",
    "metrics_snapshot_generation_log": "moved by writes to the snapshot tables, which move the version too",
}

PAGES = ["/", "/metrics/teams/{team}/", "/metrics/audit/", "/metrics/compare/"]
API = [
    "/api/v1/metrics/",
    "/api/v1/metrics/open_past_sla/",
    "/api/v1/metrics/open/series/?interval=day",
    "/api/v1/metrics/ttp_p50/series/",
    "/api/v1/metrics/sla_compliance/series/?interval=month",
    "/api/v1/metrics/control_compliance/series/",
    "/api/v1/metrics/incidents_open/series/",
]
NAMED = re.compile(r'\b(?:FROM|JOIN)\s+"?([a-z_][a-z0-9_]*)"?', re.IGNORECASE)


def _tracked_tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE t.tgname = 'data_version' AND NOT t.tgisinternal"
        )
        return {name for (name,) in cursor.fetchall()}


def _read_tables(client, urls: list[str]) -> set[str]:
    tables = set(connection.introspection.table_names())
    read: set[str] = set()
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)
        assert response.status_code in (200, 403, 404), (url, response.status_code)
        for query in queries.captured_queries:
            read.update(name for name in NAMED.findall(query["sql"]) if name in tables)
    return read


@pytest.fixture
def personas(client, lead, auditor, owner, teammate, outsider, history):
    snapshot_backfill(since=history.today - dt.timedelta(days=40), until=history.today - dt.timedelta(days=1))
    snapshot_compute_day(day=history.today)
    in_engagement = EngagementFactory(
        auditor=auditor, opened_by=lead, teams=[history.trainer.team], restricted_in_scope=True
    )
    return [
        ("lead", lead, None),
        ("auditor", auditor, None),
        ("auditor in an engagement", auditor, in_engagement),
        ("champion", owner, None),
        ("member", teammate, None),
        ("member of another team", outsider, None),
    ]


def test_every_table_a_metrics_page_or_endpoint_reads_moves_the_data_version(client, personas, history):
    tracked = _tracked_tables()
    read: dict[str, set[str]] = {}
    for name, user, engagement in personas:
        client.logout()
        client_for(client, user)
        if engagement is not None:
            assert client.get(f"/audits/{engagement.pk}/").status_code == 200
        page = client.get("/")
        charts = [chart.key for chart in page.context["dashboard"].charts]
        assert charts, name
        urls = [url.format(team=history.trainer.team.slug) for url in PAGES]
        urls += [f"/metrics/charts/{key}.csv" for key in charts] + API
        for table in _read_tables(client, urls):
            read.setdefault(table, set()).add(name)

    assert {"findings_finding", "metrics_findingsnapshot", "hygiene_membership"} <= set(read)
    untracked = {table: sorted(who) for table, who in read.items() if table not in tracked | set(EXEMPT)}
    assert untracked == {}, f"read by a dashboard, not moving the data version: {untracked}"
