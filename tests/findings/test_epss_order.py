"""The EPSS sort of many findings reads the top-scored CVEs' findings and pages exactly as a full sort.

No index holds the findings' EPSS score (an EPSS load's updates stay HOT), so a page of a big list in
EPSS order is read from the findings of the highest-scored CVEs (``selectors.finding_slice``): every
page must still be the same rows, in the same order, as sorting all matches would give.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from findings import selectors
from findings.models import EpssScore, Finding
from findings.services.enrichment import epss_apply_to_findings
from tests.factories.assets import AssetFactory, level
from tests.factories.findings import FindingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(team_a, team_b):
    """Findings of 40 CVEs (ties among their scores, many CVEs scored that no finding has, some
    findings unscored) over two teams and a restricted asset, every status."""
    assets = [
        AssetFactory(team=team_a),
        AssetFactory(team=team_b),
        AssetFactory(team=team_a, classification=level("restricted")),
    ]
    scores = [EpssScore(cve_id=f"CVE-2024-{n}", score=1 - (n // 3) / 20, percentile=0.5) for n in range(40)]
    scores += [EpssScore(cve_id=f"CVE-2019-{n}", score=0.001 * n, percentile=0.1) for n in range(400)]
    EpssScore.objects.bulk_create(scores)
    statuses = ["open", "open", "mitigated", "false_positive"]
    severities = ["critical", "high", "medium", "low"]
    Finding.objects.bulk_create(
        FindingFactory.build(
            asset=assets[n % 3],
            rule_id=f"CVE-2024-{n % 40}" if n % 7 else f"GHSA-{n}",
            status=statuses[n % 4],
            severity=severities[(n // 4) % 4],
            fingerprint=f"{n:064x}",
        )
        for n in range(600)
    )
    epss_apply_to_findings()  # as a load does: each finding gets its CVE's score
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE findings_finding")
        cursor.execute("ANALYZE findings_epssscore")


@pytest.mark.parametrize("who", ["lead", "auditor", "teammate"])
@pytest.mark.parametrize("status", ["open", None])
def test_every_page_in_epss_order_is_what_sorting_all_matches_gives(
    scored, request, who, status, monkeypatch
):
    monkeypatch.setattr(selectors, "EXACT_COUNT_ROWS", 0)  # as if the planner expected many matches
    monkeypatch.setattr(selectors, "EPSS_MIN_CVES", 2)  # so that pages need the CVEs widened
    monkeypatch.setattr(selectors, "EPSS_MARGIN", 0.1)
    user = request.getfixturevalue(who)
    findings = selectors.finding_list_for_user(user=user, filters={"status": status, "sort": "epss"})
    everything = [finding.pk for finding in findings]
    assert len(everything) > 100

    # Pages from the first to past the last scored finding, into the unscored ones at the end.
    pages = [(0, 5), (0, 25), (5, 10), (25, 50), (60, 85), (len(everything) - 10, len(everything) + 5)]
    for start, stop in pages:
        with CaptureQueriesContext(connection) as captured:
            rows = selectors.finding_slice(findings, sort="epss", start=start, stop=stop)
        assert [finding.pk for finding in rows] == everything[start:stop], (start, stop)
        if stop <= 25:  # the first pages are read from the top-scored CVEs' findings
            assert any('"findings_finding"."rule_id" IN' in q["sql"] for q in captured), (start, stop)


def test_the_first_page_reads_only_the_top_scored_cves_findings(scored, lead, monkeypatch):
    monkeypatch.setattr(selectors, "EXACT_COUNT_ROWS", 0)
    findings = selectors.finding_list_for_user(user=lead, filters={"status": "open", "sort": "epss"})

    with CaptureQueriesContext(connection) as captured:
        rows = selectors.finding_slice(findings, sort="epss", start=0, stop=5)

    assert [row.epss for row in rows] == [1.0] * 5
    reads = [q["sql"] for q in captured if q["sql"].startswith('SELECT "findings_finding"."id"')]
    assert len(reads) == 1 and '"findings_finding"."rule_id" IN' in reads[0]


def test_few_matches_are_sorted_directly(scored, teammate):
    # A search matches few findings: sorting them costs less than finding the top CVEs first.
    findings = selectors.finding_list_for_user(user=teammate, filters={"q": "CVE-2024-1", "sort": "epss"})

    with CaptureQueriesContext(connection) as captured:
        rows = selectors.finding_slice(findings, sort="epss", start=0, stop=25)

    assert [row.pk for row in rows] == [finding.pk for finding in findings[:25]]
    assert not any("findings_epssscore" in q["sql"] for q in captured)


def test_a_page_is_still_read_from_the_scored_cves_when_the_planner_misjudges_the_tables(
    scored, lead, monkeypatch
):
    """Statistics left by other work (a big EPSS load since emptied) can make the planner expect few matches
    and many scored CVEs: more CVEs are then asked for than the table holds, and all of them are read."""
    findings = selectors.finding_list_for_user(user=lead, filters={"status": "open", "sort": "epss"})
    everything = [finding.pk for finding in findings]
    monkeypatch.setattr(selectors, "EXACT_COUNT_ROWS", 0)
    misjudged = {EpssScore: 1_000_000, Finding: 1_000}
    monkeypatch.setattr(selectors, "_estimated_rows", lambda queryset: misjudged[queryset.model])

    with CaptureQueriesContext(connection) as captured:
        rows = selectors.finding_slice(findings, sort="epss", start=0, stop=25)

    assert [finding.pk for finding in rows] == everything[:25]
    assert any('"findings_finding"."rule_id" IN' in q["sql"] for q in captured)


def test_the_api_pages_in_epss_order_from_the_top_scored_cves(scored, lead, monkeypatch):
    monkeypatch.setattr(selectors, "EXACT_COUNT_ROWS", 0)  # as if the planner expected many matches
    monkeypatch.setattr(selectors, "EPSS_MIN_CVES", 2)
    monkeypatch.setattr(selectors, "EPSS_MARGIN", 0.1)
    client = APIClient()
    client.force_authenticate(lead)
    findings = selectors.finding_list_for_user(user=lead, filters={"status": ["open"], "sort": "epss"})
    everything = [finding.pk for finding in findings]

    with CaptureQueriesContext(connection) as captured:
        first = client.get("/api/v1/findings/?status=open&sort=epss&page=2")
    assert first.status_code == 200
    size = len(first.json()["results"])
    assert [row["id"] for row in first.json()["results"]] == everything[size : 2 * size]
    assert first.json()["count"] == len(everything)
    assert any('"findings_finding"."rule_id" IN' in q["sql"] for q in captured)
