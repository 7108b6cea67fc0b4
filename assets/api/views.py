"""Thin API views of the inventory: every read goes through the selectors, every write through services."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from assets import selectors
from assets.api import serializers as s
from assets.models import (
    Asset,
    AssetKind,
    ClassificationLevel,
    Environment,
    Lifecycle,
    LineageEdge,
    PolicyRule,
    PolicyViolation,
)
from assets.selectors import SORTS
from assets.services import (
    asset_create,
    asset_retire,
    asset_update,
    edge_add,
    edge_remove,
    level_create,
    level_update,
)
from hygiene import selectors as hygiene_selectors


class AssetFilter(django_filters.FilterSet):
    """The list page's filters; the selector applies them, inside the user's visibility."""

    q = django_filters.CharFilter(method="keep", help_text="Search names, identifiers and descriptions.")
    kind = django_filters.ChoiceFilter(choices=AssetKind.choices, method="keep")
    environment = django_filters.ChoiceFilter(choices=Environment.choices, method="keep")
    team = django_filters.CharFilter(method="keep", help_text="Team slug.")
    classification = django_filters.CharFilter(
        method="keep", help_text="Effective level slug, or 'unclassified'."
    )
    lifecycle = django_filters.ChoiceFilter(
        choices=[*Lifecycle.choices, ("all", "All")], method="keep", help_text="Default: active."
    )
    tag = django_filters.CharFilter(method="keep")
    sort = django_filters.ChoiceFilter(
        choices=[(key, key) for key in SORTS] + [(f"-{key}", f"-{key}") for key in SORTS], method="keep"
    )

    class Meta:
        model = Asset
        fields: list[str] = []

    def keep(self, queryset: QuerySet[Asset], name: str, value: Any) -> QuerySet[Asset]:
        return queryset

    def filter_queryset(self, queryset: QuerySet[Asset]) -> QuerySet[Asset]:
        filters = {key: str(value) for key, value in self.form.cleaned_data.items() if value}
        return selectors.asset_list_for_user(user=self.request.user, filters=filters)


class IntegerFilter(django_filters.NumberFilter):
    """An id: a whole number, or 400 naming the field (NumberFilter takes any decimal)."""

    field_class = forms.IntegerField


class ViolationFilter(django_filters.FilterSet):
    rule = django_filters.ChoiceFilter(choices=PolicyRule.choices, method="keep")
    team = django_filters.CharFilter(method="keep", help_text="Team slug.")
    asset = IntegerFilter(method="keep", help_text="Asset id.")

    class Meta:
        model = PolicyViolation
        fields: list[str] = []

    def keep(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        return queryset

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        filters = {key: str(value) for key, value in self.form.cleaned_data.items() if value}
        return selectors.violation_list_for_user(user=self.request.user, filters=filters)


def _team(user: Any, slug: str) -> Any:
    from django.http import Http404

    try:
        return hygiene_selectors.team_get_for_user(user=user, slug=slug)
    except Http404 as exc:
        raise ApiValidationError({"team": "No such team among yours."}) from exc


class AssetViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    lookup_value_regex = "[0-9]+"  # a malformed id matches no route: 404, never a 500
    serializer_class = s.AssetSerializer
    filterset_class = AssetFilter
    queryset = Asset.objects.none()  # the filterset asks the selector; this only names the model

    @extend_schema(responses=s.AssetDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        asset = selectors.asset_get_for_user(user=request.user, pk=int(pk))
        return self._detail(request, asset)

    def _detail(self, request: Request, asset: Asset, code: int = status.HTTP_200_OK) -> Response:
        source = selectors.effective_source_for_user(user=request.user, asset=asset)
        data = s.AssetDetailSerializer(asset, context={"effective_source": source}).data
        return Response(data, status=code)

    @extend_schema(request=s.AssetInputSerializer, responses={201: s.AssetDetailSerializer})
    def create(self, request: Request) -> Response:
        data = s.AssetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["team"] = _team(request.user, values["team"])
        asset = asset_create(actor=request.user, **values)
        return self._detail(request, asset, status.HTTP_201_CREATED)

    @extend_schema(request=s.AssetUpdateSerializer, responses=s.AssetDetailSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        asset = selectors.asset_get_for_user(user=request.user, pk=int(pk))
        data = s.AssetUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "team" in values:
            values["team"] = _team(request.user, values["team"])
        asset = asset_update(actor=request.user, asset=asset, **values)
        return self._detail(request, selectors.asset_get_for_user(user=request.user, pk=asset.pk))

    @extend_schema(request=s.AssetUpdateSerializer, responses=s.AssetDetailSerializer)
    def update(self, request: Request, pk: str) -> Response:
        return self.partial_update(request, pk)

    @extend_schema(request=None, responses=s.AssetDetailSerializer)
    @action(detail=True, methods=["post"])
    def retire(self, request: Request, pk: str) -> Response:
        asset = selectors.asset_get_for_user(user=request.user, pk=int(pk))
        return self._detail(request, asset_retire(actor=request.user, asset=asset))

    @extend_schema(responses=s.LineageGraphSerializer)
    @action(detail=True, methods=["get"])
    def lineage(self, request: Request, pk: str) -> Response:
        """The asset's lineage a few hops up and down; assets you may not see are left out."""
        asset = selectors.asset_get_for_user(user=request.user, pk=int(pk))
        graph = selectors.lineage_graph_for_user(user=request.user, asset=asset)
        return Response(s.LineageGraphSerializer(graph.as_json()).data)


class EdgeViewSet(viewsets.ViewSet):
    lookup_value_regex = "[0-9]+"  # a malformed id matches no route: 404, never a 500
    queryset = LineageEdge.objects.none()  # names the model for the schema; reads use the selectors

    @extend_schema(request=s.EdgeInputSerializer, responses={201: s.EdgeSerializer})
    def create(self, request: Request) -> Response:
        data = s.EdgeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        source = selectors.asset_get_for_user(user=request.user, pk=values["source"])
        target = selectors.asset_get_for_user(user=request.user, pk=values["target"])
        edge = edge_add(actor=request.user, source=source, target=target, kind=values["kind"])
        return Response(s.EdgeSerializer(edge).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.EdgeSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(s.EdgeSerializer(selectors.edge_get_for_user(user=request.user, pk=int(pk))).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        edge = selectors.edge_get_for_user(user=request.user, pk=int(pk))
        edge_remove(actor=request.user, edge=edge)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LevelViewSet(viewsets.ViewSet):
    lookup_value_regex = "[0-9]+"  # a malformed id matches no route: 404, never a 500
    queryset = ClassificationLevel.objects.none()  # names the model for the schema

    @extend_schema(responses=s.LevelSerializer(many=True))
    def list(self, request: Request) -> Response:
        return Response(s.LevelSerializer(selectors.level_list(), many=True).data)

    @extend_schema(responses=s.LevelSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(s.LevelSerializer(selectors.level_get(pk=int(pk))).data)

    @extend_schema(request=s.LevelInputSerializer, responses={201: s.LevelSerializer})
    def create(self, request: Request) -> Response:
        data = s.LevelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        level = level_create(actor=request.user, **data.validated_data)
        return Response(s.LevelSerializer(level).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.LevelInputSerializer, responses=s.LevelSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        level = selectors.level_get(pk=int(pk))
        data = s.LevelInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        level = level_update(actor=request.user, level=level, **data.validated_data)
        return Response(s.LevelSerializer(level).data)


class ViolationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    lookup_value_regex = "[0-9]+"  # a malformed id matches no route: 404, never a 500
    serializer_class = s.ViolationSerializer
    filterset_class = ViolationFilter
    queryset = PolicyViolation.objects.none()  # the filterset asks the selector
