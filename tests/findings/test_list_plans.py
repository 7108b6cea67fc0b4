"""The findings list reads its pages in order from an index, whoever asks: no sort of all matches.

At a million findings a sort of a security lead's open findings takes most of a second; these tests
pin the indexes the list relies on (the planner is told to avoid table scans, as it does on a big
table, since a test database is too small for it to choose indexes by itself).
"""

import pytest
from django.db import connection

from findings.selectors import finding_list_for_user
from tests.factories.findings import FindingFactory

pytestmark = pytest.mark.django_db


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"status": "open"}, "finding_open_severity_order"),
        ({"status": "open", "sort": "newest"}, "finding_open_first_seen"),
        ({"status": "open", "sort": "oldest"}, "finding_open_first_seen"),
        ({"status": "open", "sort": "epss"}, "finding_open_epss_order"),
    ],
)
def test_a_security_leads_first_page_is_read_in_order_from_an_index(lead, filters, index):
    FindingFactory.create_batch(3)

    shown = plan(finding_list_for_user(user=lead, filters=filters)[:25])

    assert index in shown
    assert "Sort" not in shown.replace("Incremental Sort", "")


@pytest.mark.parametrize("status", ["open", "mitigated"])
def test_a_members_first_page_is_read_in_order_whatever_the_status(teammate, team_a, status):
    FindingFactory.create_batch(3, asset__team=team_a)

    shown = plan(finding_list_for_user(user=teammate, filters={"status": status})[:25])

    assert "Sort" not in shown
