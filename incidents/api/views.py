"""The incidents API: the same selectors and services as the pages, so both behave the same."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from hygiene.models import Team
from hygiene.services.exports import export_stream
from incidents import selectors
from incidents.api import serializers as s
from incidents.models import Category, ChecklistItem, Exercise, FollowUp, Incident, Playbook, Severity, Status
from incidents.services import (
    checklist_item_complete,
    exercise_record,
    followup_add,
    followup_complete,
    incident_add_assets,
    incident_add_note,
    incident_correct_time,
    incident_grant,
    incident_link_finding,
    incident_report,
    incident_set_commander,
    incident_transition,
    playbook_create,
    playbook_revise,
    playbook_start,
    review_publish,
    review_save,
)
from incidents.services.playbooks import level_specs_from_rows, step_specs_from_rows

FILTER_PARAMETERS = [
    OpenApiParameter("q", str, description="Part of the title, or the reference (INC-12)."),
    OpenApiParameter("status", str, enum=Status.values, many=True),
    OpenApiParameter("open", bool, description="Only reported, acknowledged or contained incidents."),
    OpenApiParameter("severity", str, enum=Severity.values, many=True),
    OpenApiParameter("category", str, enum=Category.values, many=True),
    OpenApiParameter("team", str, description="Team slug."),
    OpenApiParameter("since", OpenApiTypes.DATE, description="Noticed on or after this day."),
    OpenApiParameter("until", OpenApiTypes.DATE, description="Noticed on or before this day."),
    OpenApiParameter("escalated", bool, description="Only incidents that escalated."),
]
ID = OpenApiParameter("id", int, OpenApiParameter.PATH)


def _filters(request: Request) -> dict[str, Any]:
    params = request.query_params
    filters: dict[str, Any] = {key: params.get(key, "") for key in ("q", "team", "since", "until")}
    for key in ("status", "severity", "category"):
        filters[key] = [v for value in params.getlist(key) for v in value.split(",") if v]
    for key in ("open", "escalated"):
        filters[key] = params.get(key, "").lower() in ("1", "true", "yes", "on")
    return filters


def _person(username: str) -> Any:
    if not username:
        return None
    person = get_user_model().objects.filter(username=username, is_active=True).first()
    if person is None:
        raise ValidationError({"commander": f"Nobody active is named “{username}”."})
    return person


class IncidentViewSet(viewsets.GenericViewSet):
    lookup_value_regex = "[0-9]+"  # a malformed id matches no route: 404, never a 500
    serializer_class = s.IncidentSerializer
    queryset = Incident.objects.none()  # names the model for the schema; reads use the selectors

    def _incident(self, pk: str) -> Incident:
        return selectors.incident_get_for_user(user=self.request.user, pk=int(pk))

    def _detail(self, incident: Incident, code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.incident_get_for_user(user=self.request.user, pk=incident.pk)
        return Response(
            s.IncidentDetailSerializer(fresh, context={"request": self.request}).data, status=code
        )

    @extend_schema(parameters=FILTER_PARAMETERS, responses=s.IncidentSerializer(many=True))
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(
            selectors.incident_list_for_user(user=request.user, filters=_filters(request))
        )
        return self.get_paginated_response(s.IncidentSerializer(page, many=True).data)

    @extend_schema(parameters=[ID], responses=s.IncidentDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return self._detail(self._incident(pk))

    @extend_schema(request=s.ReportInputSerializer, responses={201: s.IncidentDetailSerializer})
    def create(self, request: Request) -> Response:
        """Report an incident for one of your teams."""
        data = s.ReportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        from hygiene.selectors import team_list_for_user

        team = team_list_for_user(user=request.user).filter(slug=values["team"]).first()
        if team is None:
            raise ValidationError({"team": "No team you can see has this slug."})
        incident = incident_report(
            actor=request.user,
            team=Team.objects.get(pk=team.pk),
            title=values["title"],
            category=values["category"],
            severity=values["severity"],
            description=values["description"],
            occurred_at=values["occurred_at"],
            detected_at=values["detected_at"],
            asset_ids=values["assets"],
        )
        return self._detail(incident, status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("as", str, enum=["csv", "json"], description="Default: csv."),
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/json"): {"type": "array", "items": {"type": "object"}},
        },
    )
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request: Request) -> StreamingHttpResponse:
        """The list as CSV or JSON under the same filters and permissions (streamed, audited)."""
        wanted = request.query_params.get("as", "csv")
        if wanted not in ("csv", "json"):
            raise ValidationError({"as": "Choose csv or json."})
        # The one export path (the Exports page's and /api/v1/exports/incidents.csv's): same rows, audited.
        export = export_stream(
            user=request.user, key="incidents", export_format=wanted, params=request.query_params
        )
        response = StreamingHttpResponse(export.chunks, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response

    @extend_schema(parameters=[ID], request=s.TransitionInputSerializer, responses=s.IncidentDetailSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str) -> Response:
        """Move to the next status (acknowledging names the commander: you, or a person of the team)."""
        data = s.TransitionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        incident = incident_transition(
            actor=request.user,
            incident=self._incident(pk),
            status=v["status"],
            at=v["at"],
            note=v["note"],
            commander=_person(v["commander"]),
        )
        return self._detail(incident)

    @extend_schema(parameters=[ID], request=s.CommanderInputSerializer, responses=s.IncidentDetailSerializer)
    @action(detail=True, methods=["post"])
    def commander(self, request: Request, pk: str) -> Response:
        data = s.CommanderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        person = _person(data.validated_data["commander"])
        return self._detail(
            incident_set_commander(actor=request.user, incident=self._incident(pk), commander=person)
        )

    @extend_schema(
        parameters=[ID], request=s.CorrectTimeInputSerializer, responses=s.IncidentDetailSerializer
    )
    @action(detail=True, methods=["post"], url_path="correct-time")
    def correct_time(self, request: Request, pk: str) -> Response:
        """Correct a recorded time with a reason; the timeline keeps both values."""
        data = s.CorrectTimeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = incident_correct_time(
            actor=request.user, incident=self._incident(pk), **data.validated_data
        )
        return self._detail(incident)

    @extend_schema(parameters=[ID], request=s.GrantInputSerializer, responses={204: None})
    @action(detail=True, methods=["post"])
    def access(self, request: Request, pk: str) -> Response:
        """Share the incident with one person by name (revoke=true withdraws it)."""
        data = s.GrantInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        person = (
            get_user_model().objects.filter(username=data.validated_data["username"], is_active=True).first()
        )
        incident_grant(
            actor=request.user,
            incident=self._incident(pk),
            person=person,
            revoke=data.validated_data["revoke"],
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=[ID], request=s.NoteInputSerializer, responses={201: s.TimelineEntrySerializer})
    @action(detail=True, methods=["post"])
    def notes(self, request: Request, pk: str) -> Response:
        data = s.NoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = incident_add_note(
            actor=request.user, incident=self._incident(pk), text=data.validated_data["text"]
        )
        return Response(s.TimelineEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[ID], request=s.LinkFindingInputSerializer, responses=s.IncidentDetailSerializer
    )
    @action(detail=True, methods=["post"])
    def findings(self, request: Request, pk: str) -> Response:
        """Link a finding you can see."""
        data = s.LinkFindingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = self._incident(pk)
        incident_link_finding(
            actor=request.user, incident=incident, finding_id=data.validated_data["finding"]
        )
        return self._detail(incident)

    @extend_schema(parameters=[ID], request=s.AssetsInputSerializer, responses=s.IncidentDetailSerializer)
    @action(detail=True, methods=["post"])
    def assets(self, request: Request, pk: str) -> Response:
        data = s.AssetsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = incident_add_assets(
            actor=request.user, incident=self._incident(pk), asset_ids=data.validated_data["assets"]
        )
        return self._detail(incident)

    @extend_schema(
        parameters=[ID], request=s.StartPlaybookInputSerializer, responses=s.IncidentDetailSerializer
    )
    @action(detail=True, methods=["post"])
    def playbook(self, request: Request, pk: str) -> Response:
        """Start a playbook: its current version is pinned and becomes the checklist."""
        data = s.StartPlaybookInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = self._incident(pk)
        playbook = selectors.playbook_get(slug=data.validated_data["playbook"])
        playbook_start(actor=request.user, incident=incident, playbook=playbook)
        return self._detail(incident)

    @extend_schema(
        parameters=[ID, OpenApiParameter("item", int, OpenApiParameter.PATH)],
        request=s.StepDoneInputSerializer,
        responses=s.ChecklistItemSerializer,
    )
    @action(detail=True, methods=["post"], url_path=r"steps/(?P<item>\d+)/done")
    def step_done(self, request: Request, pk: str, item: str) -> Response:
        data = s.StepDoneInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = self._incident(pk)
        found = ChecklistItem.objects.filter(pk=int(item), run__incident=incident).first()
        if found is None:
            raise Http404("No such step on this incident.")
        done = checklist_item_complete(actor=request.user, item=found, note=data.validated_data["note"])
        return Response(s.ChecklistItemSerializer(done).data)

    @extend_schema(parameters=[ID], request=s.ReviewInputSerializer, responses=s.ReviewSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str) -> Response:
        """Write or update the post-incident review (once resolved)."""
        data = s.ReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = review_save(actor=request.user, incident=self._incident(pk), **data.validated_data)
        return Response(s.ReviewSerializer(review).data)

    @extend_schema(parameters=[ID], request=s.PublishInputSerializer, responses=s.ReviewSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str) -> Response:
        """Publish the anonymized summary to Learnings (or withdraw it with publish=false)."""
        data = s.PublishInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = review_publish(
            actor=request.user, incident=self._incident(pk), publish=data.validated_data["publish"]
        )
        return Response(s.ReviewSerializer(review).data)

    @extend_schema(parameters=[ID], request=s.FollowUpInputSerializer, responses={201: s.FollowUpSerializer})
    @action(detail=True, methods=["post"])
    def followups(self, request: Request, pk: str) -> Response:
        data = s.FollowUpInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        followup = followup_add(
            actor=request.user,
            incident=self._incident(pk),
            title=v["title"],
            owner=_owner(v["owner"]),
            due_on=v["due_on"],
        )
        return Response(s.FollowUpSerializer(followup).data, status=status.HTTP_201_CREATED)


def _owner(username: str) -> Any:
    owner = get_user_model().objects.filter(username=username, is_active=True).first()
    if owner is None:
        raise ValidationError({"owner": f"Nobody active is named “{username}”."})
    return owner


class FollowUpViewSet(viewsets.GenericViewSet):
    lookup_value_regex = "[0-9]+"  # a malformed id matches no route: 404, never a 500
    serializer_class = s.FollowUpSerializer
    queryset = FollowUp.objects.none()

    @extend_schema(responses=s.FollowUpSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None)  # one person's list: never paged
    def overdue(self, request: Request) -> Response:
        """Your own overdue follow-up actions."""
        rows = selectors.overdue_followups_for_owner(user=request.user)
        return Response(s.FollowUpSerializer(rows, many=True).data)

    @extend_schema(parameters=[ID], request=None, responses=s.FollowUpSerializer)
    @action(detail=True, methods=["post"])
    def done(self, request: Request, pk: str) -> Response:
        followup = selectors.followup_get_for_user(user=request.user, pk=int(pk))
        return Response(s.FollowUpSerializer(followup_complete(actor=request.user, followup=followup)).data)


SLUG = OpenApiParameter("slug", str, OpenApiParameter.PATH)


class PlaybookViewSet(viewsets.GenericViewSet):
    pagination_class = None  # the handful of playbooks, in one list
    serializer_class = s.PlaybookSerializer
    queryset = Playbook.objects.none()
    lookup_field = "slug"

    @extend_schema(responses=s.PlaybookSerializer(many=True))
    def list(self, request: Request) -> Response:
        return Response(s.PlaybookSerializer(selectors.playbook_list(), many=True).data)

    @extend_schema(
        parameters=[SLUG, OpenApiParameter("version", int, description="Default: the current version.")],
        responses=s.PlaybookVersionSerializer,
    )
    def retrieve(self, request: Request, slug: str) -> Response:
        playbook = selectors.playbook_get(slug=slug)
        number = request.query_params.get("version", "")
        version = selectors.playbook_version_get(
            playbook=playbook, number=int(number) if number.isdigit() else None
        )
        return Response({**s.PlaybookSerializer(playbook).data, **s.PlaybookVersionSerializer(version).data})

    @extend_schema(request=s.PlaybookInputSerializer, responses={201: s.PlaybookSerializer})
    def create(self, request: Request) -> Response:
        """A new playbook (security leads)."""
        data = s.PlaybookInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        playbook = playbook_create(
            actor=request.user,
            title=v["title"],
            categories=v["categories"],
            summary=v["summary"],
            steps=step_specs_from_rows(v["steps"]),
            levels=level_specs_from_rows(v["escalation"]),
        )
        return Response(s.PlaybookSerializer(playbook).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[SLUG], request=s.PlaybookInputSerializer, responses={201: s.PlaybookVersionSerializer}
    )
    @action(detail=True, methods=["post"])
    def versions(self, request: Request, slug: str) -> Response:
        """Write the next version (security leads); running checklists keep theirs."""
        playbook = selectors.playbook_get(slug=slug)
        data = s.PlaybookInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        version = playbook_revise(
            actor=request.user,
            playbook=playbook,
            summary=v["summary"],
            steps=step_specs_from_rows(v["steps"]),
            levels=level_specs_from_rows(v["escalation"]),
            change_note=v["change_note"] or "Revised",
            title=v["title"],
            categories=v["categories"],
        )
        return Response(s.PlaybookVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class ExerciseViewSet(viewsets.GenericViewSet):
    lookup_value_regex = "[0-9]+"  # a malformed id matches no route: 404, never a 500
    serializer_class = s.ExerciseSerializer
    queryset = Exercise.objects.none()

    @extend_schema(
        parameters=[
            OpenApiParameter("team", str),
            OpenApiParameter("playbook", str),
            OpenApiParameter("kind", str),
        ],
        responses=s.ExerciseSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        filters = {key: request.query_params.get(key, "") for key in ("team", "playbook", "kind")}
        page = self.paginate_queryset(selectors.exercise_list_for_user(user=request.user, filters=filters))
        return self.get_paginated_response(s.ExerciseSerializer(page, many=True).data)

    @extend_schema(parameters=[ID], responses=s.ExerciseSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(
            s.ExerciseSerializer(selectors.exercise_get_for_user(user=request.user, pk=int(pk))).data
        )

    @extend_schema(request=s.ExerciseInputSerializer, responses={201: s.ExerciseSerializer})
    def create(self, request: Request) -> Response:
        data = s.ExerciseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        from hygiene.selectors import team_list_for_user

        team = team_list_for_user(user=request.user).filter(slug=v["team"]).first()
        if team is None:
            raise ValidationError({"team": "No team you can see has this slug."})
        people = list(get_user_model().objects.filter(username__in=v["participants"], is_active=True))
        if len(people) != len(set(v["participants"])):
            raise ValidationError({"participants": "Some participants do not exist."})
        exercise = exercise_record(
            actor=request.user,
            team=Team.objects.get(pk=team.pk),
            playbook=selectors.playbook_get(slug=v["playbook"]),
            kind=v["kind"],
            held_on=v["held_on"],
            scenario=v["scenario"],
            participant_ids=[p.pk for p in people],
            gaps_found=v["gaps_found"],
        )
        return Response(s.ExerciseSerializer(exercise).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[ID], request=s.FollowUpInputSerializer, responses={201: s.FollowUpSerializer})
    @action(detail=True, methods=["post"])
    def followups(self, request: Request, pk: str) -> Response:
        """A follow-up action of the exercise (the team's champion or lead, or a security lead)."""
        data = s.FollowUpInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        exercise = selectors.exercise_get_for_user(user=request.user, pk=int(pk))
        followup = followup_add(
            actor=request.user,
            exercise=exercise,
            title=v["title"],
            owner=_owner(v["owner"]),
            due_on=v["due_on"],
        )
        return Response(s.FollowUpSerializer(followup).data, status=status.HTTP_201_CREATED)


class LearningViewSet(viewsets.GenericViewSet):
    serializer_class = s.LearningSerializer
    queryset = Incident.objects.none()

    @extend_schema(responses=s.LearningSerializer(many=True))
    def list(self, request: Request) -> Response:
        """Published anonymized summaries (everyone signed in)."""
        page = self.paginate_queryset(selectors.learning_list())
        return self.get_paginated_response(s.LearningSerializer(page, many=True).data)
