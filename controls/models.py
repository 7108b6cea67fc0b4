"""Frameworks and their requirements, the hygiene baseline of controls, who owns each control in each
team, assessments with their evidence, and exceptions (risk acceptance).

Assessments are machine-written in bulk by the rules (``controls.services.assessments``), like
findings, so their table carries no audit trigger; every person's action on them (evidence, exceptions)
is audited by the triggers of those tables. Requirements are loaded in bulk from catalogs and audited
through the ``catalog_load`` event.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from hygiene.audit_triggers import audited


class Framework(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=60, blank=True)
    publisher = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=300, blank=True, help_text="Where the catalog came from.")
    url = models.URLField(max_length=500, blank=True)
    licence = models.CharField(max_length=300, blank=True)
    attribution = models.TextField(blank=True, help_text="Shown on the framework page (licence terms).")
    loaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        triggers = [audited()]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("controls:framework", args=[self.slug])


class Requirement(models.Model):
    """One requirement (or group of requirements) of a framework, in its catalog's tree."""

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="requirements")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    identifier = models.CharField(max_length=100, help_text="The catalog's id, e.g. ac-2 or GV.OC-01.")
    label = models.CharField(max_length=100, blank=True, help_text="As people write it, e.g. AC-2.")
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=40, blank=True, help_text="group, control, function, technique...")
    is_group = models.BooleanField(default=False)
    withdrawn = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    depth = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["framework", "position"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "identifier"], name="requirement_unique_identifier")
        ]
        indexes = [models.Index(fields=["framework", "parent", "position"], name="requirement_tree")]

    def __str__(self) -> str:
        return f"{self.display_id} {self.title}"

    @property
    def display_id(self) -> str:
        return self.label or self.identifier


class Domain(models.TextChoices):
    IDENTITY = "identity", "Identity and access"
    SECRETS = "secrets", "Secrets"
    DATA = "data", "Data protection"
    DATA_GOVERNANCE = "data_governance", "Data governance"
    VULNERABILITY = "vulnerability", "Vulnerability management"
    SUPPLY_CHAIN = "supply_chain", "Supply chain"
    DEVELOPMENT = "development", "Secure development and release"
    OPERATIONS = "operations", "Monitoring and operations"
    MODEL = "model", "Model security"
    RESILIENCE = "resilience", "Incident response and resilience"
    GOVERNANCE = "governance", "Governance and people"


class Mode(models.TextChoices):
    AUTOMATED = "automated", "Automated"
    ATTESTED = "attested", "Attested"


class Scope(models.TextChoices):
    ASSET = "asset", "Each asset"
    TEAM = "team", "Each team"


class ControlQuerySet(models.QuerySet["Control"]):
    def active(self) -> ControlQuerySet:
        return self.filter(retired_at__isnull=True)


class Control(models.Model):
    code = models.CharField(max_length=30, unique=True)
    title = models.CharField(max_length=200)
    objective = models.TextField()
    domain = models.CharField(max_length=32, choices=Domain.choices)
    mode = models.CharField(max_length=16, choices=Mode.choices)
    # The automated rule (controls.rules) that assesses it; attested controls use "evidence".
    rule = models.CharField(max_length=40)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.ASSET)
    cadence_days = models.PositiveIntegerField(default=30, help_text="How often it must be shown again.")
    applies_to_kinds = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    applies_to_environments = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    min_classification = models.ForeignKey(
        "assets.ClassificationLevel",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Applies only to assets whose effective classification is at least this level.",
    )
    from_baseline = models.BooleanField(default=False)
    # When a run last checked the control everywhere (rows whose result did not change are not rewritten).
    last_assessed_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ControlQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        triggers = [audited()]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("controls:detail", args=[self.code])

    @property
    def is_active(self) -> bool:
        return self.retired_at is None


class ControlMapping(models.Model):
    control = models.ForeignKey(Control, on_delete=models.CASCADE, related_name="mappings")
    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE, related_name="mappings")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["requirement__framework__name", "requirement__position"]
        constraints = [
            models.UniqueConstraint(
                fields=["control", "requirement"], name="mapping_unique_control_requirement"
            )
        ]
        indexes = [models.Index(fields=["requirement", "control"], name="mapping_requirement_control")]
        triggers = [audited()]

    def __str__(self) -> str:
        return f"{self.control.code} → {self.requirement}"


class ControlOwnership(models.Model):
    """Who answers for a control in one team: an owner and a champion, both people of that team."""

    control = models.ForeignKey(Control, on_delete=models.CASCADE, related_name="ownerships")
    team = models.ForeignKey("hygiene.Team", on_delete=models.CASCADE, related_name="control_ownerships")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    champion = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["control__code", "team__name"]
        constraints = [
            models.UniqueConstraint(fields=["control", "team"], name="ownership_unique_control_team")
        ]
        indexes = [models.Index(fields=["team", "control"], name="ownership_team_control")]
        triggers = [audited()]

    def __str__(self) -> str:
        return f"{self.control.code} in {self.team}"


class AssessmentStatus(models.TextChoices):
    PASSING = "passing", "Passing"
    FAILING = "failing", "Failing"
    NOT_ASSESSED = "not_assessed", "Not assessed"
    EXCEPTED = "excepted", "Excepted"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


# The statuses that count towards compliance: not applicable ones are left out of every share.
COUNTED_STATUSES = (
    AssessmentStatus.PASSING,
    AssessmentStatus.FAILING,
    AssessmentStatus.NOT_ASSESSED,
    AssessmentStatus.EXCEPTED,
)


class Assessment(models.Model):
    """The state of one control on one asset (or, for team-level controls, one team)."""

    control = models.ForeignKey(Control, on_delete=models.CASCADE, related_name="assessments")
    asset = models.ForeignKey(
        "assets.Asset", on_delete=models.CASCADE, null=True, blank=True, related_name="assessments"
    )
    # Denormalized from the asset (the rules rewrite them) so the permission scope is one filter.
    team = models.ForeignKey("hygiene.Team", on_delete=models.CASCADE, related_name="assessments")
    restricted = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=AssessmentStatus.choices, default=AssessmentStatus.NOT_ASSESSED
    )
    reason = models.TextField(blank=True)
    due_on = models.DateField(null=True, blank=True, help_text="When it must be shown again.")
    exception = models.ForeignKey(
        "controls.RiskException", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assessed_at = models.DateTimeField(default=timezone.now, help_text="When the result was last written.")
    changed_at = models.DateTimeField(default=timezone.now, help_text="When the status last changed.")

    class Meta:
        ordering = ["control__code", "id"]
        constraints = [
            # (asset, control): also the index of an asset page's controls.
            models.UniqueConstraint(
                fields=["asset", "control"], condition=Q(asset__isnull=False), name="assessment_unique_asset"
            ),
            models.UniqueConstraint(
                fields=["control", "team"], condition=Q(asset__isnull=True), name="assessment_unique_team"
            ),
        ]
        indexes = [
            models.Index(fields=["team", "control", "status"], name="assessment_team_control"),
        ]

    def __str__(self) -> str:
        return f"{self.control.code} on {self.subject_label}"

    def get_absolute_url(self) -> str:
        return reverse("controls:assessment", args=[self.pk])

    @property
    def subject_label(self) -> str:
        return self.asset.name if self.asset_id and self.asset else str(self.team)

    @property
    def is_overdue(self) -> bool:
        return self.due_on is not None and self.due_on < timezone.localdate()

    @property
    def explanation(self) -> str:
        """Why it is in its status, in words (not-applicable results say it from the control)."""
        if self.reason or self.status != AssessmentStatus.NOT_APPLICABLE:
            return self.reason
        from controls.services.assessments import applicability_text

        level = self.control.min_classification
        levels = {level.pk: level.name} if level is not None else {}
        return f"Not applicable: applies to {applicability_text(self.control, levels)}."

    @property
    def checked_at(self) -> dt.datetime:
        """When a run last confirmed this result (unchanged results are not rewritten)."""
        last_run = self.control.last_assessed_at
        return max(self.assessed_at, last_run) if last_run else self.assessed_at


class ComplianceCount(models.Model):
    """How many assessments of a control in a team are in each status (restricted ones apart).

    Rebuilt by the assessment service after each run, so the compliance pages read a few hundred rows
    instead of counting hundreds of thousands of assessments on every request.
    """

    control = models.ForeignKey(Control, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    team = models.ForeignKey("hygiene.Team", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    restricted = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=AssessmentStatus.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "control", "restricted", "status"], name="compliancecount_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.control_id}/{self.team_id}/{self.status}: {self.count}"


class EvidenceKind(models.TextChoices):
    FILE = "file", "File"
    LINK = "link", "Link"
    TEXT = "text", "Text"


class Evidence(models.Model):
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="evidence")
    team = models.ForeignKey("hygiene.Team", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=EvidenceKind.choices)
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to="evidence/%Y/%m/", max_length=500, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=120, blank=True, help_text="Sniffed from the content.")
    sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    url = models.URLField(max_length=1000, blank=True)
    text = models.TextField(blank=True)
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    collected_on = models.DateField(default=timezone.localdate)
    expires_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-collected_on", "-id"]
        verbose_name_plural = "evidence"
        indexes = [models.Index(fields=["assessment", "collected_on"], name="evidence_assessment")]
        triggers = [audited()]

    def __str__(self) -> str:
        return self.title

    @property
    def is_expired(self) -> bool:
        return self.expires_on is not None and self.expires_on < timezone.localdate()


class ExceptionStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn"


class RiskRating(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class ExceptionQuerySet(models.QuerySet["RiskException"]):
    def in_force(self, today: dt.date | None = None) -> ExceptionQuerySet:
        return self.filter(status=ExceptionStatus.APPROVED, expires_on__gte=today or timezone.localdate())


class RiskException(models.Model):
    """An exception (risk acceptance): for findings, or for a control on an asset, until a date."""

    team = models.ForeignKey("hygiene.Team", on_delete=models.CASCADE, related_name="exceptions")
    asset = models.ForeignKey("assets.Asset", on_delete=models.CASCADE, related_name="exceptions")
    restricted = models.BooleanField(default=False)
    control = models.ForeignKey(
        Control, on_delete=models.PROTECT, null=True, blank=True, related_name="exceptions"
    )
    title = models.CharField(max_length=200)
    justification = models.TextField()
    compensating_controls = models.TextField(blank=True)
    risk_rating = models.CharField(max_length=16, choices=RiskRating.choices)
    severity = models.CharField(
        max_length=16, blank=True, help_text="The worst severity covered; it bounds the expiry."
    )
    expires_on = models.DateField()
    status = models.CharField(
        max_length=16, choices=ExceptionStatus.choices, default=ExceptionStatus.REQUESTED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ExceptionQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = "exception"
        indexes = [
            models.Index(fields=["team", "status"], name="exception_team_status"),
            models.Index(fields=["status", "expires_on"], name="exception_status_expiry"),
            models.Index(fields=["asset", "control", "status"], name="exception_asset_control"),
        ]
        triggers = [audited()]

    def __str__(self) -> str:
        return f"Exception #{self.pk}: {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("controls:exception", args=[self.pk])


class ExceptionFinding(models.Model):
    """A finding an exception covers, with what it was before approval (restored on expiry)."""

    exception = models.ForeignKey(RiskException, on_delete=models.CASCADE, related_name="covered")
    finding = models.ForeignKey(
        "findings.Finding", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    original_status = models.CharField(max_length=16, blank=True)
    original_sla_due = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["exception", "finding"], name="exceptionfinding_unique")
        ]
        indexes = [models.Index(fields=["finding"], name="exceptionfinding_finding")]
        triggers = [audited()]

    def __str__(self) -> str:
        return f"Finding {self.finding_id} under exception {self.exception_id}"
