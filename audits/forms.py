"""Forms of the audits pages (input only; the services hold the rules)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from assets.models import Environment
from audits.models import NAME_MAX, Framework
from hygiene.models import Team


class EngagementForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX, help_text="E.g. “ISO 42001 surveillance audit 2026”.")
    auditor = forms.TypedChoiceField(coerce=int, choices=())
    period_start = forms.DateField(label="Period from", widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label="Period to", widget=forms.DateInput(attrs={"type": "date"}))
    frameworks = forms.MultipleChoiceField(
        choices=Framework.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every team.",
    )
    environments = forms.MultipleChoiceField(
        choices=Environment.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every environment.",
    )
    restricted_in_scope = forms.BooleanField(
        label="Restricted assets are in scope",
        required=False,
        help_text="The auditor then reads restricted assets and what derives from them; each read is logged.",
    )
    ends_at = forms.DateField(
        label="Access ends on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="At the start of that day the auditor's access through this engagement ends.",
    )

    def __init__(self, *args: Any, auditors: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["auditor"].choices = auditors  # type: ignore[attr-defined]
        if not self.is_bound:
            today = timezone.localdate()
            self.initial.setdefault("period_start", today.replace(month=1, day=1))
            self.initial.setdefault("period_end", today)
            self.initial.setdefault("ends_at", today + dt.timedelta(days=30))

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        tz = timezone.get_current_timezone()
        return {
            "name": data["name"],
            "auditor": get_user_model().objects.get(pk=data["auditor"]),
            "period_start": data["period_start"],
            "period_end": data["period_end"],
            "frameworks": data["frameworks"],
            "teams": list(data["teams"]),
            "environments": data["environments"],
            "restricted_in_scope": data["restricted_in_scope"],
            "ends_at": dt.datetime.combine(data["ends_at"], dt.time.min, tzinfo=tz),
        }


class VerifyForm(forms.Form):
    file = forms.FileField(label="Bundle (ZIP)", help_text="The evidence bundle as it was downloaded.")
