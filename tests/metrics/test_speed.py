"""What keeps the dashboards quick at scale: the overview's latest imports read from an index, each
snapshot question asked once per request, and the charts' tables built without the template engine
(bench/metrics.py measures the pages; these pin the reasons)."""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from findings.selectors import job_list_for_user
from metrics.charts import Chart
from metrics.dashboards import Period, build_dashboard, parse_month
from metrics.selectors import Scope
from metrics.services.snapshots import snapshot_backfill, snapshot_compute_day
from tests.factories.findings import ImportJobFactory

pytestmark = pytest.mark.django_db


def _plan(queryset) -> str:
    """The plan with table scans and sorts discouraged, as the planner weighs them on a big table."""
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_a_leads_latest_imports_are_read_newest_first_from_an_index(lead, team_a, team_b):
    for team in (team_a, team_b):
        ImportJobFactory.create_batch(3, team=team)
    shown = _plan(job_list_for_user(user=lead).select_related("asset")[:5])
    assert "importjob_created" in shown
    assert "Sort" not in shown.replace("Incremental Sort", "")


def test_a_dashboard_asks_for_the_newest_snapshot_day_once_per_period(lead, history):
    snapshot_backfill(since=history.day(0), until=history.today - dt.timedelta(days=1))
    snapshot_compute_day(day=history.today)
    with CaptureQueriesContext(connection) as captured:
        dashboard = build_dashboard(Scope(user=lead), Period.month(parse_month(None)))
    newest_day = [q for q in captured.captured_queries if 'MAX("metrics_findingsnapshot"."day")' in q["sql"]]
    # This month, the month before and the same month a year before.
    assert len(newest_day) == 3
    assert any(chart.has_data for chart in dashboard.charts)


def test_chart_tables_escape_what_people_typed():
    chart = Chart(key="k", title="t", formula="f", headers=["Team", "Open"])
    chart.rows.append(['<script>alert("x")</script>', (3, "/findings/?team=a&status=open")])
    html = str(chart.table_rows_html())
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert '<a href="/findings/?team=a&amp;status=open">3</a>' in html
