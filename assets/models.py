"""The inventory: what a team runs, how sensitive its data is, and where that data flows.

Classification flows along lineage from upstream (``LineageEdge.source``) to downstream
(``LineageEdge.target``). ``Asset.effective_classification`` is stored, never computed on read: the
classification service recomputes it set-based whenever a level or an edge changes.
"""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from hygiene.audit_triggers import audited


class ClassificationLevel(models.Model):
    """An ordered data classification with its handling rules (editable by security leads)."""

    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    rank = models.PositiveIntegerField(unique=True, help_text="Higher means more sensitive.")
    description = models.TextField(blank=True)
    encryption_at_rest = models.BooleanField(default=False)
    encryption_in_transit = models.BooleanField(default=False)
    mfa_required = models.BooleanField(default=False)
    max_retention_days = models.PositiveIntegerField(null=True, blank=True)
    anonymization_required = models.BooleanField(default=False)
    access_granted_by = models.TextField(
        blank=True, help_text="Who may be granted access to data at this level."
    )
    # Restricted data is visible only to its team and to people granted it by name.
    is_restricted = models.BooleanField(default=False)

    class Meta:
        ordering = ["rank"]
        triggers = [audited()]

    def __str__(self) -> str:
        return self.name

    def handling_rules(self) -> list[tuple[str, str]]:
        """The rules as (label, value) pairs, for pages and exports."""
        yes_no = {True: "Required", False: "Not required"}
        retention = f"{self.max_retention_days} days" if self.max_retention_days else "No limit"
        return [
            ("Encryption at rest", yes_no[self.encryption_at_rest]),
            ("Encryption in transit", yes_no[self.encryption_in_transit]),
            ("MFA for access", yes_no[self.mfa_required]),
            ("Maximum retention", retention),
            ("Anonymization", yes_no[self.anonymization_required]),
            ("Access granted by", self.access_granted_by or "—"),
        ]


class AssetKind(models.TextChoices):
    MODEL = "model", "Model"
    DATASET = "dataset", "Dataset"
    PIPELINE = "pipeline", "Pipeline"
    NOTEBOOK = "notebook", "Notebook / workspace"
    ENDPOINT = "endpoint", "Endpoint / service"
    REPOSITORY = "repository", "Repository"
    CONTAINER_IMAGE = "container_image", "Container image"
    CLOUD_ACCOUNT = "cloud_account", "Cloud account"
    VENDOR = "vendor", "Vendor / third-party API"
    INFRASTRUCTURE = "infrastructure", "Infrastructure"


class Environment(models.TextChoices):
    DEVELOPMENT = "development", "Development"
    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"


class Criticality(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class Lifecycle(models.TextChoices):
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


# Limits of an asset's text fields; the forms, the API, the importers and the services check them first.
NAME_MAX = 200
IDENTIFIER_MAX = 500
TAG_MAX = 50


class AssetQuerySet(models.QuerySet["Asset"]):
    def active(self) -> AssetQuerySet:
        return self.filter(lifecycle=Lifecycle.ACTIVE)

    def datasets(self) -> AssetQuerySet:
        return self.filter(kind=AssetKind.DATASET)


class Asset(models.Model):
    team = models.ForeignKey("hygiene.Team", on_delete=models.PROTECT, related_name="assets")
    name = models.CharField(max_length=NAME_MAX)
    kind = models.CharField(max_length=32, choices=AssetKind.choices)
    environment = models.CharField(
        max_length=16, choices=Environment.choices, default=Environment.DEVELOPMENT
    )
    technical_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_assets",
    )
    criticality = models.CharField(max_length=16, choices=Criticality.choices, default=Criticality.MEDIUM)
    lifecycle = models.CharField(max_length=16, choices=Lifecycle.choices, default=Lifecycle.ACTIVE)
    # When it was retired; set and cleared by a database trigger (migration 0004) whichever path
    # changes the lifecycle, so the coverage metrics know which assets were active on any past day.
    retired_at = models.DateTimeField(null=True, blank=True)
    classification = models.ForeignKey(
        ClassificationLevel,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="declared_assets",
        help_text="The level declared for this asset; empty means unclassified.",
    )
    effective_classification = models.ForeignKey(
        ClassificationLevel, on_delete=models.PROTECT, null=True, blank=True, related_name="effective_assets"
    )
    # The upstream asset whose level won; null when the asset's own level is the effective one.
    effective_source = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    is_restricted = models.BooleanField(default=False)
    identifiers = ArrayField(models.CharField(max_length=IDENTIFIER_MAX), default=list, blank=True)
    tags = ArrayField(models.CharField(max_length=TAG_MAX), default=list, blank=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = AssetQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "kind", "name"], name="asset_unique_team_kind_name"),
        ]
        indexes = [
            models.Index(fields=["team", "lifecycle", "name"], name="asset_team_lifecycle_name"),
            models.Index(fields=["lifecycle", "name"], name="asset_lifecycle_name"),
            models.Index(fields=["kind", "name"], name="asset_kind_name"),
            models.Index(fields=["environment", "name"], name="asset_environment_name"),
            models.Index(fields=["updated_at"], name="asset_updated_at"),
            GinIndex(fields=["identifiers"], name="asset_identifiers_gin"),
            GinIndex(fields=["tags"], name="asset_tags_gin"),
        ]
        triggers = [audited()]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("assets:detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.lifecycle == Lifecycle.ACTIVE


class EdgeKind(models.TextChoices):
    TRAINED_ON = "trained_on", "trained on"
    DERIVED_FROM = "derived_from", "derived from"
    DEPLOYED_AS = "deployed_as", "deployed as"
    DEPENDS_ON = "depends_on", "depends on"
    HOSTED_ON = "hosted_on", "hosted on"
    CALLS = "calls", "calls"


# How an edge reads from the downstream side ("Model X was trained on dataset Y"); data always
# flows source -> target.
EDGE_DOWNSTREAM_PHRASE = {
    EdgeKind.TRAINED_ON: "was trained on",
    EdgeKind.DERIVED_FROM: "is derived from",
    EdgeKind.DEPLOYED_AS: "is a deployment of",
    EdgeKind.DEPENDS_ON: "depends on",
    EdgeKind.HOSTED_ON: "is hosted on",
    EdgeKind.CALLS: "is called by",
}


class LineageEdge(models.Model):
    """A directed flow of data from ``source`` (upstream) to ``target`` (downstream).

    Store the edge in the direction data flows, whatever the verb:
    - "model M trained_on dataset D"        -> source=D, target=M
    - "dataset D2 derived_from dataset D1"  -> source=D1, target=D2
    - "model M deployed_as endpoint E"      -> source=M, target=E
    - "service S depends_on service T"      -> source=T, target=S
    - "service S hosted_on infrastructure I" -> source=I, target=S
    - "endpoint E calls (sends data to) V"  -> source=E, target=V
    The target therefore inherits the source's classification.
    """

    source = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="downstream_edges")
    target = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="upstream_edges")
    kind = models.CharField(max_length=16, choices=EdgeKind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "kind"], name="lineage_unique_source_target_kind"
            ),
            models.CheckConstraint(condition=~Q(source=F("target")), name="lineage_no_self_loop"),
        ]
        indexes = [models.Index(fields=["target", "source"], name="lineage_target_source")]
        triggers = [audited()]

    def __str__(self) -> str:
        return f"{self.source} → {self.target} ({self.get_kind_display()})"

    @property
    def downstream_phrase(self) -> str:
        return EDGE_DOWNSTREAM_PHRASE[EdgeKind(self.kind)]


class DatasetProvenance(models.Model):
    dataset = models.OneToOneField(Asset, on_delete=models.CASCADE, related_name="provenance")
    source = models.CharField(max_length=300, help_text="Where the data came from.")
    collected_on = models.DateField(null=True, blank=True)
    purpose = models.TextField(blank=True)
    legal_basis = models.CharField(max_length=200, blank=True)
    contains_personal_data = models.BooleanField(default=False)
    anonymization_applied = models.BooleanField(default=False)
    retention_until = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "dataset provenance"
        indexes = [models.Index(fields=["retention_until"], name="provenance_retention_until")]
        triggers = [audited()]

    def __str__(self) -> str:
        return f"Provenance of {self.dataset}"


class TransformationLogEntry(models.Model):
    """One step applied to a dataset (cleaning, joining, anonymizing); append-only."""

    dataset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="transformations")
    occurred_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    description = models.TextField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "transformation log entries"
        indexes = [models.Index(fields=["dataset", "occurred_at"], name="transformation_dataset_time")]
        triggers = [
            audited(),
            pgtrigger.Protect(name="append_only_update", operation=pgtrigger.Update),
            pgtrigger.Protect(name="append_only_delete", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.dataset}: {self.description[:60]}"


class PolicyRule(models.TextChoices):
    ENVIRONMENT_SEGREGATION = "environment_segregation", "Environment segregation"
    WEAKER_HANDLING = "weaker_handling", "Weaker handling than the data"
    RETENTION_EXPIRED = "retention_expired", "Retention expired"
    UNCLASSIFIED = "unclassified", "Unclassified asset"


class CurrentViolationManager(models.Manager["PolicyViolation"]):
    def get_queryset(self) -> models.QuerySet[PolicyViolation]:
        return super().get_queryset().filter(resolved_at__isnull=True)


class PolicyViolation(models.Model):
    """A rule the lineage graph breaks or broke; computed, never edited.

    The policy service upserts what it finds and marks resolved (``resolved_at``) the rows it no
    longer finds, so the metrics can count violations on any past day. ``objects`` holds only the
    current ones (every list and count reads those); ``history`` holds all.
    """

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="violations")
    rule = models.CharField(max_length=32, choices=PolicyRule.choices)
    detail = models.TextField()
    related_asset = models.ForeignKey(
        Asset, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    detected_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = CurrentViolationManager()
    history = models.Manager()  # noqa: DJ012 - a second manager, not a field

    class Meta:
        ordering = ["-detected_at", "id"]
        base_manager_name = "history"
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "rule", "related_asset"],
                name="violation_unique_current_asset_rule_related",
                nulls_distinct=False,
                condition=Q(resolved_at__isnull=True),
            ),
        ]
        indexes = [models.Index(fields=["rule", "detected_at"], name="violation_rule_detected")]

    def __str__(self) -> str:
        return f"{self.get_rule_display()}: {self.asset}"


class AssetUserObjectPermission(UserObjectPermissionBase):
    """Grants of one asset to one person (restricted assets shared by name), joined by a real key.

    A direct foreign key lets the permission path match grants with an index instead of casting
    every asset id to text, which keeps the scoped inventory queries fast at scale.
    """

    content_object = models.ForeignKey(Asset, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        triggers = [audited()]


class AssetGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Asset, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        triggers = [audited()]
