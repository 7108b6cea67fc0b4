"""Audit engagements (what an auditor works in) and the evidence bundles built for them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from hygiene.audit_triggers import audited

NAME_MAX = 200


class Framework(models.TextChoices):
    """The frameworks of DESIGN section 4 an engagement can be against (controls map to them)."""

    NIST_CSF_2 = "nist-csf-2.0", "NIST CSF 2.0"
    NIST_AI_RMF = "nist-ai-rmf-1.0", "NIST AI RMF 1.0"
    ISO_42001 = "iso-42001", "ISO/IEC 42001"
    OWASP_LLM = "owasp-llm-top-10", "OWASP Top 10 for LLM applications"
    MITRE_ATLAS = "mitre-atlas", "MITRE ATLAS"
    NIST_800_53 = "nist-800-53-rev5", "NIST SP 800-53 rev5"
    HYGIENE_BASELINE = "ai-hygiene-baseline", "AI minimum hygiene baseline"


class EngagementQuerySet(models.QuerySet["Engagement"]):
    def active(self) -> EngagementQuerySet:
        """Engagements whose access has not ended (nor been ended early by a lead)."""
        return self.filter(ends_at__gt=timezone.now(), ended_at__isnull=True)


class Engagement(models.Model):
    """A security lead opens one for an auditor: the period, frameworks and scope the auditor reads."""

    name = models.CharField(max_length=NAME_MAX)
    auditor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="engagements"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    frameworks = ArrayField(
        models.CharField(max_length=32, choices=Framework.choices), default=list, blank=True
    )
    teams = models.ManyToManyField("hygiene.Team", blank=True, related_name="engagements")
    environments = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    restricted_in_scope = models.BooleanField(default=False)
    ends_at = models.DateTimeField(help_text="The auditor's access through this engagement ends then.")
    ended_at = models.DateTimeField(null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="engagements_opened"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = EngagementQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="engagement_period_ordered"
            )
        ]
        indexes = [models.Index(fields=["auditor", "ends_at"], name="engagement_auditor_ends")]
        triggers = [audited()]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("audits:engagement", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.ended_at is None and self.ends_at > timezone.now()

    @property
    def access_end(self) -> object:
        return self.ended_at or self.ends_at

    def framework_labels(self) -> list[str]:
        labels = dict(Framework.choices)
        return [str(labels.get(value, value)) for value in self.frameworks]


class BundleStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class EvidenceBundle(models.Model):
    """A signed ZIP of an engagement's records, evidence and audit-log extract, built by a worker."""

    engagement = models.ForeignKey(Engagement, on_delete=models.PROTECT, related_name="bundles")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=BundleStatus.choices, default=BundleStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    step = models.CharField(max_length=120, blank=True)
    error = models.TextField(blank=True)
    file = models.FileField(upload_to="bundles/%Y/%m/", max_length=500, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    file_count = models.PositiveIntegerField(default=0)
    audit_head_seq = models.BigIntegerField(null=True, blank=True)
    audit_head_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Not trigger-audited: progress updates would flood the log; the services audit request,
        # build and download explicitly.
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Evidence bundle #{self.pk} of {self.engagement}"

    def get_absolute_url(self) -> str:
        return reverse("audits:bundle", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in (BundleStatus.DONE, BundleStatus.FAILED)

    @property
    def filename(self) -> str:
        return f"evidence-bundle-{self.engagement_id}-{self.pk}.zip"
