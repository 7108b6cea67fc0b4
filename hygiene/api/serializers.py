from django.contrib.auth import get_user_model
from rest_framework import serializers

from hygiene.models import (
    ApiToken,
    AuditEntry,
    Membership,
    Notification,
    Team,
    TeamFunction,
    TeamRole,
    TokenAction,
)


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "slug", "function", "description", "created_at"]
        read_only_fields = fields


class TeamInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    function = serializers.ChoiceField(choices=TeamFunction.choices)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "created_at"]
        read_only_fields = fields


class MembershipInputSerializer(serializers.Serializer):
    username = serializers.SlugRelatedField(slug_field="username", queryset=get_user_model().objects.all())
    role = serializers.ChoiceField(choices=TeamRole.choices)


class TokenSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    owner = serializers.CharField(source="user.username", read_only=True)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            *("id", "name", "prefix", "owner", "team", "actions"),
            *("created_at", "expires_at", "revoked_at", "last_used_at", "status"),
        ]
        read_only_fields = fields


class TokenInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    team = serializers.SlugField(required=False, allow_null=True, default=None)
    actions = serializers.ListField(child=serializers.ChoiceField(choices=TokenAction.choices), min_length=1)
    expires_at = serializers.DateTimeField()


class TokenCreatedSerializer(TokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; only a hash is kept.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class ObtainTokenInputSerializer(TokenInputSerializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    otp_token = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=8,
        help_text="The current code of the account's authenticator app, if it has one or its role needs one.",
    )


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            *("id", "seq", "occurred_at", "actor_id", "actor_label", "action", "object_type", "object_id"),
            *("before", "after", "changes", "context", "prev_hash", "hash"),
        ]
        read_only_fields = fields


class CheckpointSerializer(serializers.Serializer):
    seq = serializers.IntegerField(help_text="The sequence number of the newest sealed entry.")
    hash = serializers.CharField(help_text="Its chained SHA-256.")
    at = serializers.CharField(help_text="When the checkpoint was written (ISO 8601).")
    signed = serializers.CharField(help_text="The signed checkpoint, for verify_audit_log --checkpoint.")


class MeTeamSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    role = serializers.ChoiceField(choices=TeamRole.choices)


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    security_lead = serializers.BooleanField()
    auditor = serializers.BooleanField()
    teams = MeTeamSerializer(many=True)


class NotificationSerializer(serializers.ModelSerializer):
    unread = serializers.BooleanField(source="is_unread", read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "created_at", "read_at", "unread"]
        read_only_fields = fields


class NotificationReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=1000,
        help_text="The notifications to mark read; leave out to mark every unread one.",
    )


class NotificationReadResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField()
