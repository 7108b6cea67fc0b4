"""The incident list and page stay fast at thousands of incidents, for a member as for a security lead.

The list reads a member's page in order from the team index (no scan of every team's incidents, no
sort); the page and the list make a fixed number of queries however long the timeline, however many
assets, findings, steps and follow-ups (each query is a round trip, which on a loaded server costs more
than the work). ``bench/incidents.py`` measures the times.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import EntryKind, TimelineEntry
from incidents.selectors import incident_counts_for_user, incident_list_for_user
from incidents.services import incident_link_finding
from tests.conftest import client_for
from tests.factories.assets import AssetFactory, level
from tests.factories.findings import FindingFactory
from tests.factories.incidents import IncidentFactory, incident_with_history

pytestmark = pytest.mark.django_db

# What a page costs in queries, whatever it shows: the middleware (session, person, profile, OTP device,
# groups), the header (unread notifications, a member's teams), the permission path (a member's teams and
# roles, the grants they hold on the model) and the page's own reads. A change that adds a query per row
# or per check fails here before it shows in the benchmark.
MEMBER_LIST_QUERIES = 13
LEAD_LIST_QUERIES = 9
MEMBER_PAGE_QUERIES = 16
LEAD_PAGE_QUERIES = 14


def plan(queryset) -> str:
    """The plan of ``queryset`` as the planner picks it on a big table (a test table is too small for
    it to prefer an index by itself, so scans are priced out as they are at thousands of rows)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize("filters", [{}, {"status": "closed"}, {"severity": "critical"}, {"q": "token"}])
def test_a_members_list_page_is_read_in_order_from_the_team_index(teammate, team_a, team_b, filters):
    IncidentFactory.create_batch(3, team=team_a)
    IncidentFactory.create_batch(3, team=team_b)

    shown = plan(incident_list_for_user(user=teammate, filters=filters)[:25])

    assert "incident_team_reported_id" in shown
    assert "Seq Scan on incidents_incident" not in shown
    assert "Sort" not in shown  # the index gives the order: no sort of every match for 25 rows


def test_a_members_counts_per_status_read_only_the_teams_incidents(teammate, team_a, team_b):
    IncidentFactory.create_batch(3, team=team_a)
    IncidentFactory.create_batch(3, team=team_b)
    counts = incident_counts_for_user(user=teammate)

    with CaptureQueriesContext(connection) as captured:
        incident_counts_for_user(user=teammate)
    (query,) = [q["sql"] for q in captured if 'FROM "incidents_incident"' in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {query}")
        shown = "\n".join(row[0] for row in cursor.fetchall())

    assert counts["reported"] == 3
    assert "Seq Scan on incidents_incident" not in shown
    assert "team" in shown  # one of the team indexes


def _list_queries(client, url: str) -> int:
    client.get(url)  # warm: content types and the like are cached per process
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    ("persona", "expected"), [("teammate", MEMBER_LIST_QUERIES), ("lead", LEAD_LIST_QUERIES)]
)
def test_the_list_makes_the_same_few_queries_for_5_or_60_incidents(
    request, client, team_a, persona, expected
):
    person = request.getfixturevalue(persona)
    client_for(client, person)
    assets = [AssetFactory(team=team_a), AssetFactory(team=team_a, classification=level("restricted"))]
    for asset in assets:
        for incident in IncidentFactory.create_batch(2, team=team_a, commander=person):
            incident.asset_links.create(asset=asset)
    few = _list_queries(client, "/incidents/")
    IncidentFactory.create_batch(56, team=team_a, commander=person, escalation_level=1)

    for url in ("/incidents/", "/incidents/?status=reported&page=2", "/incidents/?q=Incident&per_page=50"):
        assert _list_queries(client, url) == few == expected, url


def _busy_incident(owner, team_a):
    """An incident with everything on its page: a playbook running, a review, a follow-up, three assets
    (one restricted), two linked findings and a timeline of more than 20 entries."""
    assets = [
        AssetFactory(team=team_a, classification=level("confidential")),
        AssetFactory(team=team_a),
        AssetFactory(team=team_a, classification=level("restricted")),
    ]
    incident = incident_with_history(actor=owner, team=team_a, title="Token in a notebook", assets=assets)
    for asset in assets[:2]:
        incident_link_finding(actor=owner, incident=incident, finding_id=FindingFactory(asset=asset).pk)
    TimelineEntry.objects.bulk_create(
        TimelineEntry(incident=incident, kind=EntryKind.NOTE, text=f"Note {n}") for n in range(20)
    )
    return incident


@pytest.mark.parametrize(
    ("persona", "expected"), [("teammate", MEMBER_PAGE_QUERIES), ("lead", LEAD_PAGE_QUERIES)]
)
def test_the_incident_page_makes_a_fixed_number_of_queries_however_much_it_shows(
    request, client, owner, team_a, persona, expected
):
    person = request.getfixturevalue(persona)
    busy = _busy_incident(owner, team_a)
    quiet = IncidentFactory(team=team_a)
    client_for(client, person)
    client.get(f"/incidents/{quiet.pk}/")  # warm

    with CaptureQueriesContext(connection) as quiet_queries:
        client.get(f"/incidents/{quiet.pk}/")
    with CaptureQueriesContext(connection) as busy_queries:
        page = client.get(f"/incidents/{busy.pk}/").content.decode()

    assert "Note 19" in page and "Token in a notebook" in page
    assert page.count('class="badge kind"') >= 22  # the whole timeline is shown
    assert len(busy_queries) <= expected
    # Empty parts are known with the incident: the quiet page reads less, never more.
    assert len(quiet_queries) < len(busy_queries)
