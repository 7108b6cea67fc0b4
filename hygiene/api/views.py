from typing import Any

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from hygiene import selectors
from hygiene.api import serializers as s
from hygiene.lockout import LOCKED_MESSAGE, second_factor_failed, sign_in_locked
from hygiene.models import Team
from hygiene.permissions import is_auditor, is_security_lead, sees_all_teams
from hygiene.selectors import CHECKPOINT_HEADER, signed_checkpoint
from hygiene.services import mfa as mfa_services
from hygiene.services import notifications as notification_services
from hygiene.services import teams as team_services
from hygiene.services import tokens as token_services

# The viewsets have no queryset, so the schema is told the lookup types.
SLUG = OpenApiParameter("slug", str, OpenApiParameter.PATH, description="The team's slug.")
TOKEN_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The token's id.")


class TeamViewSet(viewsets.ViewSet):
    lookup_field = "slug"

    @extend_schema(responses=s.TeamSerializer(many=True))
    def list(self, request: Request) -> Response:
        teams = selectors.team_list_for_user(user=request.user)
        return Response(s.TeamSerializer(teams, many=True).data)

    @extend_schema(parameters=[SLUG], responses=s.TeamSerializer)
    def retrieve(self, request: Request, slug: str) -> Response:
        return Response(s.TeamSerializer(selectors.team_get_for_user(user=request.user, slug=slug)).data)

    @extend_schema(request=s.TeamInputSerializer, responses={201: s.TeamSerializer})
    def create(self, request: Request) -> Response:
        data = s.TeamInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        team = team_services.team_create(actor=request.user, **data.validated_data)
        return Response(s.TeamSerializer(team).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[SLUG], request=s.TeamInputSerializer, responses=s.TeamSerializer)
    def update(self, request: Request, slug: str) -> Response:
        team = selectors.team_get_for_user(user=request.user, slug=slug)
        data = s.TeamInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        team = team_services.team_update(actor=request.user, team=team, **data.validated_data)
        return Response(s.TeamSerializer(team).data)

    @extend_schema(parameters=[SLUG], responses=s.MembershipSerializer(many=True))
    @action(detail=True, methods=["get"])
    def members(self, request: Request, slug: str) -> Response:
        team = selectors.team_get_for_user(user=request.user, slug=slug)
        memberships = selectors.membership_list_for_team(user=request.user, team=team)
        return Response(s.MembershipSerializer(memberships, many=True).data)

    @extend_schema(
        parameters=[SLUG], request=s.MembershipInputSerializer, responses={201: s.MembershipSerializer}
    )
    @members.mapping.post
    def add_member(self, request: Request, slug: str) -> Response:
        team = selectors.team_get_for_user(user=request.user, slug=slug)
        data = s.MembershipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = team_services.membership_set(
            actor=request.user,
            team=team,
            user=data.validated_data["username"],
            role=data.validated_data["role"],
        )
        return Response(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


def _token_team(user: Any, slug: str | None) -> Team | None:
    if not slug:
        return None
    try:
        return selectors.team_get_for_user(user=user, slug=slug)
    except Http404 as exc:
        from rest_framework.exceptions import ValidationError

        raise ValidationError({"team": "No such team among yours."}) from exc


class TokenViewSet(viewsets.ViewSet):
    lookup_value_regex = "[0-9]+"  # a malformed id matches no route: 404, never a 500

    @extend_schema(responses=s.TokenSerializer(many=True))
    def list(self, request: Request) -> Response:
        return Response(s.TokenSerializer(selectors.token_list_for_user(user=request.user), many=True).data)

    @extend_schema(request=s.TokenInputSerializer, responses={201: s.TokenCreatedSerializer})
    def create(self, request: Request) -> Response:
        data = s.TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        token, clear = token_services.token_create(
            actor=request.user,
            name=values["name"],
            team=_token_team(request.user, values["team"]),
            actions=values["actions"],
            expires_at=values["expires_at"],
        )
        token.token = clear  # type: ignore[attr-defined]
        return Response(s.TokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[TOKEN_ID], request=None, responses=s.TokenSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        token = selectors.token_get_for_user(user=request.user, pk=int(pk))
        token = token_services.token_revoke(actor=request.user, token=token)
        return Response(s.TokenSerializer(token).data)


class ObtainTokenThrottle(AnonRateThrottle):
    rate = "30/minute"


class ObtainTokenView(APIView):
    """Exchange a username and password (and the second factor's code) for a token; lockout applies."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [ObtainTokenThrottle]

    @extend_schema(request=s.ObtainTokenInputSerializer, responses={201: s.TokenCreatedSerializer})
    def post(self, request: Request) -> Response:
        data = s.ObtainTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        user = authenticate(request._request, username=values["username"], password=values["password"])
        if user is None:
            return Response({"detail": "Wrong username or password, or the account is locked."}, status=401)
        if values["otp_token"] and sign_in_locked(request._request, user):
            return Response({"detail": LOCKED_MESSAGE}, status=429)
        try:
            mfa_services.token_issuance_check(user=user, code=values["otp_token"])
        except ValidationError:
            if values["otp_token"] and second_factor_failed(request._request, user):
                return Response({"detail": LOCKED_MESSAGE}, status=429)
            raise
        token, clear = token_services.token_create(
            actor=user,
            name=values["name"],
            team=_token_team(user, values["team"]),
            actions=values["actions"],
            expires_at=values["expires_at"],
        )
        token.token = clear  # type: ignore[attr-defined]
        return Response(s.TokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)


class AuditEntryViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit log, scoped like the objects it describes; responses carry the chain's signed anchor."""

    serializer_class = s.AuditEntrySerializer

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        checkpoint = signed_checkpoint() if response.status_code == 200 else None
        if checkpoint is not None:
            response[CHECKPOINT_HEADER] = checkpoint.signed()
        return response

    @extend_schema(responses={200: s.CheckpointSerializer, 404: None})
    @action(detail=False, methods=["get"])
    def checkpoint(self, request: Request) -> Response:
        """The newest signed anchor of the chain: give it to ``verify_audit_log --checkpoint`` later."""
        if not sees_all_teams(request.user):
            raise Http404("No audit log for you.")
        checkpoint = signed_checkpoint()
        if checkpoint is None:
            raise Http404("No checkpoint was written yet: nothing has been sealed.")
        data = {
            "seq": checkpoint.seq,
            "hash": checkpoint.hash,
            "at": checkpoint.at,
            "signed": checkpoint.signed(),
        }
        return Response(s.CheckpointSerializer(data).data)

    def get_queryset(self) -> Any:
        filters = {
            key: self.request.query_params.get(key, "")
            for key in ("actor", "action", "object_type", "object_id", "since", "until")
        }
        return selectors.audit_entry_list_for_user(user=self.request.user, filters=filters)


class NotificationViewSet(viewsets.ReadOnlyModelViewSet):
    """The signed-in person's own notifications; ``?unread=true`` lists the unread ones."""

    serializer_class = s.NotificationSerializer

    def get_queryset(self) -> Any:
        notes = selectors.notification_list_for_user(user=self.request.user)
        if self.request.query_params.get("unread") in ("1", "true"):
            notes = notes.filter(read_at__isnull=True)
        return notes

    @extend_schema(
        parameters=[OpenApiParameter("unread", bool, OpenApiParameter.QUERY, description="Only unread ones.")]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=s.NotificationReadSerializer, responses=s.NotificationReadResultSerializer)
    @action(detail=False, methods=["post"], url_path="mark-read")
    def mark_read(self, request: Request) -> Response:
        data = s.NotificationReadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        marked = notification_services.notification_mark_read(
            user=request.user, ids=data.validated_data.get("ids")
        )
        return Response({"marked": marked})


class MeView(APIView):
    @extend_schema(responses=s.MeSerializer)
    def get(self, request: Request) -> Response:
        memberships = selectors.membership_list_for_user(user=request.user)
        return Response(
            {
                "username": request.user.get_username(),
                "security_lead": is_security_lead(request.user),
                "auditor": is_auditor(request.user),
                "teams": [{"slug": m.team.slug, "role": m.role} for m in memberships],
            }
        )
