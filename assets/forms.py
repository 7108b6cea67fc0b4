"""Input validation of the inventory pages; the rules themselves live in the services."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from assets.models import (
    EDGE_DOWNSTREAM_PHRASE,
    NAME_MAX,
    AssetKind,
    ClassificationLevel,
    Criticality,
    EdgeKind,
    Environment,
    Lifecycle,
    PolicyRule,
)
from assets.selectors import UNCLASSIFIED, level_list
from hygiene.lib.forms import DateInput


class LevelChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} (rank {obj.rank})"


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class AssetForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX)
    team = forms.ChoiceField(help_text="The team that owns it; its members can change it.")
    kind = forms.ChoiceField(choices=AssetKind.choices)
    environment = forms.ChoiceField(choices=Environment.choices)
    classification = LevelChoiceField(
        queryset=ClassificationLevel.objects.none(),
        required=False,
        empty_label="Unclassified",
        help_text="The level of the data it holds itself; upstream data may raise it further. "
        "Lowering it needs the team's champion or lead, or a security lead.",
    )
    criticality = forms.ChoiceField(choices=Criticality.choices, initial=Criticality.MEDIUM)
    technical_owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        to_field_name="username",
        required=False,
        empty_label="Nobody yet",
    )
    identifiers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="One per line: image reference, repository URL, package URL (purl), model name. "
        "Scan results are matched to the asset by these.",
    )
    tags = forms.CharField(required=False, help_text="Separated by commas.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, teams: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = teams
        self.fields["classification"].queryset = level_list()  # type: ignore[attr-defined]

    def clean_identifiers(self) -> list[str]:
        return _lines(self.cleaned_data["identifiers"])

    def clean_tags(self) -> list[str]:
        return [tag.strip() for tag in self.cleaned_data["tags"].split(",") if tag.strip()]

    @staticmethod
    def initial_for(asset: Any) -> dict[str, Any]:
        return {
            "name": asset.name,
            "team": asset.team.slug,
            "kind": asset.kind,
            "environment": asset.environment,
            "classification": asset.classification_id,
            "criticality": asset.criticality,
            "technical_owner": asset.technical_owner.username if asset.technical_owner else None,
            "identifiers": "\n".join(asset.identifiers),
            "tags": ", ".join(asset.tags),
            "description": asset.description,
        }


class AssetFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", widget=forms.TextInput(attrs={"type": "search"}))
    kind = forms.ChoiceField(choices=[("", "Any kind"), *AssetKind.choices], required=False)
    environment = forms.ChoiceField(choices=[("", "Any environment"), *Environment.choices], required=False)
    team = forms.ChoiceField(required=False)
    classification = forms.ChoiceField(required=False, label="Effective classification")
    lifecycle = forms.ChoiceField(
        choices=[*Lifecycle.choices, ("all", "Active and retired")], required=False, initial="active"
    )
    tag = forms.CharField(required=False)
    unscanned = forms.ChoiceField(
        label="Not scanned in 30 days for", required=False, choices=[("", "—"), ("any", "Any check")]
    )
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, teams: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from findings.checks import CheckType

        self.fields["unscanned"].choices = [("", "—"), ("any", "Any check"), *CheckType.choices]
        self.fields["team"].choices = [("", "Any team"), *teams]
        self.fields["classification"].choices = [
            ("", "Any level"),
            *((level.slug, level.name) for level in level_list()),
            (UNCLASSIFIED, "Unclassified"),
        ]

    def filters(self) -> dict[str, str]:
        if not self.is_valid():
            return {}
        return {key: str(value) for key, value in self.cleaned_data.items() if value}


RELATION_CHOICES = [
    *((f"up:{kind}", f"This asset {EDGE_DOWNSTREAM_PHRASE[kind]} …") for kind in EdgeKind),
    *((f"down:{kind}", f"… {EDGE_DOWNSTREAM_PHRASE[kind]} this asset") for kind in EdgeKind),
]
_ASSET_REFERENCE = re.compile(r"\(#(\d+)\)\s*$")


class EdgeForm(forms.Form):
    relation = forms.ChoiceField(
        choices=RELATION_CHOICES,
        help_text="Data flows from the upstream asset to the downstream one, which inherits its level.",
    )
    other = forms.CharField(
        label="Other asset",
        max_length=300,
        widget=forms.TextInput(attrs={"list": "asset-options", "autocomplete": "off"}),
        help_text="Start typing a name and pick it from the list.",
    )

    def direction_and_kind(self) -> tuple[str, str]:
        direction, kind = self.cleaned_data["relation"].split(":", 1)
        return direction, kind

    def reference(self) -> tuple[int | None, str]:
        """The id picked from the list, or the typed name."""
        text = self.cleaned_data["other"].strip()
        match = _ASSET_REFERENCE.search(text)
        return (int(match.group(1)), "") if match else (None, text)


class ProvenanceForm(forms.Form):
    source = forms.CharField(max_length=300, help_text="Where the data came from: system, vendor, URL.")
    collected_on = forms.DateField(required=False, widget=DateInput())
    purpose = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    legal_basis = forms.CharField(max_length=200, required=False, help_text="E.g. contract, consent.")
    contains_personal_data = forms.BooleanField(required=False)
    anonymization_applied = forms.BooleanField(required=False)
    retention_until = forms.DateField(required=False, widget=DateInput())


class TransformationForm(forms.Form):
    description = forms.CharField(
        label="What was done", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


class LevelForm(forms.Form):
    name = forms.CharField(max_length=60)
    rank = forms.IntegerField(min_value=1, help_text="Higher means more sensitive.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    encryption_at_rest = forms.BooleanField(required=False)
    encryption_in_transit = forms.BooleanField(required=False)
    mfa_required = forms.BooleanField(required=False, label="MFA required for access")
    max_retention_days = forms.IntegerField(
        min_value=1, required=False, help_text="Empty means no limit.", label="Maximum retention (days)"
    )
    anonymization_required = forms.BooleanField(required=False)
    access_granted_by = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ViolationFilterForm(forms.Form):
    rule = forms.ChoiceField(choices=[("", "Any rule"), *PolicyRule.choices], required=False)
    team = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, teams: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "Any team"), *teams]

    def filters(self) -> dict[str, str]:
        if not self.is_valid():
            return {}
        return {key: str(value) for key, value in self.cleaned_data.items() if value}
