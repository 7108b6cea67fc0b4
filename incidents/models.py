"""Incidents, their append-only timeline, versioned playbooks with checklists, reviews and exercises.

An incident belongs to a team and is scoped like its assets: it is restricted (``is_restricted``) when any
affected asset is, which a database trigger keeps true when an asset's effective level changes later.
The times of the lifecycle are ordered by check constraints, so no code path can store them out of order.
"""

from __future__ import annotations

from itertools import pairwise

import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from hygiene.audit_triggers import audited

TITLE_MAX = 200


class Category(models.TextChoices):
    CREDENTIAL_LEAK = "credential_leak", "Credential leak"
    DATA_LEAKAGE = "data_leakage", "Data leakage"
    MODEL_THEFT = "model_theft", "Model theft or extraction"
    PROMPT_INJECTION = "prompt_injection", "Prompt injection"
    POISONING = "poisoning", "Data or model poisoning"
    SUPPLY_CHAIN = "supply_chain", "Supply-chain compromise"
    MISCONFIGURATION = "misconfiguration", "Misconfiguration"
    UNAUTHORIZED_ACCESS = "unauthorized_access", "Unauthorized access"
    AVAILABILITY = "availability", "Availability"


# The categories particular to AI systems; each has a seeded playbook.
AI_CATEGORIES = (
    Category.CREDENTIAL_LEAK,
    Category.DATA_LEAKAGE,
    Category.MODEL_THEFT,
    Category.PROMPT_INJECTION,
    Category.POISONING,
    Category.SUPPLY_CHAIN,
)


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class Status(models.TextChoices):
    REPORTED = "reported", "Reported"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CONTAINED = "contained", "Contained"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


# The lifecycle in order, with the time each status records.
LIFECYCLE: tuple[tuple[str, str], ...] = (
    (Status.REPORTED, "reported_at"),
    (Status.ACKNOWLEDGED, "acknowledged_at"),
    (Status.CONTAINED, "contained_at"),
    (Status.RESOLVED, "resolved_at"),
    (Status.CLOSED, "closed_at"),
)
# Every time of an incident, earliest first; each may not be before the one before it.
TIME_FIELDS = (
    "occurred_at",
    "detected_at",
    "reported_at",
    "acknowledged_at",
    "contained_at",
    "resolved_at",
    "closed_at",
)
OPEN_STATUSES = (Status.REPORTED, Status.ACKNOWLEDGED, Status.CONTAINED)


def _time_constraints() -> list[models.BaseConstraint]:
    constraints: list[models.BaseConstraint] = [
        models.CheckConstraint(
            condition=Q(detected_at__gte=F("occurred_at")), name="incident_detected_after_occurred"
        ),
        models.CheckConstraint(
            condition=Q(reported_at__gte=F("detected_at")), name="incident_reported_after_detected"
        ),
    ]
    for earlier, later in pairwise(TIME_FIELDS[2:]):
        name = f"incident_{later.removesuffix('_at')}_after_{earlier.removesuffix('_at')}"
        constraints.append(
            models.CheckConstraint(
                condition=Q(**{f"{later}__isnull": True})
                | (Q(**{f"{earlier}__isnull": False}) & Q(**{f"{later}__gte": F(earlier)})),
                name=name,
            )
        )
    # A status has its time, and the times of the statuses after it are not set yet.
    for index, (status, field) in enumerate(LIFECYCLE):
        reached = [s for s, _ in LIFECYCLE[index:]]
        constraints.append(
            models.CheckConstraint(
                condition=Q(**{f"{field}__isnull": False}) | ~Q(status__in=reached),
                name=f"incident_{status}_has_time",
            )
        )
        constraints.append(
            models.CheckConstraint(
                condition=Q(**{f"{field}__isnull": True}) | Q(status__in=reached),
                name=f"incident_{status}_time_only_once_reached",
            )
        )
    return constraints


class IncidentQuerySet(models.QuerySet["Incident"]):
    def open(self) -> IncidentQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def unacknowledged(self) -> IncidentQuerySet:
        return self.filter(status=Status.REPORTED)


class Incident(models.Model):
    team = models.ForeignKey("hygiene.Team", on_delete=models.PROTECT, related_name="incidents")
    title = models.CharField(max_length=TITLE_MAX)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=32, choices=Category.choices)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REPORTED)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    affected_assets = models.ManyToManyField(
        "assets.Asset", through="IncidentAsset", related_name="incidents", blank=True
    )
    # Kept by the services and by a trigger on assets: true when any affected asset is restricted.
    is_restricted = models.BooleanField(default=False)
    occurred_at = models.DateTimeField()
    detected_at = models.DateTimeField()
    reported_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    contained_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The highest escalation level fired so far (0: never escalated).
    escalation_level = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-reported_at", "-id"]
        constraints = _time_constraints()
        indexes = [
            models.Index(fields=["team", "-reported_at", "-id"], name="incident_team_reported_id"),
            models.Index(fields=["-reported_at", "-id"], name="incident_reported"),
            models.Index(fields=["status", "reported_at"], name="incident_status_reported"),
            models.Index(fields=["category", "-reported_at"], name="incident_category_reported"),
        ]
        triggers = [audited()]

    def __str__(self) -> str:
        return f"INC-{self.pk}: {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:detail", args=[self.pk])

    @property
    def reference(self) -> str:
        return f"INC-{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class IncidentAsset(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="asset_links")
    asset = models.ForeignKey("assets.Asset", on_delete=models.PROTECT, related_name="incident_links")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "asset"], name="incident_asset_unique"),
        ]
        indexes = [models.Index(fields=["asset", "incident"], name="incident_asset_by_asset")]
        triggers = [audited()]

    def __str__(self) -> str:
        return f"{self.incident_id} affects {self.asset_id}"


class IncidentFinding(models.Model):
    """A finding linked to an incident (often the one that started it)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="finding_links")
    finding = models.ForeignKey("findings.Finding", on_delete=models.PROTECT, related_name="incident_links")
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "finding"], name="incident_finding_unique"),
        ]
        triggers = [audited()]

    def __str__(self) -> str:
        return f"{self.incident_id} linked to finding {self.finding_id}"


class EntryKind(models.TextChoices):
    REPORTED = "reported", "Reported"
    NOTE = "note", "Note"
    STATUS = "status", "Status change"
    COMMANDER = "commander", "Commander"
    FINDING = "finding", "Finding linked"
    ASSET = "asset", "Asset added"
    PLAYBOOK = "playbook", "Playbook started"
    STEP = "step", "Playbook step"
    TIME_CORRECTION = "time_correction", "Time corrected"
    ESCALATION = "escalation", "Escalation"
    REVIEW = "review", "Review"


class TimelineEntry(models.Model):
    """One line of an incident's timeline; rows are never updated or deleted (triggers refuse it)."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="timeline")
    kind = models.CharField(max_length=24, choices=EntryKind.choices)
    at = models.DateTimeField(default=timezone.now, help_text="When it happened.")
    recorded_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    text = models.TextField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "timeline entries"
        indexes = [models.Index(fields=["incident", "at", "id"], name="timeline_incident_at")]
        triggers = [
            audited(),
            pgtrigger.Protect(name="append_only_update", operation=pgtrigger.Update),
            pgtrigger.Protect(name="append_only_delete", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.kind}: {self.text[:60]}"


# ---- playbooks -------------------------------------------------------------------------------------


class StepRole(models.TextChoices):
    COMMANDER = "commander", "Incident commander"
    MEMBER = "member", "Team member"
    CHAMPION = "champion", "Security champion"
    LEAD = "lead", "Team lead"
    SECURITY_LEAD = "security_lead", "Security lead"


class EscalationTarget(models.TextChoices):
    CHAMPIONS = "champions", "The team's security champions"
    LEADS = "leads", "The team's leads"
    COMMANDER = "commander", "The incident commander"
    SECURITY_LEADS = "security_leads", "Security leads"
    PERSON = "person", "A named person"


class Playbook(models.Model):
    """A response procedure; its content lives in immutable versions, the newest being current."""

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=TITLE_MAX)
    categories = ArrayField(models.CharField(max_length=32, choices=Category.choices), default=list)
    created_at = models.DateTimeField(default=timezone.now)
    current_version = models.ForeignKey(
        "PlaybookVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["title"]
        triggers = [audited()]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("incidents:playbook", args=[self.slug])


class PlaybookVersion(models.Model):
    playbook = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    summary = models.TextField(blank=True)
    change_note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["playbook", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["playbook", "number"], name="playbook_version_unique_number"),
        ]
        triggers = [
            audited(),
            pgtrigger.Protect(name="immutable_version", operation=pgtrigger.Update),
        ]

    def __str__(self) -> str:
        return f"{self.playbook} v{self.number}"


class PlaybookStep(models.Model):
    version = models.ForeignKey(PlaybookVersion, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=TITLE_MAX)
    guidance = models.TextField(blank=True)
    role = models.CharField(max_length=16, choices=StepRole.choices, default=StepRole.COMMANDER)
    target_minutes = models.PositiveIntegerField(help_text="Minutes after the playbook starts.")

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "position"], name="playbook_step_unique_position"),
        ]
        triggers = [audited(), pgtrigger.Protect(name="immutable_step", operation=pgtrigger.Update)]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class EscalationLevel(models.Model):
    version = models.ForeignKey(PlaybookVersion, on_delete=models.CASCADE, related_name="escalation_levels")
    level = models.PositiveSmallIntegerField()
    target = models.CharField(max_length=16, choices=EscalationTarget.choices)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    after_minutes = models.PositiveIntegerField(
        help_text="Minutes without acknowledgement, or with a step overdue, before this level fires."
    )

    class Meta:
        ordering = ["version", "level"]
        constraints = [
            models.UniqueConstraint(fields=["version", "level"], name="escalation_level_unique"),
            models.CheckConstraint(
                condition=Q(target="person", person__isnull=False)
                | (~Q(target="person") & Q(person__isnull=True)),
                name="escalation_person_iff_target_person",
            ),
        ]
        triggers = [audited(), pgtrigger.Protect(name="immutable_level", operation=pgtrigger.Update)]

    def __str__(self) -> str:
        return f"Level {self.level} after {self.after_minutes} min"


class PlaybookRun(models.Model):
    """A playbook started on an incident: the pinned version and its checklist."""

    incident = models.OneToOneField(Incident, on_delete=models.PROTECT, related_name="run")
    version = models.ForeignKey(PlaybookVersion, on_delete=models.PROTECT, related_name="runs")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        triggers = [audited()]

    def __str__(self) -> str:
        return f"{self.version} on {self.incident_id}"


class ChecklistItem(models.Model):
    run = models.ForeignKey(PlaybookRun, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=TITLE_MAX)
    guidance = models.TextField(blank=True)
    role = models.CharField(max_length=16, choices=StepRole.choices)
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "position"], name="checklist_item_unique_position"),
        ]
        indexes = [
            models.Index(fields=["due_at"], name="checklist_open_due", condition=Q(done_at__isnull=True)),
        ]
        triggers = [audited()]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"

    @property
    def is_overdue(self) -> bool:
        return self.done_at is None and self.due_at < timezone.now()


class EscalationReason(models.TextChoices):
    UNACKNOWLEDGED = "unacknowledged", "Not acknowledged"
    STEP_OVERDUE = "step_overdue", "Step overdue"


class Escalation(models.Model):
    """One fired escalation level; the unique constraint makes each level fire once."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="escalations")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reason = models.CharField(max_length=16, choices=EscalationReason.choices)
    level = models.PositiveSmallIntegerField()
    fired_at = models.DateTimeField(default=timezone.now)
    notified = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["fired_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "reason", "item", "level"],
                name="escalation_once_per_level",
                nulls_distinct=False,
            ),
        ]
        triggers = [audited()]

    def __str__(self) -> str:
        return f"{self.incident_id} level {self.level} ({self.reason})"


# ---- after the incident ----------------------------------------------------------------------------


class Review(models.Model):
    """The post-incident review; ``published_summary`` is the anonymized text on the Learnings page."""

    incident = models.OneToOneField(Incident, on_delete=models.PROTECT, related_name="review")
    root_cause = models.TextField()
    lessons = models.TextField(blank=True)
    summary = models.TextField(blank=True, help_text="What happened and what we learnt, for others.")
    kept_terms = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    published_summary = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["-published_at"], name="review_published", condition=Q(published_at__isnull=False)
            )
        ]
        triggers = [audited()]

    def __str__(self) -> str:
        return f"Review of {self.incident_id}"


class ExerciseKind(models.TextChoices):
    TABLETOP = "tabletop", "Tabletop exercise"
    DR_DRILL = "dr_drill", "Disaster-recovery drill"


class Exercise(models.Model):
    team = models.ForeignKey("hygiene.Team", on_delete=models.PROTECT, related_name="exercises")
    playbook = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="exercises")
    version = models.ForeignKey(PlaybookVersion, on_delete=models.PROTECT, related_name="exercises")
    kind = models.CharField(max_length=16, choices=ExerciseKind.choices)
    held_on = models.DateField()
    scenario = models.TextField()
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="ExerciseParticipant", related_name="exercises", blank=True
    )
    gaps_found = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-held_on", "-id"]
        indexes = [
            models.Index(fields=["team", "-held_on"], name="exercise_team_held"),
            models.Index(fields=["playbook", "-held_on"], name="exercise_playbook_held"),
        ]
        triggers = [audited()]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.playbook} on {self.held_on}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:exercise", args=[self.pk])


class ExerciseParticipant(models.Model):
    """Who took part in an exercise (a model of its own so that the audit trigger records it)."""

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="participant_links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["exercise", "user"], name="exercise_participant_unique"),
        ]
        triggers = [audited()]

    def __str__(self) -> str:
        return f"{self.user_id} in exercise {self.exercise_id}"


class FollowUp(models.Model):
    """An action decided in a review or an exercise, with an owner and a due date."""

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, null=True, blank=True, related_name="followups"
    )
    exercise = models.ForeignKey(
        Exercise, on_delete=models.PROTECT, null=True, blank=True, related_name="followups"
    )
    title = models.CharField(max_length=TITLE_MAX)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="followups")
    due_on = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(incident__isnull=False, exercise__isnull=True)
                | Q(incident__isnull=True, exercise__isnull=False),
                name="followup_belongs_to_incident_or_exercise",
            ),
        ]
        indexes = [
            models.Index(
                fields=["owner", "due_on"], name="followup_open_owner", condition=Q(done_at__isnull=True)
            ),
        ]
        triggers = [audited()]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return self.done_at is None and self.due_on < timezone.localdate()
