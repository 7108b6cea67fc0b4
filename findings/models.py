"""Scan sources, import jobs, findings and the enrichment tables they are scored against.

What the audit log captures of these machine-written tables, and how:

- ``findings_finding``: imports write it in bulk (``findings.services.ingest``), so inserts and refreshes
  are audited through their job, not row by row. A change of *status* is audited by trigger whoever
  makes it (a person through the services, an import, raw SQL): one compact ``status_change`` entry
  naming the actor (or the database session), the reason, and the job when an import made it
  (``hygiene.audit_triggers.FINDING_STATUS_AUDIT``).
- ``findings_importjob``: through the job, by explicit events (created, done, failed), since progress
  is written many times while it runs.
- ``findings_findingsighting``: the import's own record of what it changed, written with the job.
- ``findings_keventry`` and ``findings_epssscore``: through their load, one event per file loaded.
- ``findings_scansource``: by trigger, like every governed table; pulls by explicit events.

The findings table is tuned for re-imports, which touch every row: long
text is moved out of the row (TOAST) and pages keep free space (fillfactor), so refreshing
``last_seen`` is a HOT update that neither grows the table nor touches an index.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Case, Q, Value, When
from django.urls import reverse
from django.utils import timezone

from findings.categories import Category, Severity
from hygiene.audit_triggers import audited

__all__ = ["Category", "Severity"]  # re-exported: the one list lives in findings.categories


class SourceKind(models.TextChoices):
    FOLDER = "folder", "Folder"
    URL = "url", "URL"


class ScanSource(models.Model):
    """A place workers pull scan files from on a schedule."""

    team = models.ForeignKey("hygiene.Team", on_delete=models.CASCADE, related_name="scan_sources")
    # Null: each pulled file is matched to an asset by the identifiers its scanner reports.
    asset = models.ForeignKey(
        "assets.Asset", on_delete=models.CASCADE, null=True, blank=True, related_name="scan_sources"
    )
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=SourceKind.choices)
    location = models.CharField(max_length=1000, help_text="Folder path or HTTP(S) URL.")
    format = models.CharField(max_length=32, blank=True, help_text="Blank: detect from the file.")
    enabled = models.BooleanField(default=True)
    interval_minutes = models.PositiveIntegerField(default=60)
    last_pulled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        triggers = [audited()]

    def __str__(self) -> str:
        return self.name


class ScanFolderGrant(models.Model):
    """A folder under the drop roots that a security lead granted to a team for its folder sources.

    Without a grant, a team's folder sources may only read its own drop folder, ``<root>/<team slug>``.
    """

    team = models.ForeignKey("hygiene.Team", on_delete=models.CASCADE, related_name="scan_folder_grants")
    # The real path (symbolic links resolved) when it was granted.
    path = models.CharField(max_length=1000)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team__name", "path"]
        triggers = [audited()]
        constraints = [
            models.UniqueConstraint(fields=["team", "path"], name="scanfoldergrant_unique_team_path"),
        ]

    def __str__(self) -> str:
        return f"{self.path} for {self.team_id}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """One uploaded or pulled scan file and what importing it did.

    Not audited by trigger: progress is written many times while a job runs. The import services write
    explicit audit events when a job is created and when it finishes or fails.
    """

    team = models.ForeignKey("hygiene.Team", on_delete=models.CASCADE, related_name="import_jobs")
    asset = models.ForeignKey(
        "assets.Asset", on_delete=models.SET_NULL, null=True, blank=True, related_name="import_jobs"
    )
    source = models.ForeignKey(
        ScanSource, on_delete=models.SET_NULL, null=True, blank=True, related_name="import_jobs"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The importer key, blank until detected; requested_format is what the uploader asked for.
    format = models.CharField(max_length=32, blank=True)
    requested_format = models.CharField(max_length=32, blank=True)
    filename = models.CharField(max_length=255)
    raw_file = models.FileField(upload_to="scans/%Y/%m/", max_length=500)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    new_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    reopened_count = models.PositiveIntegerField(default=0)
    mitigated_count = models.PositiveIntegerField(default=0)
    findings_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The lease of a running import: its worker renews it every HYGIENE_IMPORT_HEARTBEAT_SECONDS. A
    # running job whose heartbeat is older than HYGIENE_IMPORT_LEASE_SECONDS lost its worker, and is
    # queued again (up to HYGIENE_IMPORT_MAX_ATTEMPTS claims) or failed.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    retry_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retries"
    )
    # When the scan ran, from the file where its format says (Trivy CreatedAt, SARIF invocation times,
    # Grype's descriptor...), else the upload time: the detection time of what it found first.
    scanned_at = models.DateTimeField(null=True, blank=True)
    # The kinds of checks the file held (findings.checks.CheckType), for the coverage metrics.
    check_types = ArrayField(models.CharField(max_length=24), default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "-created_at"], name="importjob_team_created"),
            # The newest jobs of every team (a lead's overview, the imports list): read by index, not
            # by sorting every job ever imported.
            models.Index(fields=["-created_at", "-id"], name="importjob_created"),
            models.Index(fields=["asset", "format", "status"], name="importjob_asset_format"),
            models.Index(
                fields=["heartbeat_at"], name="importjob_running_heartbeat", condition=Q(status="running")
            ),
            models.Index(fields=["scanned_at"], name="importjob_scanned_at", condition=Q(status="done")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="importjob_progress_max_100"),
        ]

    def __str__(self) -> str:
        return f"Import #{self.pk} {self.filename}"

    def get_absolute_url(self) -> str:
        return reverse("findings:job", args=[self.pk])

    @property
    def duration(self) -> dt.timedelta | None:
        if self.started_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.started_at

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)


# Higher is worse; lists sort by ``-severity_rank``.
SEVERITY_RANK = {
    Severity.CRITICAL: 5,
    Severity.HIGH: 4,
    Severity.MEDIUM: 3,
    Severity.LOW: 2,
    Severity.INFO: 1,
}


class FindingStatus(models.TextChoices):
    OPEN = "open", "Open"
    MITIGATED = "mitigated", "Mitigated"
    RISK_ACCEPTED = "risk_accepted", "Risk accepted"
    FALSE_POSITIVE = "false_positive", "False positive"


class FindingQuerySet(models.QuerySet["Finding"]):
    def open(self) -> FindingQuerySet:
        return self.filter(status=FindingStatus.OPEN)

    def past_sla(self, today: dt.date | None = None) -> FindingQuerySet:
        return self.filter(status=FindingStatus.OPEN, sla_due__lt=today or timezone.localdate())

    def kev(self) -> FindingQuerySet:
        return self.filter(kev=True)


class Finding(models.Model):
    """One issue on one asset, deduplicated across imports by ``fingerprint``."""

    # Imports insert 100,000s of rows at a time, so the table carries only the indexes the lists use:
    # the (asset, fingerprint) one serves asset lookups, the (team, status, severity, ...) one the team
    # scope, the (severity, ...) and (first_seen, ...) ones the lists of everything (see Meta). No
    # reference is checked by the database: a per-row foreign-key check costs a fifth of a first
    # import. The import holds the asset's lock and writes the asset, its team and the job it has
    # just read; deleting an asset deletes its findings through the ORM.
    asset = models.ForeignKey(
        "assets.Asset", on_delete=models.CASCADE, related_name="findings", db_index=False, db_constraint=False
    )
    # Denormalized from the asset so the permission scope is one indexed filter; a trigger on the
    # asset table (migration 0004) moves it with the asset.
    team = models.ForeignKey(
        "hygiene.Team", on_delete=models.CASCADE, related_name="findings", db_index=False, db_constraint=False
    )
    # The importer key of the scan that first reported it: only a newer scan of the same scanner on
    # the same asset can mark it mitigated.
    scanner = models.CharField(max_length=32)
    category = models.CharField(max_length=24, choices=Category.choices)
    rule_id = models.CharField(max_length=300)
    title = models.CharField(max_length=500)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    severity_rank = models.GeneratedField(
        expression=Case(
            *(When(severity=value, then=Value(rank)) for value, rank in SEVERITY_RANK.items()),
            default=Value(0),
        ),
        output_field=models.SmallIntegerField(),
        db_persist=True,
    )
    package = models.CharField(max_length=300, blank=True)
    installed_version = models.CharField(max_length=200, blank=True)
    fixed_version = models.CharField(max_length=200, blank=True)
    location = models.CharField(max_length=1000, blank=True)
    target = models.CharField(max_length=1000, blank=True)
    cvss = models.FloatField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    description = models.TextField(blank=True)
    url = models.CharField(max_length=1000, blank=True)
    fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    first_seen = models.DateTimeField()
    # Not indexed on purpose: every re-import rewrites it, and an index would defeat HOT updates.
    last_seen = models.DateTimeField()
    mitigated_at = models.DateTimeField(null=True, blank=True)
    sla_due = models.DateField(null=True, blank=True)
    # The scan time of the import that first reported it (first_seen is when that import ran).
    detected_at = models.DateTimeField(null=True, blank=True)
    # The SLA due date in force when it was last closed (mitigated, false positive, risk accepted),
    # kept even if enrichment or a re-import later rewrites sla_due; cleared when it reopens.
    sla_due_at_close = models.DateField(null=True, blank=True)
    kev = models.BooleanField(default=False)
    kev_due = models.DateField(null=True, blank=True)
    epss = models.FloatField(null=True, blank=True)
    epss_percentile = models.FloatField(null=True, blank=True)
    # Not indexed for the same reason as last_seen (deleting a job is rare and may scan).
    last_job = models.ForeignKey(
        ImportJob,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        db_constraint=False,
        related_name="+",
    )
    search = models.GeneratedField(
        expression=SearchVector("title", "rule_id", "package", config="simple"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    objects = FindingQuerySet.as_manager()

    class Meta:
        ordering = ["-severity_rank", "sla_due", "id"]
        constraints = [
            models.UniqueConstraint(fields=["asset", "fingerprint"], name="finding_unique_asset_fingerprint"),
        ]
        indexes = [
            # A team's list in list order (worst first), whatever the status: a member's page is the
            # index's next rows, not a sort of the team's findings.
            models.Index(
                fields=["team", "status", "-severity_rank", "sla_due", "id"], name="finding_team_status_order"
            ),
            models.Index(fields=["sla_due"], name="finding_sla_due", condition=Q(status="open")),
            # Every finding in list order (worst first), for whoever has no team filter (a security lead,
            # an auditor) and for every status: the first page is the index's first rows, whatever the
            # status asked for (the API asks for none). Status and asset ride along so that each
            # severity's capped count, and an auditor's (who sees no restricted asset), is read from the
            # index alone. Not partial on open findings: new findings are open, so imports write it
            # as much either way; re-imports (HOT) do not write it.
            models.Index(
                fields=["-severity_rank", "sla_due", "id"],
                include=["status", "asset"],
                name="finding_severity_order",
            ),
            # Open findings in list order, for whoever has no team filter: the default list of a lead or
            # an auditor, and a severity's open page, are this index's first rows (in the every-status
            # order, a page of open critical findings read every closed one due earlier). First seen,
            # team and asset ride along so the dashboards' counts of today's open findings by severity,
            # age, due date and asset read the index alone.
            models.Index(
                fields=["-severity_rank", "sla_due", "id"],
                include=["first_seen", "team", "asset"],
                condition=Q(status="open"),
                name="finding_open_order",
            ),
            # Newest or oldest first, of any status, and "found between these days" for the metrics'
            # drill-downs and comparisons: first_seen never changes, so only new findings (and status
            # changes, which rewrite every index) write it.
            models.Index(fields=["first_seen", "id"], name="finding_first_seen_order"),
            # A team's findings newest first (a member's drill-down from a dashboard, found or patched in
            # a month, open on a day), and the same per severity for each severity's capped count: in the
            # team's list order a page of findings open on a day read most of the team's findings.
            models.Index(fields=["team", "first_seen", "id"], name="finding_team_first_seen"),
            models.Index(
                fields=["team", "severity_rank", "first_seen", "id"],
                include=["status", "asset"],
                name="finding_team_severity_seen",
            ),
            # The same per severity: the metrics' drill-downs pick a severity and a time (open on a day,
            # patched or found in a month, an age band), and each severity's capped count reads its
            # matches newest first, where they lie together (findings/selectors.py).
            models.Index(
                fields=["severity_rank", "first_seen", "id"],
                include=["status", "asset"],
                name="finding_severity_first_seen",
            ),
            # No index on EPSS: a daily EPSS load rewrites the score of most findings, and an indexed
            # score makes every one of those updates write every index of the table (no HOT update),
            # three times the load's time and bloat that slows every list until vacuum. The EPSS sort
            # reads the top-scored CVEs' findings instead, from the EPSS table's score index and the
            # rule-id index (selectors.finding_slice; bench/findings_list.py: lead_epss_sort).
            # The KEV filter in list order: a few percent of the findings, so small and cheap to keep.
            models.Index(
                fields=["team", "status", "-severity_rank", "sla_due", "id"],
                name="finding_kev_by_team",
                condition=Q(kev=True),
            ),
            models.Index(fields=["rule_id"], name="finding_rule_id"),
            GinIndex(fields=["search"], name="finding_search"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} on {self.asset_id}"

    def get_absolute_url(self) -> str:
        return reverse("findings:detail", args=[self.pk])

    def history(self) -> list[tuple[ImportJob, str]]:
        """Each import that saw this finding (or found it gone), oldest first, with its outcome.

        Only changes after the first sighting are stored (``FindingSighting``): the import that found
        it is the one that started at ``first_seen``, and the imports that saw it unchanged are the
        done jobs of the same asset and scanner while it was present.
        """
        events = {s.job_id: s.outcome for s in self.sightings.all() if s.job_id is not None}
        # An import's time is when it started: that is what first_seen, last_seen and mitigated_at hold.
        jobs = ImportJob.objects.filter(
            Q(pk__in=list(events))
            | Q(asset_id=self.asset_id, started_at=self.first_seen)
            | Q(
                asset_id=self.asset_id,
                format=self.scanner,
                status=JobStatus.DONE,
                started_at__gt=self.first_seen,
                started_at__lte=max(self.last_seen, self.mitigated_at or self.last_seen),
            )
        ).order_by("started_at", "id")
        history: list[tuple[ImportJob, str]] = []
        present = False
        for job in jobs:
            outcome = events.get(job.pk)
            if outcome is None and job.started_at == self.first_seen and not history:
                outcome = Outcome.NEW
            if outcome in (Outcome.NEW, Outcome.REOPENED):
                present = True
            elif outcome == Outcome.MITIGATED:
                present = False
            elif present:
                outcome = Outcome.UNCHANGED
            if outcome:
                history.append((job, outcome))
        return history


class Outcome(models.TextChoices):
    NEW = "new", "New"
    UNCHANGED = "unchanged", "Seen again"
    REOPENED = "reopened", "Reopened"
    MITIGATED = "mitigated", "Gone (mitigated)"
    TRIAGED = "triaged", "Status changed by a person"


class FindingSighting(models.Model):
    """What one import (or person) changed about a finding it had seen before: back again, or gone.

    With ``first_seen``, these rows are the finding's episodes: each stretch during which it was open
    starts at ``first_seen`` or at a row whose ``status`` is open, and ends at the next row whose
    ``status`` is not (``sla_due`` then holds the due date in force when it closed).

    A row for every finding an import saw would grow without bound (a daily scan of an image with
    1,000 findings adds 365,000 rows a year) and make every import write twice what it reads; the
    first sighting (``first_seen``) and the unchanged ones are implied instead (``Finding.history``).
    Rows are written set-based by the import pipeline, so this table carries no audit trigger either.
    """

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="sightings")
    # Null for a status a person set (``Outcome.TRIAGED``).
    job = models.ForeignKey(
        ImportJob, on_delete=models.CASCADE, null=True, blank=True, related_name="sightings"
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    occurred_at = models.DateTimeField()
    # The finding's status after this event, and the SLA due date in force at it.
    status = models.CharField(max_length=16, choices=FindingStatus.choices, blank=True)
    sla_due = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["finding", "occurred_at"], name="sighting_finding_time")]

    def __str__(self) -> str:
        if self.job_id is None:
            return f"{self.get_outcome_display()}: {self.status}"
        return f"{self.get_outcome_display()} in import #{self.job_id}"


class FindingEpisode(models.Model):
    """One stretch during which a finding was open, from its history: opened at ``first_seen`` or at a
    reopen, closed by the next status that is not open (``closed_as``), or still open.

    Derived data, kept by database triggers on findings and sightings (whatever path writes them: the
    import's COPY, bulk triage, admin, SQL), so the metrics count episodes with an index instead of
    rebuilding every finding's history from its sightings per day or per request. Rebuilt from the
    history by ``findings_refresh_episodes(NULL)`` (the migration, and bulk loads that skip triggers).
    """

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="episodes")
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_as = models.CharField(max_length=16, choices=FindingStatus.choices, blank=True)
    # The due date the closing sighting recorded (readers fall back to the finding's frozen one).
    closing_sla_due = models.DateField(null=True, blank=True)
    is_first = models.BooleanField(help_text="Opened when the finding was first seen, not by a reopen.")

    class Meta:
        ordering = ["finding", "opened_at"]
        # Few indexes, because every import writes here (btree: a GiST on the range cost imports more).
        indexes = [
            # Closing time and kind ride along: "patched in a month" and "open on a day" ask each
            # finding of a drill-down list whether such an episode exists, from the index alone.
            models.Index(
                fields=["finding", "opened_at"],
                include=["closed_at", "closed_as"],
                name="episode_finding_probe",
            ),
            # "Open at the end of day D" = still open and opened by then, or closed after D's end;
            # "patched during these days" = closed then (as mitigated). The findings they belong to
            # ride along: the "open on a day" list reads those reopened or closed since from the
            # indexes alone (selectors.open_at_end_of).
            models.Index(
                fields=["opened_at"],
                include=["finding", "is_first"],
                name="episode_open_cover",
                condition=models.Q(closed_at__isnull=True),
            ),
            models.Index(
                fields=["closed_at"],
                include=["opened_at", "finding", "closed_as"],
                name="episode_closed_cover",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.finding_id}: {self.opened_at:%Y-%m-%d} - {self.closed_as or 'open'}"


class KevEntry(models.Model):
    """One row of CISA's Known Exploited Vulnerabilities catalogue."""

    cve_id = models.CharField(max_length=32, primary_key=True)
    vendor = models.CharField(max_length=200, blank=True)
    product = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=500, blank=True)
    date_added = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    known_ransomware = models.BooleanField(default=False)

    class Meta:
        ordering = ["-date_added", "cve_id"]
        verbose_name = "KEV entry"
        verbose_name_plural = "KEV entries"

    def __str__(self) -> str:
        return self.cve_id


class EpssScore(models.Model):
    """FIRST's EPSS probability that a CVE is exploited in the next 30 days."""

    cve_id = models.CharField(max_length=32, primary_key=True)
    score = models.FloatField()
    percentile = models.FloatField()
    scored_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-score", "cve_id"]
        verbose_name = "EPSS score"
        # The findings list's EPSS sort starts from the highest-scored CVEs (selectors.finding_slice):
        # one row per CVE, rewritten once a day, so indexed here rather than on the findings' copy.
        indexes = [models.Index(fields=["-score"], name="epssscore_score")]

    def __str__(self) -> str:
        return f"{self.cve_id}: {self.score:.3f}"


class RedTeamProbe(models.Model):
    """One red-team probe (garak) or plugin (promptfoo) of an import: attempts and pass rate.

    Written with the import, in its transaction; visible exactly like its job (and so its asset).
    Every probe is kept, passing or not: a pass rate of 100% is evidence too.
    """

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="probes")
    asset = models.ForeignKey("assets.Asset", on_delete=models.CASCADE, related_name="red_team_probes")
    tool = models.CharField(max_length=32)
    probe = models.CharField(max_length=300)
    target = models.CharField(max_length=1000, blank=True)
    attempts = models.PositiveIntegerField()
    passed = models.PositiveIntegerField()
    detectors = ArrayField(models.CharField(max_length=300), default=list, blank=True)
    owasp_ids = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    atlas_ids = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    ran_at = models.DateTimeField()

    class Meta:
        ordering = ["probe"]
        constraints = [
            models.UniqueConstraint(fields=["job", "probe"], name="redteamprobe_job_probe"),
            models.CheckConstraint(
                condition=Q(passed__lte=models.F("attempts")), name="redteamprobe_passed_le_attempts"
            ),
        ]
        indexes = [models.Index(fields=["asset", "-ran_at"], name="redteamprobe_asset_ran")]

    def __str__(self) -> str:
        return f"{self.tool} {self.probe}: {self.passed}/{self.attempts}"

    @property
    def failed(self) -> int:
        return self.attempts - self.passed

    @property
    def pass_rate(self) -> float:
        return self.passed / self.attempts if self.attempts else 1.0
