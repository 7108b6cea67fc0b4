"""Input and output serializers of the incidents API; they validate shapes, the services decide."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.models import (
    Category,
    ChecklistItem,
    EscalationTarget,
    Exercise,
    ExerciseKind,
    FollowUp,
    Incident,
    Playbook,
    PlaybookVersion,
    Review,
    Severity,
    Status,
    StepRole,
    TimelineEntry,
)
from incidents.services.incidents import TIME_LABELS


class IncidentSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    team = serializers.CharField(source="team.slug", read_only=True)
    commander = serializers.CharField(source="commander.username", read_only=True, default=None)
    restricted = serializers.BooleanField(source="is_restricted", read_only=True)

    class Meta:
        model = Incident
        fields = [
            *(
                "id",
                "reference",
                "team",
                "title",
                "category",
                "severity",
                "status",
                "restricted",
                "commander",
            ),
            *("occurred_at", "detected_at", "reported_at", "acknowledged_at", "contained_at", "resolved_at"),
            *("closed_at", "escalation_level"),
        ]
        read_only_fields = fields


class TimelineEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = TimelineEntry
        fields = ["id", "kind", "at", "recorded_at", "actor_label", "text", "data"]
        read_only_fields = fields


class ChecklistItemSerializer(serializers.ModelSerializer):
    done_by = serializers.CharField(source="done_by.username", read_only=True, default=None)

    class Meta:
        model = ChecklistItem
        fields = ["id", "position", "title", "guidance", "role", "due_at", "done_at", "done_by"]
        read_only_fields = fields


class FollowUpSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    overdue = serializers.BooleanField(source="is_overdue", read_only=True)

    class Meta:
        model = FollowUp
        fields = ["id", "incident", "exercise", "title", "owner", "due_on", "done_at", "overdue"]
        read_only_fields = fields


class ReviewSerializer(serializers.ModelSerializer):
    class Meta:
        model = Review
        fields = ["root_cause", "lessons", "summary", "kept_terms", "published_summary", "published_at"]
        read_only_fields = fields


class DurationSerializer(serializers.Serializer):
    label = serializers.CharField()
    seconds = serializers.FloatField(allow_null=True)


class AssetRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class IncidentDetailSerializer(IncidentSerializer):
    description = serializers.CharField(read_only=True)
    assets = serializers.SerializerMethodField()
    hidden_assets = serializers.SerializerMethodField()
    highest_classification_rank = serializers.SerializerMethodField()
    findings = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()
    checklist = serializers.SerializerMethodField()
    playbook_version = serializers.SerializerMethodField()
    durations = serializers.SerializerMethodField()
    review = serializers.SerializerMethodField()
    followups = serializers.SerializerMethodField()

    class Meta(IncidentSerializer.Meta):
        fields = [
            *IncidentSerializer.Meta.fields,
            *(
                "description",
                "assets",
                "hidden_assets",
                "highest_classification_rank",
                "findings",
                "timeline",
            ),
            *("checklist", "playbook_version", "durations", "review", "followups"),
        ]
        read_only_fields = fields

    def _user(self) -> Any:
        return self.context["request"].user

    @extend_schema_field(AssetRefSerializer(many=True))
    def get_assets(self, incident: Incident) -> list[dict[str, Any]]:
        from incidents.selectors import affected_assets_for_user

        assets = affected_assets_for_user(user=self._user(), incident=incident)
        self._shown = len(assets)
        return [{"id": asset.pk, "name": asset.name} for asset in assets]

    def get_hidden_assets(self, incident: Incident) -> int:
        from incidents.selectors import hidden_asset_count

        return hidden_asset_count(user=self._user(), incident=incident, shown=getattr(self, "_shown", 0))

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_highest_classification_rank(self, incident: Incident) -> int | None:
        from incidents.selectors import highest_level

        level = highest_level(incident=incident)
        return level.rank if level else None

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_findings(self, incident: Incident) -> list[int]:
        from incidents.selectors import linked_findings_for_user

        return [link.finding_id for link in linked_findings_for_user(user=self._user(), incident=incident)]

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_timeline(self, incident: Incident) -> Any:
        from incidents.selectors import timeline_for_incident

        return TimelineEntrySerializer(timeline_for_incident(incident=incident), many=True).data

    @extend_schema_field(ChecklistItemSerializer(many=True))
    def get_checklist(self, incident: Incident) -> Any:
        from incidents.selectors import checklist_for_incident

        return ChecklistItemSerializer(checklist_for_incident(incident=incident), many=True).data

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_playbook_version(self, incident: Incident) -> str | None:
        run = getattr(incident, "run", None) if hasattr(incident, "run") else None
        return f"{run.version.playbook.slug}@{run.version.number}" if run else None

    @extend_schema_field(DurationSerializer(many=True))
    def get_durations(self, incident: Incident) -> list[dict[str, Any]]:
        from incidents.selectors import incident_durations

        return [
            {"label": label, "seconds": value.total_seconds() if value is not None else None}
            for label, value, _ in incident_durations(incident=incident).items()
        ]

    @extend_schema_field(ReviewSerializer(allow_null=True))
    def get_review(self, incident: Incident) -> Any:
        review = Review.objects.filter(incident=incident).first()
        return ReviewSerializer(review).data if review else None

    @extend_schema_field(FollowUpSerializer(many=True))
    def get_followups(self, incident: Incident) -> Any:
        from incidents.selectors import followups_for_incident

        return FollowUpSerializer(followups_for_incident(incident=incident), many=True).data


class ReportInputSerializer(serializers.Serializer):
    team = serializers.SlugField()
    title = serializers.CharField(max_length=200)
    category = serializers.ChoiceField(choices=Category.choices)
    severity = serializers.ChoiceField(choices=Severity.choices)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    occurred_at = serializers.DateTimeField()
    detected_at = serializers.DateTimeField()
    assets = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list)


class TransitionInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices)
    at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    commander = serializers.CharField(required=False, allow_blank=True, default="", help_text="Username.")


class CommanderInputSerializer(serializers.Serializer):
    commander = serializers.CharField(help_text="Username of a person of the incident's team.")


class CorrectTimeInputSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=list(TIME_LABELS.items()))
    value = serializers.DateTimeField()
    reason = serializers.CharField(max_length=1000)


class GrantInputSerializer(serializers.Serializer):
    username = serializers.CharField()
    revoke = serializers.BooleanField(default=False)


class NoteInputSerializer(serializers.Serializer):
    text = serializers.CharField()


class LinkFindingInputSerializer(serializers.Serializer):
    finding = serializers.IntegerField(min_value=1)


class AssetsInputSerializer(serializers.Serializer):
    assets = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1)


class StartPlaybookInputSerializer(serializers.Serializer):
    playbook = serializers.SlugField()


class StepDoneInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ReviewInputSerializer(serializers.Serializer):
    root_cause = serializers.CharField()
    lessons = serializers.CharField(required=False, allow_blank=True, default="")
    summary = serializers.CharField(required=False, allow_blank=True, default="")
    kept_terms = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list
    )


class PublishInputSerializer(serializers.Serializer):
    publish = serializers.BooleanField(default=True)


class FollowUpInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    owner = serializers.CharField(help_text="Username.")
    due_on = serializers.DateField()


class PlaybookStepSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    role = serializers.ChoiceField(choices=StepRole.choices)
    target_minutes = serializers.IntegerField(min_value=1)
    guidance = serializers.CharField(required=False, allow_blank=True, default="")


class EscalationLevelSerializer(serializers.Serializer):
    target = serializers.ChoiceField(choices=EscalationTarget.choices)
    after_minutes = serializers.IntegerField(min_value=1)
    person = serializers.CharField(required=False, allow_blank=True, default="", help_text="Username.")


class PlaybookVersionSerializer(serializers.ModelSerializer):
    steps = serializers.SerializerMethodField()
    escalation = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)

    class Meta:
        model = PlaybookVersion
        fields = ["number", "summary", "change_note", "created_by", "created_at", "steps", "escalation"]
        read_only_fields = fields

    @extend_schema_field(PlaybookStepSerializer(many=True))
    def get_steps(self, version: PlaybookVersion) -> list[dict[str, Any]]:
        return [
            {"title": s.title, "role": s.role, "target_minutes": s.target_minutes, "guidance": s.guidance}
            for s in version.steps.all()
        ]

    @extend_schema_field(EscalationLevelSerializer(many=True))
    def get_escalation(self, version: PlaybookVersion) -> list[dict[str, Any]]:
        return [
            {
                "target": lv.target,
                "after_minutes": lv.after_minutes,
                "person": lv.person.get_username() if lv.person else "",
            }
            for lv in version.escalation_levels.select_related("person")
        ]


class PlaybookSerializer(serializers.ModelSerializer):
    current_version = serializers.IntegerField(source="current_version.number", read_only=True, default=None)

    class Meta:
        model = Playbook
        fields = ["slug", "title", "categories", "current_version"]
        read_only_fields = fields


class PlaybookInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    categories = serializers.ListField(child=serializers.ChoiceField(choices=Category.choices), min_length=1)
    summary = serializers.CharField(required=False, allow_blank=True, default="")
    steps = PlaybookStepSerializer(many=True)
    escalation = EscalationLevelSerializer(many=True)
    change_note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class ExerciseSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.slug", read_only=True)
    playbook = serializers.CharField(source="playbook.slug", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    participants = serializers.SerializerMethodField()

    class Meta:
        model = Exercise
        fields = [
            "id",
            "team",
            "playbook",
            "version",
            "kind",
            "held_on",
            "scenario",
            "participants",
            "gaps_found",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_participants(self, exercise: Exercise) -> list[str]:
        return [user.get_username() for user in exercise.participants.order_by("username")]


class ExerciseInputSerializer(serializers.Serializer):
    team = serializers.SlugField()
    playbook = serializers.SlugField()
    kind = serializers.ChoiceField(choices=ExerciseKind.choices)
    held_on = serializers.DateField()
    scenario = serializers.CharField()
    participants = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    gaps_found = serializers.CharField(required=False, allow_blank=True, default="")


class LearningSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="incident.category", read_only=True)
    severity = serializers.CharField(source="incident.severity", read_only=True)
    summary = serializers.CharField(source="published_summary", read_only=True)

    class Meta:
        model = Review
        fields = ["id", "category", "severity", "summary", "published_at"]
        read_only_fields = fields
