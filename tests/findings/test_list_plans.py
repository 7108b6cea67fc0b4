"""The findings list reads its pages in order from an index, whoever asks: no sort of all matches.

At a million findings a sort of a security lead's findings takes most of a second; these tests pin the
indexes the list relies on. A test database is too small for the planner to choose them by itself, so
it is told to avoid table scans and sorts as it does on a big table: a sort is still planned when no
index gives the list's order (bench/findings_list.py shows the planner's own choice at scale).
"""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.utils import timezone

from findings.models import Finding
from findings.selectors import finding_list_for_user, finding_severity_counts_capped
from findings.services.enrichment import epss_apply_to_findings
from tests.factories.assets import AssetFactory, level
from tests.factories.findings import FindingFactory

pytestmark = pytest.mark.django_db


def plan(queryset, *, search: bool = False) -> str:
    """The plan of ``queryset``; a ``search`` reads its GIN index through a bitmap and sorts its
    matches, which the lists' order needs neither of."""
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"SET LOCAL enable_sort = {'on' if search else 'off'}")
        cursor.execute(f"SET LOCAL enable_bitmapscan = {'on' if search else 'off'}")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def full_sorts(shown: str) -> int:
    """Sort nodes over every match (an incremental sort only orders rows already in index order; its
    "Sort Key" lines are not sorts)."""
    nodes = (line.strip().removeprefix("->").strip() for line in shown.splitlines())
    return sum(1 for node in nodes if node.startswith("Sort  ("))


@pytest.fixture
def estate(team_a, team_b):
    """Enough findings, of every status and severity, on two teams and a restricted asset, for the
    planner to weigh reading in index order against sorting (with statistics, as autovacuum keeps)."""
    assets = [
        AssetFactory(team=team_a),
        AssetFactory(team=team_b),
        AssetFactory(team=team_b, classification=level("restricted")),
    ]
    statuses = ["open"] * 6 + ["mitigated"] * 3 + ["false_positive"]
    severities = ["critical", "high", "medium", "medium", "low"]
    today = timezone.localdate()
    Finding.objects.bulk_create(
        FindingFactory.build(
            asset=assets[n % 3],
            status=statuses[n % 10],
            severity=severities[n % 5],
            sla_due=today + dt.timedelta(days=n % 90),
        )
        for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE findings_finding")


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"status": "open"}, ("finding_open_order", "finding_severity_order")),
        ({"status": "mitigated"}, ("finding_severity_order",)),
        ({}, ("finding_severity_order",)),  # the API's default: every status
        ({"status": "open", "sort": "newest"}, ("finding_first_seen_order",)),
        ({"sort": "oldest"}, ("finding_first_seen_order",)),
    ],
)
def test_a_security_leads_first_page_is_read_in_order_from_an_index(estate, lead, filters, index):
    shown = plan(finding_list_for_user(user=lead, filters=filters)[:25])

    assert any(name in shown for name in index)
    assert full_sorts(shown) == 0


@pytest.mark.parametrize("filters", [{"status": "open"}, {}])
def test_an_auditors_first_page_is_read_in_order_from_an_index(estate, auditor, filters):
    # An auditor sees every team but no restricted asset: the asset is joined to each row read in order.
    shown = plan(finding_list_for_user(user=auditor, filters=filters)[:25])

    assert "finding_severity_order" in shown or "finding_open_order" in shown
    assert full_sorts(shown) == 0
    assert "Seq Scan on findings_finding" not in shown


@pytest.mark.parametrize("filters", [{"status": "open"}, {"status": "mitigated"}, {}])
def test_a_members_first_page_is_read_in_order_whatever_the_status(estate, teammate, filters):
    shown = plan(finding_list_for_user(user=teammate, filters=filters)[:25])

    assert full_sorts(shown) == 0
    assert "Seq Scan on findings_finding" not in shown


@pytest.mark.parametrize("who", ["lead", "auditor"])
def test_a_search_of_everything_reads_the_search_index(estate, request, who):
    user = request.getfixturevalue(who)
    filters = {"status": "open", "q": "openssl"}

    shown = plan(finding_list_for_user(user=user, filters=filters)[:25], search=True)

    assert "finding_search" in shown
    assert "Seq Scan on findings_finding" not in shown


def test_a_members_search_reads_an_index(estate, teammate):
    # Their team's findings through the team's index, or the search index: whichever matches fewer.
    filters = {"status": "open", "q": "openssl"}

    shown = plan(finding_list_for_user(user=teammate, filters=filters)[:25], search=True)

    assert "Seq Scan on findings_finding" not in shown


@pytest.mark.parametrize("who", ["lead", "auditor", "teammate"])
def test_an_advisory_id_is_looked_up_by_rule_id(estate, request, who):
    user = request.getfixturevalue(who)
    filters = {"status": "open", "q": "CVE-2021-44228"}

    shown = plan(finding_list_for_user(user=user, filters=filters)[:25], search=True)

    assert "finding_rule_id" in shown
    assert "Seq Scan on findings_finding" not in shown


@pytest.mark.django_db(transaction=True)  # VACUUM runs outside a transaction
@pytest.mark.parametrize("who", ["lead", "auditor"])
def test_the_capped_counts_of_everything_are_read_from_an_index_alone(estate, request, who, monkeypatch):
    # Past the exact-count threshold each severity is counted up to the cap: an index range read
    # without visiting the table (once vacuum has marked its pages visible), the asset's restriction
    # included.
    from findings import selectors

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE findings_finding")
    user = request.getfixturevalue(who)
    monkeypatch.setattr(selectors, "EXACT_COUNT_ROWS", 0)
    counted = []
    monkeypatch.setattr(selectors, "_capped_count", lambda queryset, cap: counted.append(queryset) or 0)

    finding_severity_counts_capped(user=user, filters={"status": "open"})

    assert len(counted) == 5
    for queryset in counted:
        shown = plan(queryset[:5001])
        assert "Index Only Scan" in shown
        assert "Seq Scan on findings_finding" not in shown


def test_an_epss_load_rewrites_scores_without_writing_an_index(estate):
    # No index holds the EPSS score, so a daily load's updates are HOT: the rows change in place and
    # none of the table's indexes grows (the load rewrites most of a million findings).
    from findings.models import EpssScore

    rule_ids = list(Finding.objects.values_list("rule_id", flat=True))
    EpssScore.objects.bulk_create(EpssScore(cve_id=rule, score=0.5, percentile=0.9) for rule in rule_ids)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_get_xact_tuples_hot_updated('findings_finding'::regclass)")
        hot_before = cursor.fetchone()[0]

        updated = epss_apply_to_findings()

        cursor.execute("SELECT pg_stat_get_xact_tuples_hot_updated('findings_finding'::regclass)")
        hot = cursor.fetchone()[0] - hot_before
    assert updated == Finding.objects.count() > 0
    assert hot == updated


@pytest.mark.parametrize("who", ["lead", "auditor", "teammate"])
def test_an_epss_page_reads_the_top_scored_cves_findings_by_rule_id(estate, request, who):
    # No index holds the findings' EPSS score: a page in EPSS order reads the findings of the
    # top-scored CVEs (selectors.finding_slice) through the rule-id index and sorts those few.
    from findings.models import EpssScore

    user = request.getfixturevalue(who)
    top = list(Finding.objects.order_by("id").values_list("rule_id", flat=True)[:50])
    findings = finding_list_for_user(user=user, filters={"status": "open", "sort": "epss"})

    shown = plan(findings.filter(rule_id__in=top)[:25], search=True)

    assert "finding_rule_id" in shown
    assert "Seq Scan on findings_finding" not in shown
    EpssScore.objects.bulk_create(
        EpssScore(cve_id=f"CVE-2020-{n}", score=n / 5000, percentile=0.5) for n in range(5000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE findings_epssscore")
    floor = plan(EpssScore.objects.order_by("-score").values_list("score", flat=True)[49:50])
    assert "epssscore_score" in floor
    assert full_sorts(floor) == 0
