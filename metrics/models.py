"""Daily snapshots of the metrics, per team, environment and restricted or not.

Written only by the snapshot service (``metrics.services.snapshots``), which recomputes a day from the
data's own history, so any row can be deleted and computed again with the same result. Rows are split
by team, environment and whether the asset is restricted, so a viewer's numbers are the sum of the
rows the one permission path lets them see (``hygiene.permissions.scope_queryset``).

Durations are stored as histograms (``{"bucket": count}``, see ``metrics.calc.bucket``) rather than
as averages: medians, percentiles and survival estimates of several teams cannot be combined from
their own medians, but histograms simply add up.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class SnapshotKey(models.Model):
    day = models.DateField()
    team = models.ForeignKey("hygiene.Team", on_delete=models.CASCADE, related_name="+")
    environment = models.CharField(max_length=16)
    restricted = models.BooleanField()
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class FindingSnapshot(SnapshotKey):
    """The findings of one team, environment, restriction and severity at the end of one day."""

    severity = models.CharField(max_length=16)
    # State at the end of the day.
    open = models.PositiveIntegerField(default=0)
    open_past_sla = models.PositiveIntegerField(default=0)
    age_0_30 = models.PositiveIntegerField(default=0)
    age_31_90 = models.PositiveIntegerField(default=0)
    age_91_180 = models.PositiveIntegerField(default=0)
    age_181_365 = models.PositiveIntegerField(default=0)
    age_365_plus = models.PositiveIntegerField(default=0)
    # What happened during the day.
    new = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    patched = models.PositiveIntegerField(default=0)
    closed_unpatched = models.PositiveIntegerField(default=0)
    patched_in_sla = models.PositiveIntegerField(default=0)
    patched_late = models.PositiveIntegerField(default=0)
    patched_no_sla = models.PositiveIntegerField(default=0)
    detect_unknown = models.PositiveIntegerField(default=0)
    # Histograms of days: episodes patched today (time to patch), episodes closed unpatched today and
    # open at the end of the day (censored, for the survival estimate), new findings' time to detect
    # (first seen - advisory published; KEV: first seen - date added), exposure (patched - published).
    patch_days = models.JSONField(default=dict)
    censored_days = models.JSONField(default=dict)
    open_days = models.JSONField(default=dict)
    detect_days = models.JSONField(default=dict)
    kev_detect_days = models.JSONField(default=dict)
    exposure_days = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "team", "environment", "restricted", "severity"],
                name="finding_snapshot_unique",
            )
        ]
        indexes = [models.Index(fields=["day", "team"], name="finding_snapshot_day_team")]

    def __str__(self) -> str:
        return f"{self.day} {self.team_id}/{self.environment}/{self.severity}"


class CoverageSnapshot(SnapshotKey):
    """The active assets of one team, environment, restriction and kind at the end of one day."""

    kind = models.CharField(max_length=32)
    active = models.PositiveIntegerField(default=0)
    classified = models.PositiveIntegerField(default=0)
    scanned_7 = models.PositiveIntegerField(default=0)
    scanned_30 = models.PositiveIntegerField(default=0)
    # {check type: [assets scanned for it within 7 days, within 30 days]}
    checks = models.JSONField(default=dict)
    violations = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "team", "environment", "restricted", "kind"], name="coverage_snapshot_unique"
            )
        ]
        indexes = [models.Index(fields=["day", "team"], name="coverage_snapshot_day_team")]

    def __str__(self) -> str:
        return f"{self.day} {self.team_id}/{self.environment}/{self.kind}"


class FindingMonth(models.Model):
    """A month's flows (what happened in it), rolled up from its days by the snapshot service.

    The dashboards compare months; reading one row per group instead of thirty keeps them fast.
    Rewritten whenever a day of the month is computed, so it always equals the sum of its days.
    """

    month = models.DateField(help_text="The first day of the month.")
    team = models.ForeignKey("hygiene.Team", on_delete=models.CASCADE, related_name="+")
    environment = models.CharField(max_length=16)
    restricted = models.BooleanField()
    severity = models.CharField(max_length=16)
    new = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    patched = models.PositiveIntegerField(default=0)
    closed_unpatched = models.PositiveIntegerField(default=0)
    patched_in_sla = models.PositiveIntegerField(default=0)
    patched_late = models.PositiveIntegerField(default=0)
    patched_no_sla = models.PositiveIntegerField(default=0)
    detect_unknown = models.PositiveIntegerField(default=0)
    patch_days = models.JSONField(default=dict)
    censored_days = models.JSONField(default=dict)
    detect_days = models.JSONField(default=dict)
    kev_detect_days = models.JSONField(default=dict)
    exposure_days = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "team", "environment", "restricted", "severity"], name="finding_month_unique"
            )
        ]
        indexes = [models.Index(fields=["month", "team"], name="finding_month_month_team")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.team_id}/{self.environment}/{self.severity}"


class ControlSnapshot(models.Model):
    """The assessments of one control in one team, environment and restriction at the end of one day.

    Assessments keep no history (a run rewrites each one's status), so these rows are the history: a
    day's rows record the assessments as they stood when the day was computed while current or at its
    close, and are kept as written afterwards (``metrics.services.snapshots``); days before the first
    snapshot have none. Rows are per control, so compliance per framework (through the control's
    mappings), domain and team are sums of them.
    """

    day = models.DateField()
    team = models.ForeignKey("hygiene.Team", on_delete=models.CASCADE, related_name="+")
    # The asset's environment; None for team-level assessments (an environment filter leaves them out,
    # an audit engagement narrowed to environments keeps them, as for every object without one).
    environment = models.CharField(max_length=16, null=True, blank=True)  # noqa: DJ001 - see above
    restricted = models.BooleanField()
    control = models.ForeignKey("controls.Control", on_delete=models.CASCADE, related_name="+")
    passing = models.PositiveIntegerField(default=0)
    failing = models.PositiveIntegerField(default=0)
    not_assessed = models.PositiveIntegerField(default=0)
    excepted = models.PositiveIntegerField(default=0)
    applicable = models.GeneratedField(
        expression=models.F("passing")
        + models.F("failing")
        + models.F("not_assessed")
        + models.F("excepted"),
        output_field=models.PositiveIntegerField(),
        db_persist=True,
    )
    # The ownership share counts control x team pairs: each team's own row (no environment, not
    # restricted) of every control active that day carries 1 here, and 1 in ``owned`` if it had an owner.
    ownership_pairs = models.PositiveSmallIntegerField(default=0)
    owned = models.PositiveSmallIntegerField(default=0)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "team", "environment", "restricted", "control"],
                name="control_snapshot_unique",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["day", "team"], name="control_snapshot_day_team")]

    def __str__(self) -> str:
        return f"{self.day} {self.team_id}/{self.environment or 'team'}/{self.control_id}"
