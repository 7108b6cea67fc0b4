"""Forms of the controls pages (input only; the services hold the rules)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from assets.models import AssetKind, ClassificationLevel, Environment
from controls.models import AssessmentStatus, Domain, EvidenceKind, ExceptionStatus, Mode, RiskRating, Scope
from controls.rules import RULE_CHOICES

ANY = [("", "Any")]


class AssessmentFilterForm(forms.Form):
    status = forms.ChoiceField(choices=ANY + AssessmentStatus.choices, required=False)
    domain = forms.ChoiceField(choices=ANY + Domain.choices, required=False)
    mode = forms.ChoiceField(choices=ANY + Mode.choices, required=False)
    team = forms.ChoiceField(choices=ANY, required=False)
    control = forms.CharField(required=False, max_length=30, widget=forms.TextInput(attrs={"size": 12}))
    framework = forms.CharField(required=False, max_length=60, widget=forms.HiddenInput)
    requirement = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    asset = forms.CharField(required=False, max_length=12, widget=forms.HiddenInput)
    # Set by the dashboards' drill-down links (the assets' environment; team-level ones have none).
    environment = forms.ChoiceField(
        choices=ANY + Environment.choices, required=False, widget=forms.HiddenInput
    )
    overdue = forms.BooleanField(label="Overdue only", required=False)

    def __init__(self, *args: Any, teams: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = ANY + teams

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        return {key: value for key, value in self.cleaned_data.items() if value}


class ControlForm(forms.Form):
    code = forms.CharField(max_length=30, help_text="Short and stable, e.g. HYG-OPS-06.")
    title = forms.CharField(max_length=200)
    objective = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    domain = forms.ChoiceField(choices=Domain.choices)
    mode = forms.ChoiceField(choices=Mode.choices)
    rule = forms.ChoiceField(
        choices=[("evidence", "Attested: evidence attached by a person"), *RULE_CHOICES],
        help_text="How it is assessed: an automated rule, or evidence for attested controls.",
    )
    scope = forms.ChoiceField(choices=Scope.choices)
    cadence_days = forms.IntegerField(min_value=1, max_value=3650, label="Cadence (days)")
    applies_to_kinds = forms.MultipleChoiceField(
        choices=AssetKind.choices, required=False, label="Asset kinds", help_text="None chosen: every kind."
    )
    applies_to_environments = forms.MultipleChoiceField(
        choices=Environment.choices, required=False, label="Environments", help_text="None chosen: all."
    )
    min_classification = forms.ModelChoiceField(
        queryset=ClassificationLevel.objects.order_by("rank"),
        required=False,
        label="Minimum classification",
        empty_label="Any, including unclassified",
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["code"]


class MappingForm(forms.Form):
    requirement = forms.CharField(
        max_length=100, label="Requirement", help_text="Its identifier, e.g. PR.AA-03, ac-2 or LLM01:2025."
    )
    framework = forms.ChoiceField(choices=[])

    def __init__(self, *args: Any, frameworks: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["framework"].choices = frameworks


class EvidenceForm(forms.Form):
    kind = forms.ChoiceField(
        choices=EvidenceKind.choices, widget=forms.RadioSelect, initial=EvidenceKind.TEXT
    )
    title = forms.CharField(max_length=200, help_text="What it shows, e.g. “Q3 restore drill report”.")
    file = forms.FileField(required=False)
    url = forms.URLField(required=False, max_length=1000, label="Link", assume_scheme="https")
    text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    collected_on = forms.DateField(
        label="Collected on", initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date"})
    )
    expires_on = forms.DateField(
        label="Expires on",
        required=False,
        help_text="Empty: it stays valid for the control's cadence.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class ExceptionRequestForm(forms.Form):
    title = forms.CharField(max_length=200, help_text="In a few words, what is accepted.")
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Why the risk is acceptable."
    )
    compensating_controls = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Compensating controls"
    )
    risk_rating = forms.ChoiceField(choices=RiskRating.choices, label="Risk rating")
    expires_on = forms.DateField(label="Expires on", widget=forms.DateInput(attrs={"type": "date"}))
    finding = forms.TypedMultipleChoiceField(coerce=int, required=False, widget=forms.MultipleHiddenInput)
    assessment = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any id is accepted here; the service checks each one against what the user may see.
        self.fields["finding"].valid_value = lambda value: True  # type: ignore[attr-defined]


class DecisionForm(forms.Form):
    comment = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="Required when rejecting."
    )


class ExceptionFilterForm(forms.Form):
    status = forms.ChoiceField(choices=ANY + ExceptionStatus.choices, required=False)
    team = forms.ChoiceField(choices=ANY, required=False)

    def __init__(self, *args: Any, teams: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = ANY + teams


class AssignForm(forms.Form):
    control = forms.IntegerField(widget=forms.HiddenInput)
    owner = forms.IntegerField()
