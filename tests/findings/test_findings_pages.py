"""The findings list and finding page: who sees what, filters, search, counts, bulk status changes."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from assets.models import Environment
from findings.models import Finding, FindingStatus
from hygiene.models import AuditEntry
from tests.conftest import client_for
from tests.factories.assets import AssetFactory, level
from tests.factories.findings import FindingFactory

pytestmark = pytest.mark.django_db
LIST = reverse("findings:list")


@pytest.fixture
def asset(team_a):
    return AssetFactory(team=team_a, name="llm-serving", environment=Environment.PRODUCTION)


@pytest.fixture
def secret_asset(team_a):
    return AssetFactory(team=team_a, name="customer-chats", classification=level("restricted"))


def rows(response):
    return {f.rule_id for f in response.context["page"].object_list}


def test_team_members_see_their_findings_and_outsiders_do_not(client, asset, teammate, outsider):
    FindingFactory(asset=asset, rule_id="CVE-2021-44228")

    assert rows(client_for(client, teammate).get(LIST)) == {"CVE-2021-44228"}
    assert rows(client_for(client, outsider).get(LIST)) == set()


def test_findings_of_restricted_assets_are_hidden_from_auditors_and_shown_to_leads(
    client, secret_asset, asset, auditor, lead
):
    FindingFactory(asset=secret_asset, rule_id="CVE-2024-0001")
    FindingFactory(asset=asset, rule_id="CVE-2024-0002")

    assert rows(client_for(client, auditor).get(LIST)) == {"CVE-2024-0002"}
    assert rows(client_for(client, lead).get(LIST)) == {"CVE-2024-0001", "CVE-2024-0002"}


def test_a_finding_the_user_may_not_see_is_not_found(client, secret_asset, auditor, outsider, owner):
    finding = FindingFactory(asset=secret_asset)
    url = reverse("findings:detail", args=[finding.pk])

    assert client_for(client, auditor).get(url).status_code == 404
    assert client_for(client, outsider).get(url).status_code == 404
    assert client_for(client, owner).get(url).status_code == 200


def test_the_list_shows_open_findings_unless_asked_for_others(client, asset, teammate):
    FindingFactory(asset=asset, rule_id="CVE-2024-1111")
    FindingFactory(asset=asset, rule_id="CVE-2024-2222", status=FindingStatus.MITIGATED)
    client_for(client, teammate)

    assert rows(client.get(LIST)) == {"CVE-2024-1111"}
    assert rows(client.get(LIST, {"status": ""})) == {"CVE-2024-1111", "CVE-2024-2222"}
    assert rows(client.get(LIST, {"status": "mitigated"})) == {"CVE-2024-2222"}


def test_search_matches_a_rule_id_exactly_and_words_of_titles_and_packages(client, asset, teammate):
    FindingFactory(asset=asset, rule_id="CVE-2021-44228", title="Log4Shell RCE", package="log4j-core")
    FindingFactory(asset=asset, rule_id="CVE-2021-4422", title="Something else", package="openssl")
    client_for(client, teammate)

    assert rows(client.get(LIST, {"q": "CVE-2021-44228"})) == {"CVE-2021-44228"}
    assert rows(client.get(LIST, {"q": "cve-2021-44228"})) == {"CVE-2021-44228"}
    assert rows(client.get(LIST, {"q": "log4j"})) == {"CVE-2021-44228"}
    assert rows(client.get(LIST, {"q": "openss"})) == {"CVE-2021-4422"}
    assert rows(client.get(LIST, {"q": "'); drop table --"})) == set()


def test_filters_narrow_the_list(client, asset, team_a, teammate):
    today = timezone.localdate()
    old = timezone.now() - dt.timedelta(days=100)
    FindingFactory(asset=asset, rule_id="PAST", sla_due=today - dt.timedelta(days=1), severity="critical")
    FindingFactory(asset=asset, rule_id="KEV", kev=True, sla_due=today + dt.timedelta(days=5))
    FindingFactory(asset=asset, rule_id="OLD", first_seen=old, category="secret", severity="low")
    other = AssetFactory(team=team_a, name="notebook")
    FindingFactory(asset=other, rule_id="ELSEWHERE")
    client_for(client, teammate)

    assert rows(client.get(LIST, {"past_sla": "on"})) == {"PAST"}
    assert rows(client.get(LIST, {"kev": "on"})) == {"KEV"}
    assert rows(client.get(LIST, {"age": "91-180"})) == {"OLD"}
    assert rows(client.get(LIST, {"category": "secret"})) == {"OLD"}
    assert rows(client.get(LIST, {"severity": "critical"})) == {"PAST"}
    assert rows(client.get(LIST, {"asset": "notebook"})) == {"ELSEWHERE"}
    assert rows(client.get(LIST, {"asset": str(other.pk)})) == {"ELSEWHERE"}
    assert rows(client.get(LIST, {"team": team_a.slug})) == {"PAST", "KEV", "OLD", "ELSEWHERE"}


def test_sorting_by_epss_puts_the_likeliest_exploited_first(client, asset, teammate):
    FindingFactory(asset=asset, rule_id="LOW", epss=0.01)
    FindingFactory(asset=asset, rule_id="NONE", epss=None)
    FindingFactory(asset=asset, rule_id="HIGH", epss=0.9)

    response = client_for(client, teammate).get(LIST, {"sort": "epss"})

    assert [f.rule_id for f in response.context["page"].object_list] == ["HIGH", "LOW", "NONE"]


def test_counts_per_severity_ignore_the_severity_filter_but_keep_the_others(client, asset, teammate):
    FindingFactory.create_batch(2, asset=asset, severity="critical")
    FindingFactory(asset=asset, severity="low")
    FindingFactory(asset=asset, severity="low", status=FindingStatus.FALSE_POSITIVE)

    response = client_for(client, teammate).get(LIST, {"severity": "critical"})

    counts = {value: (count, capped) for value, _, count, capped in response.context["counts"]}
    assert {value: count for value, (count, _) in counts.items()} == {
        "critical": 2, "high": 0, "medium": 0, "low": 1, "info": 0
    }  # fmt: skip
    assert not any(capped for _, capped in counts.values())
    assert len(response.context["page"].object_list) == 2
    assert "2 in all" in response.content.decode()


def test_counts_past_the_cap_say_more_than_and_the_pager_stops_at_the_cap(
    client, asset, teammate, monkeypatch
):
    from findings import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    monkeypatch.setattr(selectors, "EXACT_COUNT_ROWS", 0)  # as if the planner expected many
    FindingFactory.create_batch(5, asset=asset, severity="high")
    FindingFactory.create_batch(2, asset=asset, severity="low")

    response = client_for(client, teammate).get(LIST, {"per_page": "25"})

    counts = {value: (count, capped) for value, _, count, capped in response.context["counts"]}
    assert counts["high"] == (3, True) and counts["low"] == (2, False) and counts["critical"] == (0, False)
    page = response.content.decode()
    assert "3+" in page and "more than 5" in page
    assert len(response.context["page"].object_list) == 5


def test_a_list_that_asks_each_findings_history_is_counted_in_one_pass_up_to_its_cap(
    client, asset, teammate, monkeypatch
):
    """Open on a day, patched in a month (the metrics' drill-downs): within the cap each severity is
    counted; past it, or with one severity chosen, the others are offered without a count and the
    page says why."""
    from findings import selectors

    FindingFactory.create_batch(5, asset=asset, severity="high")
    FindingFactory(asset=asset, severity="low", rule_id="LOW-1")
    FindingFactory(asset=asset, severity="low", rule_id="LOW-2")
    today = timezone.localdate().isoformat()
    member = client_for(client, teammate)

    def counts(response):
        return {value: (count, capped) for value, _, count, capped in response.context["counts"]}

    within = member.get(LIST, {"open_on": today, "status": ""})
    assert counts(within)["high"] == (5, False) and counts(within)["low"] == (2, False)
    assert counts(within)["critical"] == (0, False) and within.context["page"].paginator.count == 7
    assert "asks each finding" not in within.content.decode()

    monkeypatch.setattr(selectors, "HISTORY_COUNT_CAP", 3)
    past = member.get(LIST, {"open_on": today, "status": ""})

    assert {count for count, _ in counts(past).values()} == {None}
    assert past.context["page"].paginator.count == 3 and past.context["page"].count_capped
    assert "More than 3 findings" in past.content.decode()

    low = member.get(LIST, {"open_on": today, "status": "", "severity": "low"})

    assert counts(low)["low"] == (2, False) and counts(low)["high"] == (None, False)
    assert low.context["page"].paginator.count == 2 and rows(low) == {"LOW-1", "LOW-2"}
    assert "only the severity in view is counted" in low.content.decode()


def test_a_drill_down_list_pages_newest_first_through_every_match(client, asset, teammate):
    """The metrics' drill-downs sort newest first; their pages come from the ids the count read."""
    now = timezone.now()
    for n in range(27):
        FindingFactory(asset=asset, rule_id=f"R-{n:02}", first_seen=now - dt.timedelta(hours=n))
    member = client_for(client, teammate)
    query = {"open_on": timezone.localdate().isoformat(), "status": "", "sort": "newest"}

    first = member.get(LIST, query)
    second = member.get(LIST, {**query, "page": "2"})

    def listed(response):
        return [f.rule_id for f in response.context["page"].object_list]

    assert listed(first) == [f"R-{n:02}" for n in range(25)]
    assert listed(second) == ["R-25", "R-26"]
    assert first.context["page"].paginator.count == 27


def test_counts_are_exact_when_few_and_capped_when_many_for_every_persona(
    asset, teammate, outsider, lead, monkeypatch
):
    from findings import selectors
    from findings.selectors import finding_severity_counts_capped

    FindingFactory.create_batch(3, asset=asset, severity="critical")
    FindingFactory(asset=asset, severity="info", status=FindingStatus.MITIGATED)

    def counts(user, **filters):
        return {v: n for v, _, n, _ in finding_severity_counts_capped(user=user, filters=filters, cap=2)}

    assert counts(teammate, status="open")["critical"] == 3  # few expected: counted exactly
    monkeypatch.setattr(selectors, "EXACT_COUNT_ROWS", 0)  # as if the planner expected many
    assert counts(teammate, status="open")["critical"] == 2  # capped at 2 (3 match)
    assert counts(lead, status="open")["critical"] == 2
    assert counts(outsider, status="open") == {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0}
    assert counts(teammate, status="mitigated")["info"] == 1


def test_the_finding_page_escapes_scanner_text_and_links_only_web_advisories(client, asset, teammate):
    finding = FindingFactory(
        asset=asset,
        title="<script>alert(1)</script>",
        description="<img src=x onerror=alert(1)>",
        url="javascript:alert(1)",
        epss=0.97565,
        epss_percentile=0.99995,
        kev=True,
        kev_due=dt.date(2021, 12, 24),
        sla_due=dt.date(2021, 12, 24),
        cvss=10.0,
    )

    page = client_for(client, teammate).get(reverse("findings:detail", args=[finding.pk])).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'href="javascript:' not in page
    assert "0.9757" in page
    assert "CISA's due date 24 Dec 2021" in page
    assert "past its SLA" in page


def test_the_finding_page_links_an_https_advisory(client, asset, teammate):
    finding = FindingFactory(asset=asset, url="https://nvd.nist.gov/vuln/detail/CVE-2021-44228")

    page = client_for(client, teammate).get(reverse("findings:detail", args=[finding.pk])).content.decode()

    assert 'href="https://nvd.nist.gov/vuln/detail/CVE-2021-44228"' in page


def test_the_champion_marks_findings_false_positive_with_a_reason_kept_in_history(client, asset, owner):
    first, second = FindingFactory.create_batch(2, asset=asset)
    client_for(client, owner)

    response = client.post(
        reverse("findings:bulk-status"),
        {"finding": [first.pk, second.pk], "action": "false_positive", "reason": "Not reachable: no JNDI"},
        follow=True,
    )

    assert "2 findings marked false positive." in response.content.decode()
    assert set(Finding.objects.values_list("status", flat=True)) == {FindingStatus.FALSE_POSITIVE}
    entry = AuditEntry.objects.get(object_type="findings_finding", object_id=str(first.pk))
    assert entry.actor_label == "owner"
    assert entry.after["reason"] == "Not reachable: no JNDI"
    page = client.get(reverse("findings:detail", args=[first.pk])).content.decode()
    assert "Open → False positive" in page
    assert "Not reachable: no JNDI" in page


def test_reopening_clears_the_mitigation_and_needs_a_reason(client, asset, owner):
    finding = FindingFactory(asset=asset, status=FindingStatus.MITIGATED, mitigated_at=timezone.now())
    client_for(client, owner)
    url = reverse("findings:bulk-status")

    refused = client.post(url, {"finding": [finding.pk], "action": "open", "reason": ""}, follow=True)
    assert "This field is required." in refused.content.decode()
    client.post(url, {"finding": [finding.pk], "action": "open", "reason": "Fix was rolled back"})

    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN
    assert finding.mitigated_at is None


def test_teammates_triage_their_team_findings(client, asset, teammate):
    finding = FindingFactory(asset=asset)
    data = {"finding": [finding.pk], "action": "false_positive", "reason": "test fixture, not shipped"}

    marked = client_for(client, teammate).post(reverse("findings:bulk-status"), data, follow=True)
    finding.refresh_from_db()
    assert finding.status == FindingStatus.FALSE_POSITIVE
    assert marked.context["bulk_form"] is not None
    client.post(reverse("findings:bulk-status"), {**data, "action": "open", "reason": "it ships after all"})
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN
    assert AuditEntry.objects.filter(object_type="findings_finding", actor_label="teammate").count() == 2


def test_auditors_cannot_change_findings(client, asset, auditor):
    finding = FindingFactory(asset=asset)
    data = {"finding": [finding.pk], "action": "false_positive", "reason": "no"}

    response = client_for(client, auditor).post(reverse("findings:bulk-status"), data, follow=True)
    assert response.context["bulk_form"] is None

    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN
    assert not AuditEntry.objects.filter(object_type="findings_finding").exists()


def test_findings_of_other_teams_cannot_be_changed_by_guessing_ids(client, owner, team_b):
    theirs = FindingFactory(asset=AssetFactory(team=team_b))

    response = client_for(client, owner).post(
        reverse("findings:bulk-status"),
        {"finding": [theirs.pk], "action": "false_positive", "reason": "mine now"},
        follow=True,
    )

    assert "1 of the findings do not exist." in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.status == FindingStatus.OPEN


def test_an_empty_list_says_so(client, teammate):
    page = client_for(client, teammate).get(LIST).content.decode()

    assert "No findings match these filters." in page


def test_the_list_page_runs_the_same_queries_whatever_the_rows_shown(
    client, asset, owner, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    FindingFactory.create_batch(120, asset=asset)
    client_for(client, owner)
    client.get(LIST)  # warms the content-type and permission caches, as in a running server

    with CaptureQueriesContext(connection) as few:
        client.get(LIST, {"per_page": 25})
    # The list's own queries and the header's (team role, unread notifications, who may report).
    with django_assert_max_num_queries(18) as context:
        response = client.get(LIST, {"per_page": 100})

    assert len(response.context["page"].object_list) == 100
    assert len(few.captured_queries) == len(context.captured_queries)


def test_moving_an_asset_to_another_team_moves_the_visibility_of_its_findings(
    client, asset, team_a, team_b, lead, teammate, outsider
):
    from assets.services.assets import asset_update

    finding = FindingFactory(asset=asset)
    asset_update(actor=lead, asset=asset, team=team_b)

    client_for(client, teammate)
    assert client.get(reverse("findings:detail", args=[finding.pk])).status_code == 404
    client_for(client, outsider)
    assert client.get(reverse("findings:detail", args=[finding.pk])).status_code == 200


def test_a_severity_expected_far_past_the_cap_is_more_than_the_cap_without_counting(asset, lead, monkeypatch):
    # Right after an EPSS load has rewritten the table a capped count visits a row per row counted;
    # the planner's statistics already say that a lead's 30,000 critical findings are "1,000+".
    from django.db import connection

    from findings import selectors
    from findings.selectors import finding_severity_counts_capped

    FindingFactory.create_batch(40, asset=asset, severity="critical")
    FindingFactory.create_batch(2, asset=asset, severity="low")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE findings_finding")
    monkeypatch.setattr(selectors, "EXACT_COUNT_ROWS", 0)  # as if the planner expected many
    counted = []
    real_count = selectors._capped_count
    monkeypatch.setattr(
        selectors, "_capped_count", lambda rows, cap: counted.append(1) or real_count(rows, cap)
    )

    counts = {v: (n, capped) for v, _, n, capped in finding_severity_counts_capped(user=lead, cap=10)}

    assert counts["critical"] == (10, True) and counts["low"] == (2, False)
    assert len(counted) == 4  # every severity but the critical one
