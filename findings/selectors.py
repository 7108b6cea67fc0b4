"""Permission-aware reads of findings, scan sources and import jobs.

Findings are scoped by their denormalized team (one indexed filter); a finding on a restricted asset is
visible only to the asset's team, security leads and people granted the asset by name.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from findings.checks import CheckType
from findings.models import (
    SEVERITY_RANK,
    EpssScore,
    Finding,
    FindingEpisode,
    FindingQuerySet,
    FindingStatus,
    ImportJob,
    Outcome,
    RedTeamProbe,
    ScanFolderGrant,
    ScanSource,
    Severity,
)
from hygiene.models import AuditEntry, Team
from hygiene.permissions import (
    is_security_lead,
    member_team_ids,
    scope_queryset,
)

FINDING_OBJECT_TYPE = "findings_finding"
SOURCE_OBJECT_TYPE = "findings_scansource"
# Bands of a finding's age (days since first seen), as the metrics dashboards count them.
AGE_BANDS: dict[str, tuple[int, int | None]] = {
    "0-30": (0, 30),
    "31-90": (31, 90),
    "91-180": (91, 180),
    "181-365": (181, 365),
    "365+": (366, None),
}
SORTS: dict[str, tuple[Any, ...]] = {
    "severity": (F("severity_rank").desc(), F("sla_due").asc(nulls_last=True), "id"),
    "newest": ("-first_seen", "-id"),
    "oldest": ("first_seen", "id"),
    "sla_due": (F("sla_due").asc(nulls_last=True), F("severity_rank").desc(), "id"),
    "epss": (F("epss").desc(nulls_last=True), F("severity_rank").desc(), "id"),
}
DEFAULT_SORT = "severity"
# The filters that bound first seen (patched by a day implies first seen before it: migration 0017).
FIRST_SEEN_BOUNDS = ("found_from", "found_to", "patched_to", "open_on", "age")
# The filters that ask each candidate finding's history (its episodes) whether it matches. Such a list
# is counted in one pass up to HISTORY_COUNT_CAP (``finding_list_counts``): where the matches are sparse
# (a month's patched findings among all those first seen before its end: one in fourteen) each row
# counted means reading some fourteen candidates.
HISTORY_FILTERS = ("open_on", "patched_from", "patched_to")
HISTORY_COUNT_CAP = 500
# The episodes a list bounded by history looks its findings up in, by hash, up to this many (held in
# memory by the query: a few MB); more, and each candidate's episodes are probed instead.
HASHED_EPISODES = 50_000
# Lists of many findings count their matches per severity up to this many, then say "more than": an
# exact count of a security lead's open findings reads every one of them (most of a second at a
# million findings), a capped one stops after the cap (an index range per severity).
COUNT_CAP = 1_000
# A severity the planner expects this many times the cap of is "more than the cap" without reading a
# row: right after a daily EPSS or KEV load has rewritten the table, and until vacuum has run, even a
# capped count visits the table for every row it counts (a fifth of a second for an auditor's).
CAPPED_WITHOUT_COUNTING = 2
# Below this many expected matches, counting them all (one grouped scan) is cheap enough. Not lower:
# a filter the list-order indexes do not hold (an age band) makes each capped count read several rows
# per row counted (a member's page with 7,000 matches: 56 ms counted exactly, 160 ms capped at 2,000).
EXACT_COUNT_ROWS = 10_000
# The EPSS sort reads the findings of at least this many top-scored CVEs, at most this many (then it
# sorts every match), aiming at EPSS_MARGIN times the rows a page needs.
EPSS_MIN_CVES = 50
EPSS_MAX_CVES = 5_000
EPSS_MARGIN = 2
_RANK_BY_SEVERITY = {str(severity): rank for severity, rank in SEVERITY_RANK.items()}
_SEVERITIES = [(str(value), str(label), SEVERITY_RANK[Severity(value)]) for value, label in Severity.choices]
# Rule ids people paste (CVE-2021-44228, GHSA-jfh8-c2jp-5v3q) are matched exactly as well.
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{2,}$")
_TERM = re.compile(r"[a-z0-9]+")
# Advisory ids are looked up by rule id alone: their words ("cve", "2021") are in most findings'
# search vectors, and prefix-matching them reads the whole index for no better answer.
_ADVISORY_ID = re.compile(r"^(CVE|GHSA|PYSEC|RUSTSEC|GO|OSV|GSD|DSA|DLA|USN|RHSA|ALAS|MAL)-[A-Z0-9-]+$", re.I)
LIST_FIELDS = (
    *("id", "asset_id", "team_id", "scanner", "category", "rule_id", "title", "severity", "severity_rank"),
    *("package", "installed_version", "fixed_version", "status", "first_seen", "last_seen"),
    *("sla_due", "kev", "kev_due", "epss", "epss_percentile", "cvss", "asset__name", "team__name"),
    "team__slug",  # the API names the team by slug: deferred, it would cost a query per row
)


def _visible_findings(user: Any) -> QuerySet[Finding]:
    # A finding is visible with its asset: the asset's grants (to the person or a group) show it too.
    return scope_queryset(
        Finding.objects.all(),
        user,
        team_field="team",
        restricted_field="asset__is_restricted",
        grant_perm="assets.view_asset",
        grant_field="asset",
        environment_field="asset__environment",
    )


def finding_list_for_user(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Finding]:
    """The findings ``user`` may see, filtered and sorted (``filters`` as parsed by the list form)."""
    filters = filters or {}
    findings = _apply_filters(cast(FindingQuerySet, _visible_findings(user)), filters)
    sort = SORTS.get(str(filters.get("sort") or DEFAULT_SORT), SORTS[DEFAULT_SORT])
    return findings.select_related("asset", "team").only(*LIST_FIELDS).order_by(*sort)


def finding_slice(findings: QuerySet[Finding], *, sort: str | None, start: int, stop: int) -> list[Finding]:
    """Rows ``start:stop`` of ``findings`` (as ``finding_list_for_user`` returns them, sorted by ``sort``).

    No index holds the findings' EPSS score (see Finding.Meta), so EPSS order over many findings would
    sort every match (more than a second for a security lead at a million findings); such a page is
    read from the findings of the highest-scored CVEs instead (``_epss_slice``).
    """
    if sort == "epss" and stop > start:
        rows = _epss_slice(findings, start, stop)
        if rows is not None:
            return rows
    return list(findings[start:stop])


class FindingPages:
    """A list of findings (as ``finding_list_for_user`` returns it) whose pages are read through
    ``finding_slice``, for a paginator: an EPSS-sorted page then does not sort every match."""

    ordered = True

    def __init__(self, findings: QuerySet[Finding], *, sort: str | None) -> None:
        self._findings, self._sort = findings, sort

    def order_by(self, *fields: Any) -> QuerySet[Finding]:
        return self._findings.order_by(*fields)

    def count(self) -> int:
        return int(self._findings.count())

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice) and key.stop is not None and key.step is None:
            return finding_slice(self._findings, sort=self._sort, start=key.start or 0, stop=key.stop)
        return self._findings[key]


def _epss_slice(findings: QuerySet[Finding], start: int, stop: int) -> list[Finding] | None:
    """Rows ``start:stop`` of ``findings`` in EPSS order, from the findings of the top-scored CVEs alone
    (None: let the caller sort them all).

    A finding's score is its rule id's row of the EPSS table (``epss_apply_to_findings`` and the import
    copy it, in the transaction that writes the table): so every finding of a CVE scored ``floor`` or
    more comes before every other finding, and when those are at least ``stop`` they hold the first
    ``stop`` rows in the same order. Too few: widen the CVEs; still too few, or few matches anyway
    (a team's search), sort them all.
    """
    expected = _estimated_rows(findings.order_by())
    if expected <= EXACT_COUNT_ROWS:
        return None
    scored = max(_estimated_rows(EpssScore.objects.all()), 1)
    # As many CVEs as should hold ``stop`` matches twice over, were matches spread evenly over CVEs.
    cves = min(max(math.ceil(EPSS_MARGIN * stop * scored / expected), EPSS_MIN_CVES), EPSS_MAX_CVES)
    while True:
        floor = EpssScore.objects.order_by("-score").values_list("score", flat=True)[cves - 1 : cves].first()
        if floor is None:
            # Fewer scored CVEs than that (the planner's estimate of the table was high): all of them,
            # at most EPSS_MAX_CVES, and the last round.
            cves = EPSS_MAX_CVES
            top = list(EpssScore.objects.values_list("cve_id", flat=True)[: EPSS_MAX_CVES + 1])
        else:
            top = list(EpssScore.objects.filter(score__gte=floor).values_list("cve_id", flat=True))
        if len(top) > EPSS_MAX_CVES:
            return None  # a tie of many CVEs at the floor
        rows = list(findings.filter(rule_id__in=top)[start:stop])
        if len(rows) == stop - start:
            return rows
        if cves >= EPSS_MAX_CVES:
            return None
        cves = min(cves * 8, EPSS_MAX_CVES)


def _apply_filters(findings: FindingQuerySet, filters: Mapping[str, Any]) -> FindingQuerySet:
    severities = _as_list(filters.get("severity"))
    if severities:
        # By the generated rank, which leads the list-order index: by the text, a page of info findings
        # read the index from the critical ones down, row by row (six seconds at a million findings).
        ranks = [_RANK_BY_SEVERITY.get(value, -1) for value in severities]
        findings = findings.filter(severity_rank__in=ranks)
    for field in ("category", "status"):
        values = _as_list(filters.get(field))
        if values:
            findings = findings.filter(**{f"{field}__in": values})
    team = filters.get("team")
    if team:
        findings = findings.filter(team__slug=team)
    asset = str(filters.get("asset") or "").strip()
    if asset.isdecimal():
        findings = findings.filter(asset_id=int(asset))
    elif asset:
        findings = findings.filter(asset__name__icontains=asset)
    if filters.get("past_sla"):
        open_on = _as_date(filters.get("open_on"))
        # As of a past day, "open" is decided by open_on; the due date is compared with that day.
        findings = findings.filter(sla_due__lt=open_on) if open_on else findings.past_sla()
    if filters.get("kev"):
        findings = findings.kev()
    band = AGE_BANDS.get(str(filters.get("age") or ""))
    if band:
        findings = findings.filter(_age_condition(*band, today=_as_date(filters.get("open_on"))))
    environment = filters.get("environment")
    if environment:
        findings = findings.filter(asset__environment=environment)
    kind = filters.get("kind")
    if kind:
        findings = findings.filter(asset__kind=kind)
    scanner = str(filters.get("scanner") or "").strip()
    if scanner:
        # "sarif" means every SARIF tool; "sarif:codeql" one of them.
        condition = (
            Q(scanner=scanner)
            if ":" in scanner
            else Q(scanner=scanner) | Q(scanner__startswith=f"{scanner}:")
        )
        findings = findings.filter(condition)
    findings = _apply_time_filters(findings, filters)
    query = str(filters.get("q") or "").strip()
    if query:
        findings = findings.filter(_search_condition(query))
    return findings


def _apply_time_filters(findings: FindingQuerySet, filters: Mapping[str, Any]) -> FindingQuerySet:
    """First seen, patched or open at a given time: the lists the metrics charts drill down to."""
    found_from, found_to = _as_date(filters.get("found_from")), _as_date(filters.get("found_to"))
    if found_from:
        findings = findings.filter(first_seen__gte=_start_of(found_from))
    if found_to:
        findings = findings.filter(first_seen__lt=_start_of(found_to + dt.timedelta(days=1)))
    patched_from, patched_to = _as_date(filters.get("patched_from")), _as_date(filters.get("patched_to"))
    if patched_from or patched_to:
        # Patched: an episode closed as mitigated (not by a false positive or a risk acceptance), as the
        # metrics snapshots count it.
        patches = FindingEpisode.objects.filter(closed_as=FindingStatus.MITIGATED)
        if patched_from:
            patches = patches.filter(closed_at__gte=_start_of(patched_from))
        if patched_to:
            end = _start_of(patched_to + dt.timedelta(days=1))
            patches = patches.filter(closed_at__lt=end)
            # Implied (episodes open at first seen or later, findings/migrations/0017), and it lets a
            # page of an older month start in first-seen order where its findings are.
            findings = findings.filter(first_seen__lt=end)
        findings = findings.filter(_among_episodes(patches))
    open_on = _as_date(filters.get("open_on"))
    if open_on:
        findings = open_at_end_of(findings, open_on)
    return findings


def open_at_end_of(findings: FindingQuerySet, day: dt.date) -> FindingQuerySet:
    """Those of ``findings`` open at the end of ``day``: in an episode opened by then and not closed
    before then (the episodes the metrics snapshots count, kept by the database from the history).

    Such an episode is either the finding's open one (its status is open) opened by then, or one
    closed since: the findings are the open ones not reopened since, and those with an episode
    closed since (few for a recent day, and looked up by hash: see ``_among_episodes``).
    """
    end = _start_of(day + dt.timedelta(days=1))
    findings = findings.filter(first_seen__lt=end)
    # A first episode opens at first seen, before ``end``: only a reopen can open after it.
    reopened_since = FindingEpisode.objects.filter(closed_at__isnull=True, opened_at__gte=end, is_first=False)
    closed_since = FindingEpisode.objects.filter(closed_at__gte=end, opened_at__lt=end)
    if max(_estimated_rows(reopened_since), _estimated_rows(closed_since)) <= HASHED_EPISODES:
        return findings.filter(
            (Q(status=FindingStatus.OPEN) & ~Q(pk__in=reopened_since.values("finding_id")))
            | Q(pk__in=closed_since.values("finding_id"))
        )
    spanning = FindingEpisode.objects.filter(opened_at__lt=end).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=end)
    )
    return findings.filter(_among_episodes(spanning))


def _among_episodes(episodes: QuerySet[FindingEpisode]) -> Q:
    """The findings with one of ``episodes``.

    When the planner expects few enough of them, their findings' ids are read once from the
    episodes' covering indexes into a hashed set, and each candidate finding, read in list order, is
    looked up in it; otherwise each candidate's episodes are probed. The lists that need this (a
    month's patched findings, the findings open on a day) find their matches sparse among the
    findings first seen before the bound: a member's low findings patched this month, one in
    fourteen, cost 75 ms of probes for a capped count, 20 ms by hash. ``NOT (NOT ...)`` keeps
    the planner from turning the set into a join, which it would run by probing each candidate.
    """
    if _estimated_rows(episodes) <= HASHED_EPISODES:
        return Q(~Q(pk__in=episodes.values("finding_id")), _negated=True)
    return Q(Exists(episodes.filter(finding_id=OuterRef("pk"))))


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value if item]


def age_band_condition(band: str, *, today: dt.date | None = None) -> Q:
    """The findings in an age band (``AGE_BANDS``) as of ``today``: the list's and the metrics' rule."""
    return _age_condition(*AGE_BANDS[band], today=today)


def _age_condition(low: int, high: int | None, today: dt.date | None = None) -> Q:
    """Age band as of ``today`` (default: the current day): days since first seen."""
    start_of = _start_of(today or timezone.localdate())
    condition = Q(first_seen__lt=start_of - dt.timedelta(days=low - 1))
    if high is not None:
        condition &= Q(first_seen__gte=start_of - dt.timedelta(days=high))
    return condition


def _search_condition(query: str) -> Q:
    """Full-text (prefix) search on title, rule id and package, or an exact rule id."""
    condition = Q(pk__in=[])
    if _ADVISORY_ID.match(query):
        return Q(rule_id__in={query, query.upper()})
    if _RULE_ID.match(query):
        condition |= Q(rule_id__in={query, query.upper()})
    terms = _TERM.findall(query.lower())[:8]
    if terms:
        raw = " & ".join(f"{term}:*" for term in terms)
        condition |= Q(search=SearchQuery(raw, search_type="raw", config="simple"))
    return condition


def finding_severity_counts(*, findings: QuerySet[Finding]) -> list[tuple[str, str, int]]:
    """(severity, label, count) for every severity, worst first, over ``findings``."""
    counts = dict(
        findings.order_by().values_list("severity").annotate(n=Count("id")).values_list("severity", "n")
    )
    return [(value, label, counts.get(value, 0)) for value, label in Severity.choices]


@dataclass(frozen=True)
class ListCounts:
    """What the findings list says it holds: ``rows`` are (severity, label, count, capped) worst first,
    count None for a severity not counted; ``total`` (``total_capped``: more than that) is what the
    severity in view, or every severity, holds."""

    rows: list[tuple[str, str, int | None, bool]]
    total: int
    total_capped: bool
    # The matching findings' ids, newest first, when the count read them (a list asking each
    # finding's history): its pages in that order need not ask again (``findings_by_ids``).
    newest_ids: list[int] | None = None


def finding_list_counts(
    *, user: Any, filters: Mapping[str, Any] | None = None, cap: int | None = None
) -> ListCounts:
    """The counts the findings list shows beside the findings ``user`` may see that match ``filters``.

    A list that asks each finding's history (open on a day, patched in a month: the metrics'
    drill-downs) is counted in one pass up to its cap, the chosen severity or all of them together:
    counting each severity on its own probes a further thousand findings' episodes (a security
    lead's patched-in-a-month list: five counts, 300 ms). Within the cap, that pass says each
    severity's count too; past it, or with one severity chosen, the others are offered uncounted.
    """
    filters = filters or {}
    selected = str(filters.get("severity") or "")
    if not any(filters.get(name) for name in HISTORY_FILTERS):
        counted = finding_severity_counts_capped(user=user, filters=filters, cap=cap)
        chosen = [(n, capped) for value, _, n, capped in counted if value == (selected or value)]
        return ListCounts(list(counted), sum(n for n, _ in chosen), any(capped for _, capped in chosen))
    cap = HISTORY_COUNT_CAP if cap is None else cap
    matching = _apply_filters(cast(FindingQuerySet, _visible_findings(user)), filters)
    # Newest first from the bound, where a time filter's matches lie together (ids alone: the
    # first-seen indexes answer without reading the table); a list within the cap is then counted
    # per severity from those ids.
    ids = list(matching.order_by("-first_seen", "-id").values_list("pk", flat=True)[: cap + 1])
    total, capped = min(len(ids), cap), len(ids) > cap
    by_rank = (
        {} if capped or selected else _rank_counts(Finding.objects.filter(pk__in=ids).values("severity_rank"))
    )
    rows: list[tuple[str, str, int | None, bool]] = []
    for value, label, rank in _SEVERITIES:
        if value == selected:
            rows.append((value, label, total, capped))
        elif capped or selected:
            rows.append((value, label, None, False))  # not counted: past the cap, or filtered out
        else:
            rows.append((value, label, by_rank.get(rank, 0), False))
    return ListCounts(rows, total, capped, newest_ids=ids)


def findings_by_ids(ids: list[int]) -> list[Finding]:
    """The findings of ``ids`` (already checked: as ``finding_list_counts`` read them for a person),
    with what the list shows, newest first."""
    rows = Finding.objects.filter(pk__in=ids).select_related("asset", "team").only(*LIST_FIELDS)
    return list(rows.order_by(*SORTS["newest"]))


def finding_severity_counts_capped(
    *, user: Any, filters: Mapping[str, Any] | None = None, cap: int | None = None
) -> list[tuple[str, str, int, bool]]:
    """(severity, label, count, capped) for every severity, worst first: the findings ``user`` may
    see that match ``filters`` (but their severity), counted exactly when few, else up to ``cap``
    (``capped``: more than ``count``; said without counting of a severity the planner expects to
    match many times the cap)."""
    cap = COUNT_CAP if cap is None else cap
    filters = {key: value for key, value in (filters or {}).items() if key not in ("severity", "sort")}
    matching = _apply_filters(cast(FindingQuerySet, _visible_findings(user)), filters).order_by()
    # Exact, in one grouped count, when the planner expects few enough rows to read them all (a
    # team's findings, a search, an asset); otherwise each severity up to the cap, which is exact
    # below the cap too.
    time_bounded = any(filters.get(name) for name in FIRST_SEEN_BOUNDS)
    # A time filter (open on a day, patched in a month) asks each candidate's episodes: counting every
    # candidate exactly costs a probe each (a team's 50,000 findings: 0.4 s), counting each severity
    # newest first up to the cap stops where the matches thin out.
    if not time_bounded and _estimated_rows(matching) <= EXACT_COUNT_ROWS:
        counts = _rank_counts(matching.values("severity_rank"))
        return [(value, label, counts.get(rank, 0), False) for value, label, rank in _SEVERITIES]
    # Many: each severity on its own, up to the cap (an index range each), unless the planner expects
    # it far past the cap.
    rows = []
    for value, label, rank in _SEVERITIES:
        # By the generated rank, which the list's indexes hold, rather than by the severity text.
        severity = matching.filter(severity_rank=rank).values("pk")
        if time_bounded:
            # Newest first from the bound: a time filter's matches lie together there (findings first
            # seen just before a day are the ones still open on it, or patched in the month before),
            # where the planner would otherwise start from the oldest findings.
            severity = severity.order_by("-first_seen", "-id")
        if _estimated_rows(severity) >= cap * CAPPED_WITHOUT_COUNTING:
            count = cap + 1
        else:
            count = _capped_count(severity, cap)
        rows.append((value, label, min(count, cap), count > cap))
    return rows


def _capped_count(rows: QuerySet[Any], cap: int) -> int:
    """How many ``rows`` there are, counting no further than one past ``cap``."""
    return int(rows[: cap + 1].count())


def _rank_counts(ranks: QuerySet[Any]) -> dict[int, int]:
    """{severity rank: rows} of a ``values("severity_rank")`` queryset, in one grouped query."""
    counted = ranks.order_by().values_list("severity_rank").annotate(n=Count("pk"))
    return {int(rank): int(n) for rank, n in counted.values_list("severity_rank", "n")}


def _estimated_rows(queryset: QuerySet[Any]) -> int:
    """How many rows the planner expects ``queryset`` to match (from its statistics, no scan)."""
    sql, params = queryset.query.sql_with_params()  # compiled by Django: values stay parameters
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        document = cursor.fetchone()[0]
    plan = json.loads(document) if isinstance(document, str) else document
    return int(plan[0]["Plan"]["Plan Rows"])


def finding_get_for_user(*, user: Any, pk: int) -> Finding:
    """The finding, or 404 when the user may not see it (so its existence is not revealed)."""
    finding = _visible_findings(user).select_related("asset", "team", "last_job").filter(pk=pk).first()
    if finding is None:
        raise Http404("No such finding.")
    return finding


@dataclass(frozen=True)
class HistoryEvent:
    at: dt.datetime
    kind: str  # "import" or "status"
    label: str
    job: ImportJob | None = None
    actor: str = ""
    reason: str = ""


def finding_history(*, finding: Finding) -> list[HistoryEvent]:
    """Each import that saw the finding and each status change people made, oldest first."""
    outcome_labels = dict(Outcome.choices)
    events = [
        HistoryEvent(
            at=job.started_at or job.created_at,
            kind="import",
            label=outcome_labels.get(outcome, outcome),
            job=job,
        )
        for job, outcome in finding.history()
    ]
    changes = AuditEntry.objects.filter(
        object_type=FINDING_OBJECT_TYPE, object_id=str(finding.pk), action="status_change"
    ).order_by("occurred_at", "id")
    for entry in changes:
        after = entry.after or {}
        if after.get("job_id"):
            continue  # an import's change, shown above as that import's outcome
        events.append(
            HistoryEvent(
                at=entry.occurred_at,
                kind="status",
                label=f"{_status_label(after.get('from'))} → {_status_label(after.get('to'))}",
                actor=entry.actor_label,
                reason=str(after.get("reason", "")),
            )
        )
    return sorted(events, key=lambda event: event.at)


def _status_label(value: Any) -> str:
    return str(dict(FindingStatus.choices).get(value, value or "?"))


def source_list_for_user(*, user: Any) -> QuerySet[ScanSource]:
    # A source with no asset restricts nothing; one feeding a restricted asset is hidden like it.
    sources = ScanSource.objects.annotate(restricted=Coalesce("asset__is_restricted", False))
    sources = scope_queryset(
        sources,
        user,
        team_field="team",
        restricted_field="restricted",
        environment_field="asset__environment",
    )
    return sources.select_related("team", "asset").order_by("name", "id")


def source_get_for_user(*, user: Any, pk: int) -> ScanSource:
    source = source_list_for_user(user=user).filter(pk=pk).first()
    if source is None:
        raise Http404("No such scan source.")
    return source


def folder_grant_list_for_user(*, user: Any) -> QuerySet[ScanFolderGrant]:
    """Folder grants of the teams the user sees."""
    grants = scope_queryset(ScanFolderGrant.objects.all(), user, team_field="team")
    return grants.select_related("team", "granted_by").order_by("team__name", "path")


def folder_grant_get_for_user(*, user: Any, pk: int) -> ScanFolderGrant:
    grant = folder_grant_list_for_user(user=user).filter(pk=pk).first()
    if grant is None:
        raise Http404("No such folder grant.")
    return grant


def drop_folder_teams(*, user: Any) -> list[Team]:
    """Teams whose drop folders the user is shown: their own teams, every team for a security lead."""
    from hygiene.selectors import team_list_for_user

    teams = team_list_for_user(user=user)
    if not is_security_lead(user):
        teams = teams.filter(pk__in=member_team_ids(user))
    return list(teams.order_by("name"))


def source_job_list(*, source: ScanSource, limit: int = 20) -> QuerySet[ImportJob]:
    """The latest import jobs a (visible) source created."""
    return source.import_jobs.select_related("asset").order_by("-created_at", "-id")[:limit]


def source_pull_log(*, source: ScanSource, limit: int = 10) -> QuerySet[AuditEntry]:
    """The latest pulls of a (visible) source, including those that failed or found nothing."""
    return AuditEntry.objects.filter(
        object_type=SOURCE_OBJECT_TYPE, object_id=str(source.pk), action="pull"
    ).order_by("-occurred_at", "-id")[:limit]


def job_list_for_user(*, user: Any) -> QuerySet[ImportJob]:
    """Import jobs of the teams the user sees, newest first (a job for a restricted asset is hidden
    like the asset)."""
    jobs = ImportJob.objects.annotate(restricted=Coalesce("asset__is_restricted", False))
    jobs = scope_queryset(
        jobs, user, team_field="team", restricted_field="restricted", environment_field="asset__environment"
    )
    return jobs.select_related("team", "asset", "uploaded_by", "source").order_by("-created_at", "-id")


def job_get_for_user(*, user: Any, pk: int) -> ImportJob:
    job = job_list_for_user(user=user).filter(pk=pk).first()
    if job is None:
        raise Http404("No such import job.")
    return job


def upload_team_options(*, user: Any) -> list[tuple[str, str]]:
    """(slug, name) of the teams the user may import scans for."""
    from hygiene.permissions import can_contribute
    from hygiene.selectors import team_list_for_user

    teams = team_list_for_user(user=user).order_by("name")
    return [(team.slug, team.name) for team in teams if can_contribute(user, team_id=team.pk)]


def upload_asset_options(*, user: Any, limit: int = 500) -> list[tuple[str, str]]:
    """(name, team name) of the active assets the user may import scans for, for the upload form."""
    from assets.models import Lifecycle
    from assets.selectors import visible_assets
    from hygiene.permissions import can_contribute

    assets = visible_assets(user).filter(lifecycle=Lifecycle.ACTIVE).select_related("team").order_by("name")
    options = []
    for asset in assets[: limit * 2]:
        if can_contribute(user, team_id=asset.team_id):
            options.append((asset.name, asset.team.name))
    return options[:limit]


@dataclass(frozen=True)
class ScanFreshness:
    """When one kind of scan (a file format) last imported successfully for an asset."""

    format: str
    label: str
    last_at: dt.datetime
    last_job_id: int
    imports: int


@dataclass(frozen=True)
class CheckFreshness:
    """When one kind of check (``findings.checks.CheckType``) last ran on an asset, from the check
    types each import job recorded (a Trivy file can hold three kinds); ``last_at`` None: never."""

    check_type: str
    label: str
    last_at: dt.datetime | None
    last_job_id: int | None
    imports: int


@dataclass(frozen=True)
class AssetScanSummary:
    """What the asset page shows of its findings and scans."""

    open_by_severity: list[tuple[str, str, int]]
    open_total: int
    latest_jobs: list[ImportJob]
    freshness: list[ScanFreshness]
    by_check: list[CheckFreshness]

    def _last_of(self, check_type: str) -> dt.datetime | None:
        return next((row.last_at for row in self.by_check if row.check_type == check_type), None)

    @property
    def last_red_teamed(self) -> dt.datetime | None:
        return self._last_of(CheckType.RED_TEAM)

    @property
    def last_model_file_scan(self) -> dt.datetime | None:
        return self._last_of(CheckType.MODEL_FILE)


def _check_freshness(done: QuerySet[ImportJob]) -> list[CheckFreshness]:
    """Each kind of check's last run, imports and last job, in one aggregate over the finished jobs."""
    ran = Coalesce("scanned_at", "finished_at", "created_at")
    aggregates: dict[str, Any] = {}
    for check in CheckType.values:
        has = Q(check_types__contains=[check])
        aggregates |= {
            f"{check}_at": Max(ran, filter=has),
            f"{check}_n": Count("id", filter=has),
        }
    totals = done.order_by().aggregate(**aggregates)
    rows = []
    for check, label in CheckType.choices:
        last_at = totals[f"{check}_at"]
        last_job = None
        if last_at is not None:
            last_job = (
                done.filter(check_types__contains=[check])
                .annotate(ran=ran)
                .filter(ran=last_at)
                .order_by("-id")
                .values_list("id", flat=True)
                .first()
            )
        rows.append(CheckFreshness(check, str(label), last_at, last_job, totals[f"{check}_n"]))
    return rows


def asset_scan_summary_for_user(*, user: Any, asset: Any, jobs: int = 5) -> AssetScanSummary:
    """The asset's open findings by severity, its latest imports, each format's and each kind of
    check's last run, through the same selectors as the findings and imports lists."""
    from findings.importers import FORMATS

    counts = finding_severity_counts(
        findings=finding_list_for_user(user=user, filters={"asset": str(asset.pk), "status": ["open"]})
    )
    asset_jobs = job_list_for_user(user=user).filter(asset_id=asset.pk)
    done = (
        asset_jobs.filter(status="done")
        .order_by()
        .values("format")
        .annotate(last_at=Max(Coalesce("finished_at", "created_at")), last_id=Max("id"), imports=Count("id"))
        .order_by("-last_at")
    )
    freshness = [
        ScanFreshness(
            format=row["format"],
            label=str(getattr(FORMATS.get(row["format"]), "LABEL", row["format"] or "unknown format")),
            last_at=row["last_at"],
            last_job_id=row["last_id"],
            imports=row["imports"],
        )
        for row in done
    ]
    return AssetScanSummary(
        open_by_severity=counts,
        open_total=sum(count for _, _, count in counts),
        latest_jobs=list(asset_jobs[:jobs]),
        freshness=freshness,
        by_check=_check_freshness(asset_jobs.filter(status="done")),
    )


# AI evidence ---------------------------------------------------------------------------------------


def check_type_labels(check_types: list[str]) -> list[str]:
    """The labels of a job's check types (``findings.checks.CheckType``)."""
    labels = dict(CheckType.choices)
    return [str(labels.get(check, check)) for check in check_types]


def job_probes(*, job: ImportJob) -> QuerySet[RedTeamProbe]:
    """The red-team probes of a job the caller already got through ``job_get_for_user``."""
    return RedTeamProbe.objects.filter(job_id=job.pk).order_by("passed", "probe")


def last_imported_by_format_for_user(
    *, user: Any, formats: tuple[str, ...], asset_ids: list[int] | None = None
) -> dict[int, dt.datetime]:
    """Per visible asset, when an import of one of ``formats`` last finished successfully."""
    jobs = job_list_for_user(user=user).filter(status="done", format__in=formats, asset_id__isnull=False)
    if asset_ids is not None:
        jobs = jobs.filter(asset_id__in=asset_ids)
    rows = jobs.order_by().values("asset_id").annotate(last=Max(Coalesce("finished_at", "created_at")))
    return {row["asset_id"]: row["last"] for row in rows}


def last_red_teamed_for_user(*, user: Any, asset_ids: list[int] | None = None) -> dict[int, dt.datetime]:
    """Per visible asset, when a red-team run (garak, promptfoo) was last imported for it.

    What the coverage matrix shows in its "red team" column and what the red-team freshness control
    reads; assets never red-teamed are absent.
    """
    from findings.services.redteam import RED_TEAM_FORMATS

    return last_imported_by_format_for_user(user=user, formats=RED_TEAM_FORMATS, asset_ids=asset_ids)


def last_model_file_scan_for_user(*, user: Any, asset_ids: list[int] | None = None) -> dict[int, dt.datetime]:
    """Per visible asset, when a model-file scan (ModelScan, picklescan, fickling) was last imported."""
    from findings.services.redteam import MODEL_FILE_FORMATS

    return last_imported_by_format_for_user(user=user, formats=MODEL_FILE_FORMATS, asset_ids=asset_ids)


@dataclass(frozen=True)
class ModelEvidence:
    """What the AI-specific evidence says of one model asset."""

    asset_id: int
    last_red_teamed: dt.datetime | None
    last_model_file_scan: dt.datetime | None
    open_model_file_findings: int
    open_red_team_findings: int

    @property
    def uses_safe_serialization(self) -> bool | None:
        """None when never scanned; False while a model-file finding is open."""
        if self.last_model_file_scan is None:
            return None
        return self.open_model_file_findings == 0


def model_evidence_for_user(*, user: Any, kinds: tuple[str, ...] = ("model",)) -> list[ModelEvidence]:
    """Every visible active asset of ``kinds`` with its red-team and model-file evidence.

    The "models use safe serialization" and "models red-teamed recently" controls and the coverage
    matrix read this; an asset the user cannot see is never in it.
    """
    from assets.selectors import visible_assets

    assets = list(
        visible_assets(user).filter(kind__in=kinds, lifecycle="active").values_list("id", flat=True)
    )
    red = last_red_teamed_for_user(user=user, asset_ids=assets)
    scanned = last_model_file_scan_for_user(user=user, asset_ids=assets)
    open_counts = (
        _visible_findings(user)
        .filter(asset_id__in=assets, status=FindingStatus.OPEN, category__in=["model_file", "red_team"])
        .order_by()
        .values("asset_id", "category")
        .annotate(n=Count("id"))
    )
    counts = {(row["asset_id"], row["category"]): row["n"] for row in open_counts}
    return [
        ModelEvidence(
            asset_id=asset_id,
            last_red_teamed=red.get(asset_id),
            last_model_file_scan=scanned.get(asset_id),
            open_model_file_findings=counts.get((asset_id, "model_file"), 0),
            open_red_team_findings=counts.get((asset_id, "red_team"), 0),
        )
        for asset_id in assets
    ]
