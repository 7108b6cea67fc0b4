from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.urls import reverse
from django.utils import timezone

from hygiene.audit_triggers import audited


class TeamFunction(models.TextChoices):
    DATA_ENGINEERING = "data_engineering", "Data engineering"
    RESEARCH = "research", "Research"
    PLATFORM = "platform", "Platform"
    PRODUCT = "product", "Product"
    SECURITY = "security", "Security"
    OTHER = "other", "Other"


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    function = models.CharField(max_length=32, choices=TeamFunction.choices, default=TeamFunction.OTHER)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        triggers = [audited()]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("teams:detail", args=[self.slug])


class TeamRole(models.TextChoices):
    MEMBER = "member", "Member"
    CHAMPION = "champion", "Security champion"
    LEAD = "lead", "Team lead"


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=TeamRole.choices, default=TeamRole.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user")]
        indexes = [models.Index(fields=["user", "team"], name="membership_user_team")]
        triggers = [audited()]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.get_role_display()})"

    @property
    def can_manage_team_objects(self) -> bool:
        return self.role in (TeamRole.CHAMPION, TeamRole.LEAD)


class Profile(models.Model):
    """What Django's user lacks: when a time-boxed access (auditors) ends."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    access_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        triggers = [audited()]

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    @property
    def access_expired(self) -> bool:
        return self.access_expires_at is not None and self.access_expires_at <= timezone.now()


class TokenAction(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"
    PUSH_SCANS = "scans:push", "Push scans"


class ApiToken(models.Model):
    """A pipeline's credential: only a SHA-256 of the secret is kept, the clear text is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True, related_name="api_tokens")
    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64)
    actions = ArrayField(models.CharField(max_length=16, choices=TokenAction.choices), default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        triggers = [audited()]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "active"


class AuditEntry(models.Model):
    """One row of the append-only audit log.

    Row changes of governed tables are written by a database trigger (see audit_triggers), so no
    code path can skip them; sign-ins, exports and other events by services. ``seq``, ``prev_hash``
    and ``hash`` are filled by the sealing task, which chains every entry to the one before it.
    """

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=32, db_index=True)
    object_type = models.CharField(max_length=100, db_index=True)
    object_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    changes = models.JSONField(default=list, blank=True)
    context = models.JSONField(default=dict, blank=True)
    seq = models.BigIntegerField(null=True, blank=True, unique=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)
    # What the entry is about, for scoping the log like its objects: filled by a database trigger on
    # insert (audit_triggers.AUDIT_SCOPE_FUNCTION), not part of the chained digest.
    scope_team_id = models.BigIntegerField(null=True, blank=True, editable=False)
    scope_asset_id = models.BigIntegerField(null=True, blank=True, editable=False)
    scope_other_asset_id = models.BigIntegerField(null=True, blank=True, editable=False)
    # The incident an entry is about (its timeline, affected assets, review...): as visible as the incident.
    scope_incident_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["scope_asset_id"], name="audit_scope_asset"),
            models.Index(fields=["scope_team_id"], name="audit_scope_team"),
            models.Index(fields=["scope_incident_id"], name="audit_scope_incident"),
        ]
        # Append-only by plain triggers (audit_triggers.AUDIT_PROTECTION, migration 0006), not
        # pgtrigger's: those obey a session variable that lets any session switch them off.

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"


class Notification(models.Model):
    """A message to one person, shown in the app (unread count in the header) and sent by e-mail.

    Controls, incidents and exports all notify through ``hygiene.services.notifications``. Notifications
    are per-person bookkeeping, not governed objects, so they are not audited.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=48, help_text="What happened, e.g. exception_requested.")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True, help_text="A path inside the site.")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient_recent"),
            models.Index(
                fields=["recipient"], name="notification_unread", condition=models.Q(read_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.recipient}"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None
