"""The controls API: the same selectors and services as the pages."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import FileResponse, Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assets.models import ClassificationLevel
from assets.selectors import asset_get_for_user
from controls import selectors
from controls.api import serializers as s
from controls.models import (
    Assessment,
    AssessmentStatus,
    Control,
    ControlOwnership,
    Domain,
    Framework,
    RiskException,
)
from controls.services import controls as control_services
from controls.services import exceptions as exception_services
from controls.services.evidence import evidence_add, served_content_type, too_large_message
from controls.services.ownership import ownership_set
from controls.uploads import evidence_max_bytes
from hygiene import selectors as hygiene_selectors
from hygiene.lib.uploads import BoundedUploadMixin
from hygiene.permissions import scope_queryset


class FrameworkViewSet(viewsets.GenericViewSet):
    serializer_class = s.FrameworkSerializer
    queryset = Framework.objects.none()
    lookup_field = "slug"

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.framework_list())
        return self.get_paginated_response(s.FrameworkSerializer(page, many=True).data)

    def retrieve(self, request: Request, slug: str) -> Response:
        return Response(s.FrameworkSerializer(selectors.framework_get(slug=slug)).data)

    @extend_schema(responses=s.RequirementSerializer(many=True))
    # Catalogs run to hundreds of requirements: paged (a GET here answered 500 while the viewset had no
    # paginator; found by tests/adversarial).
    @action(detail=True, methods=["get"], pagination_class=PageNumberPagination)
    def requirements(self, request: Request, slug: str) -> Response:
        """The framework's requirements in catalog order, with the codes of the controls mapped to each."""
        framework = selectors.framework_get(slug=slug)
        requirements = framework.requirements.select_related("parent").prefetch_related("mappings__control")
        page = self.paginate_queryset(requirements.order_by("position"))
        return self.get_paginated_response(s.RequirementSerializer(page, many=True).data)


def _control_values(data: dict[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in data.items() if k != "code"}
    if "min_classification" in values:
        slug = values.pop("min_classification")
        values["min_classification"] = ClassificationLevel.objects.filter(slug=slug).first() if slug else None
        if slug and values["min_classification"] is None:
            raise ApiValidationError({"min_classification": f"No classification level “{slug}”."})
    return values


class ControlViewSet(viewsets.GenericViewSet):
    serializer_class = s.ControlSerializer
    queryset = Control.objects.none()
    lookup_field = "code"
    lookup_value_regex = "[^/]+"

    @extend_schema(
        parameters=[
            OpenApiParameter("domain", str, enum=Domain.values),
            OpenApiParameter("mode", str, enum=["automated", "attested"]),
            OpenApiParameter("retired", bool, description="Only retired controls."),
        ]
    )
    def list(self, request: Request) -> Response:
        filters = {key: request.query_params.get(key, "") for key in ("domain", "mode", "q", "retired")}
        controls = selectors.control_list(filters=filters).prefetch_related(
            "mappings__requirement__framework"
        )
        page = self.paginate_queryset(controls)
        return self.get_paginated_response(s.ControlSerializer(page, many=True).data)

    def retrieve(self, request: Request, code: str) -> Response:
        return Response(s.ControlSerializer(selectors.control_get(code=code)).data)

    @extend_schema(request=s.ControlInputSerializer, responses={201: s.ControlSerializer})
    def create(self, request: Request) -> Response:
        """Add a control to the catalogue (security leads)."""
        data = s.ControlInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data.get("code"):
            raise ApiValidationError({"code": "Give the control's code."})
        control = control_services.control_create(
            actor=request.user, code=data.validated_data["code"], **_control_values(data.validated_data)
        )
        return Response(s.ControlSerializer(control).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ControlInputSerializer, responses=s.ControlSerializer)
    def partial_update(self, request: Request, code: str) -> Response:
        control = selectors.control_get(code=code)
        data = s.ControlInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = {k: v for k, v in data.validated_data.items() if k in request.data}
        control = control_services.control_update(
            actor=request.user, control=control, **_control_values(values)
        )
        return Response(s.ControlSerializer(control).data)

    @extend_schema(request=None, responses=s.ControlSerializer)
    @action(detail=True, methods=["post"])
    def retire(self, request: Request, code: str) -> Response:
        control = control_services.control_retire(
            actor=request.user, control=selectors.control_get(code=code)
        )
        return Response(s.ControlSerializer(control).data)

    @extend_schema(request=s.MappingInputSerializer, responses={201: s.MappingSerializer})
    @action(detail=True, methods=["post"])
    def mappings(self, request: Request, code: str) -> Response:
        """Map the control to a requirement of a loaded framework (security leads)."""
        control = selectors.control_get(code=code)
        data = s.MappingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        framework = selectors.framework_get(slug=data.validated_data["framework"])
        requirement = framework.requirements.filter(identifier=data.validated_data["requirement"]).first()
        if requirement is None:
            raise ApiValidationError({"requirement": "No such requirement in that framework."})
        mapping = control_services.mapping_add(actor=request.user, control=control, requirement=requirement)
        return Response(s.MappingSerializer(mapping).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"mappings/(?P<mapping_id>\d+)")
    def mapping_remove(self, request: Request, code: str, mapping_id: str) -> Response:
        control = selectors.control_get(code=code)
        mapping = control.mappings.filter(pk=int(mapping_id)).first()
        if mapping is None:
            raise Http404("No such mapping.")
        control_services.mapping_remove(actor=request.user, mapping=mapping)
        return Response(status=status.HTTP_204_NO_CONTENT)


ASSESSMENT_FILTERS = [
    OpenApiParameter("status", str, enum=AssessmentStatus.values),
    OpenApiParameter("control", str, description="Control code."),
    OpenApiParameter("framework", str, description="Framework slug: controls mapped to it."),
    OpenApiParameter(
        "requirement", str, description="With framework: controls mapped under this requirement."
    ),
    OpenApiParameter("domain", str, enum=Domain.values),
    OpenApiParameter("team", str, description="Team slug."),
    OpenApiParameter("asset", int),
    OpenApiParameter("overdue", bool),
]


class AssessmentViewSet(BoundedUploadMixin, viewsets.GenericViewSet):
    serializer_class = s.AssessmentSerializer
    lookup_value_regex = "[0-9]+"  # a malformed id matches no route: 404, never a 500
    queryset = Assessment.objects.none()
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def upload_max_bytes(self) -> int:
        return evidence_max_bytes()

    def upload_too_large_message(self) -> str:
        return too_large_message()

    @extend_schema(parameters=ASSESSMENT_FILTERS)
    def list(self, request: Request) -> Response:
        keys = ("status", "control", "framework", "requirement", "domain", "team", "asset")
        filters: dict[str, Any] = {key: request.query_params.get(key, "") for key in keys}
        filters["overdue"] = request.query_params.get("overdue", "").lower() in ("1", "true", "yes")
        page = self.paginate_queryset(selectors.assessment_list_for_user(user=request.user, filters=filters))
        return self.get_paginated_response(s.AssessmentSerializer(page, many=True).data)

    @extend_schema(responses=s.AssessmentDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        assessment = selectors.assessment_get_for_user(user=request.user, pk=int(pk))
        return Response(s.AssessmentDetailSerializer(assessment).data)

    @extend_schema(request=s.EvidenceInputSerializer, responses={201: s.EvidenceSerializer})
    @action(detail=True, methods=["post"])
    def evidence(self, request: Request, pk: str) -> Response:
        """Attach evidence (multipart for a file; JSON for a link or text); the assessment is re-run."""
        assessment = selectors.assessment_get_for_user(user=request.user, pk=int(pk))
        data = s.EvidenceInputSerializer(data=self.uploaded_data(request))  # streams the file in, bounded
        data.is_valid(raise_exception=True)
        values = data.validated_data
        evidence = evidence_add(
            actor=request.user,
            assessment=assessment,
            kind=values["kind"],
            title=values["title"],
            file=values.get("file"),
            url=values.get("url", ""),
            text=values.get("text", ""),
            collected_on=values.get("collected_on"),
            expires_on=values.get("expires_on"),
        )
        return Response(s.EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)


class EvidenceDownloadView(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request: Request, pk: int) -> FileResponse:
        """The evidence file as an attachment, never rendered."""
        evidence = selectors.evidence_get_for_user(user=request.user, pk=pk)
        if not evidence.file:
            raise Http404("This evidence is not a file.")
        response = FileResponse(
            evidence.file.open("rb"),
            as_attachment=True,
            filename=evidence.filename or "evidence",
            content_type=served_content_type(evidence),
        )
        response["X-Content-Type-Options"] = "nosniff"
        # As on the page: opened in a tab anyway, the file runs nothing and reaches nothing.
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


class ExceptionViewSet(viewsets.GenericViewSet):
    serializer_class = s.ExceptionSerializer
    lookup_value_regex = "[0-9]+"  # a malformed id matches no route: 404, never a 500
    queryset = RiskException.objects.none()

    @extend_schema(parameters=[OpenApiParameter("status", str), OpenApiParameter("team", str)])
    def list(self, request: Request) -> Response:
        filters = {key: request.query_params.get(key, "") for key in ("status", "team", "asset")}
        exceptions = selectors.exception_list_for_user(user=request.user, filters=filters).prefetch_related(
            "covered"
        )
        page = self.paginate_queryset(exceptions)
        return self.get_paginated_response(s.ExceptionSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(
            s.ExceptionSerializer(selectors.exception_get_for_user(user=request.user, pk=int(pk))).data
        )

    @extend_schema(request=s.ExceptionInputSerializer, responses={201: s.ExceptionSerializer})
    def create(self, request: Request) -> Response:
        """Request an exception for findings (one asset) or for a control on an asset."""
        data = s.ExceptionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        asset = control = None
        if not values["findings"]:
            asset = asset_get_for_user(user=request.user, pk=values["asset"])
            control = selectors.control_get(code=values["control"])
        exception = exception_services.exception_request(
            actor=request.user,
            title=values["title"],
            justification=values["justification"],
            compensating_controls=values["compensating_controls"],
            risk_rating=values["risk_rating"],
            expires_on=values["expires_on"],
            finding_ids=values["findings"],
            asset=asset,
            control=control,
        )
        return Response(s.ExceptionSerializer(exception).data, status=status.HTTP_201_CREATED)

    def _decide(self, request: Request, pk: str, verb: str) -> Response:
        exception = selectors.exception_get_for_user(user=request.user, pk=int(pk))
        data = s.DecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = data.validated_data["comment"]
        if verb == "approve":
            exception = exception_services.exception_approve(
                actor=request.user, exception=exception, comment=comment
            )
        elif verb == "reject":
            exception = exception_services.exception_reject(
                actor=request.user, exception=exception, comment=comment
            )
        else:
            exception = exception_services.exception_withdraw(actor=request.user, exception=exception)
        return Response(s.ExceptionSerializer(exception).data)

    @extend_schema(request=s.DecisionInputSerializer, responses=s.ExceptionSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        """Approve (a security lead, or the team's champion or lead; never the requester)."""
        return self._decide(request, pk, "approve")

    @extend_schema(request=s.DecisionInputSerializer, responses=s.ExceptionSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        """Reject with a comment (same people as approval)."""
        return self._decide(request, pk, "reject")

    @extend_schema(request=None, responses=s.ExceptionSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        return self._decide(request, pk, "withdraw")


class OwnershipViewSet(viewsets.GenericViewSet):
    serializer_class = s.OwnershipSerializer
    queryset = ControlOwnership.objects.none()

    @extend_schema(parameters=[OpenApiParameter("team", str), OpenApiParameter("control", str)])
    def list(self, request: Request) -> Response:
        ownerships = scope_queryset(ControlOwnership.objects.all(), request.user, team_field="team")
        if request.query_params.get("team"):
            ownerships = ownerships.filter(team__slug=request.query_params["team"])
        if request.query_params.get("control"):
            ownerships = ownerships.filter(control__code=request.query_params["control"])
        ownerships = ownerships.select_related("control", "team", "owner", "champion").order_by(
            "control__code", "team"
        )
        page = self.paginate_queryset(ownerships)
        return self.get_paginated_response(s.OwnershipSerializer(page, many=True).data)

    @extend_schema(request=s.OwnershipInputSerializer, responses=s.OwnershipSerializer)
    def create(self, request: Request) -> Response:
        """Name the owner (and champion) of a control in a team."""
        data = s.OwnershipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        team = hygiene_selectors.team_get_for_user(user=request.user, slug=values["team"])
        control = selectors.control_get(code=values["control"])
        users = get_user_model().objects
        owner = users.filter(username=values["owner"]).first()
        champion = users.filter(username=values["champion"]).first() if values["champion"] else None
        if owner is None or (values["champion"] and champion is None):
            raise ApiValidationError({"owner": "No such person."})
        ownership = ownership_set(
            actor=request.user, control=control, team=team, owner=owner, champion=champion
        )
        return Response(s.OwnershipSerializer(ownership).data)


class ComplianceView(APIView):
    @extend_schema(responses=s.ComplianceSerializer)
    def get(self, request: Request) -> Response:
        """Share passing per framework, domain and team, with the assessment list behind each number."""
        return Response(s.ComplianceSerializer(selectors.compliance_overview(user=request.user)).data)


class GapListView(APIView):
    @extend_schema(parameters=[OpenApiParameter("team", str)], responses=s.GapSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Controls that apply to a team and have no owner there."""
        slug = request.query_params.get("team", "")
        team = hygiene_selectors.team_get_for_user(user=request.user, slug=slug) if slug else None
        return Response(
            s.GapSerializer(selectors.gaps_for_user(user=request.user, team=team), many=True).data
        )
