"""Forms of the incident pages; they only parse and validate input, the services decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents.models import TITLE_MAX, Category, EscalationTarget, ExerciseKind, Severity, Status, StepRole
from incidents.services.incidents import TIME_LABELS
from incidents.services.playbooks import LevelSpec, StepSpec

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
PERIODS = [
    ("", "Any time"),
    ("7", "Last 7 days"),
    ("30", "Last 30 days"),
    ("90", "Last 90 days"),
    ("365", "Last 12 months"),
]


def _now_local() -> dt.datetime:
    return timezone.localtime().replace(second=0, microsecond=0, tzinfo=None)


class ReportForm(forms.Form):
    title = forms.CharField(max_length=TITLE_MAX, help_text="One line: what is wrong, where.")
    category = forms.ChoiceField(choices=Category.choices)
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MEDIUM)
    description = forms.CharField(
        label="What happened", widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    occurred_at = forms.DateTimeField(
        label="When it happened", widget=DATETIME_INPUT, help_text="Best estimate."
    )
    detected_at = forms.DateTimeField(label="When it was noticed", widget=DATETIME_INPUT)
    assets = forms.CharField(
        label="Affected assets",
        required=False,
        widget=forms.TextInput(attrs={"list": "asset-options", "autocomplete": "off"}),
        help_text="Names as in the inventory, separated by commas.",
    )
    team = forms.ChoiceField(label="Team")

    def __init__(self, *args: Any, teams: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = teams
        self.fields["team"].initial = teams[0][0] if teams else None
        if len(teams) == 1:
            self.fields["team"].widget = forms.HiddenInput()
        now = _now_local()
        self.fields["occurred_at"].initial = now
        self.fields["detected_at"].initial = now

    def asset_names(self) -> list[str]:
        raw = self.cleaned_data.get("assets") or ""
        return [name.strip() for name in raw.split(",") if name.strip()]


class FilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, widget=forms.TextInput(attrs={"type": "search"}))
    status = forms.ChoiceField(
        choices=[("", "Any status"), ("open", "Open"), *Status.choices], required=False
    )
    severity = forms.ChoiceField(choices=[("", "Any severity"), *Severity.choices], required=False)
    category = forms.ChoiceField(choices=[("", "Any category"), *Category.choices], required=False)
    team = forms.ChoiceField(required=False)
    period = forms.ChoiceField(label="Noticed", choices=PERIODS, required=False)
    # Exact dates the metrics' drill-downs use (a month's incidents), kept in the URL.
    since = forms.DateField(required=False, widget=forms.HiddenInput)
    until = forms.DateField(required=False, widget=forms.HiddenInput)
    escalated = forms.BooleanField(required=False, label="Escalated only")

    def __init__(self, *args: Any, teams: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "Any team"), *teams]

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        filters: dict[str, Any] = {
            key: data[key] for key in ("q", "severity", "category", "team") if data.get(key)
        }
        if data.get("status") == "open":
            filters["open"] = True
        elif data.get("status"):
            filters["status"] = data["status"]
        if data.get("since"):
            filters["since"] = data["since"]
        if data.get("until"):
            filters["until"] = data["until"]
        if data.get("period"):
            filters["since"] = timezone.localdate() - dt.timedelta(days=int(data["period"]))
        if data.get("escalated"):
            filters["escalated"] = True
        return filters


class TransitionForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices, widget=forms.HiddenInput())
    at = forms.DateTimeField(label="When", widget=DATETIME_INPUT, required=False, help_text="Empty: now.")
    note = forms.CharField(required=False, widget=forms.TextInput())
    commander = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Commander")

    def __init__(self, *args: Any, commanders: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["commander"].choices = [("", "Me"), *(commanders or [])]


class CommanderForm(forms.Form):
    commander = forms.TypedChoiceField(coerce=int, label="New commander")

    def __init__(self, *args: Any, commanders: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["commander"].choices = commanders


class CorrectTimeForm(forms.Form):
    field = forms.ChoiceField(label="Time", choices=list(TIME_LABELS.items()))
    value = forms.DateTimeField(label="Correct value", widget=DATETIME_INPUT)
    reason = forms.CharField(max_length=1000, widget=forms.TextInput())


class NoteForm(forms.Form):
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 2}))


class LinkFindingForm(forms.Form):
    finding = forms.IntegerField(label="Finding number", min_value=1)


class AddAssetsForm(forms.Form):
    assets = forms.CharField(
        label="Add affected assets",
        help_text="Names, separated by commas.",
    )


class StartPlaybookForm(forms.Form):
    playbook = forms.ChoiceField(label="Playbook")

    def __init__(self, *args: Any, playbooks: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["playbook"].choices = playbooks


class ReviewForm(forms.Form):
    root_cause = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    lessons = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    summary = forms.CharField(
        label="Summary for others",
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="Published anonymized: names of people, the team, assets and identifiers are replaced.",
    )
    kept_terms = forms.CharField(
        label="Keep these terms",
        required=False,
        help_text="Comma-separated names the summary may keep on purpose (e.g. a public vendor).",
    )

    def kept(self) -> list[str]:
        return [
            term.strip() for term in (self.cleaned_data.get("kept_terms") or "").split(",") if term.strip()
        ]


class FollowUpForm(forms.Form):
    title = forms.CharField(label="Action", max_length=TITLE_MAX)
    owner = forms.TypedChoiceField(coerce=int, label="Owner")
    due_on = forms.DateField(label="Due", widget=DATE_INPUT)

    def __init__(self, *args: Any, owners: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = owners


STEP_FORMAT = "minutes | role | title | guidance (optional)"
LEVEL_FORMAT = "minutes | champions, leads, commander, security_leads or person:username"


def parse_steps(text: str) -> list[StepSpec]:
    steps = []
    for number, line in enumerate((line for line in text.splitlines() if line.strip()), start=1):
        parts = [part.strip() for part in line.split("|")]
        if len(parts) < 3 or not parts[0].isdigit():
            raise ValidationError(f"Step {number}: write it as “{STEP_FORMAT}”.")
        if parts[1] not in StepRole.values:
            raise ValidationError(f"Step {number}: the role must be one of {', '.join(StepRole.values)}.")
        steps.append(
            StepSpec(
                title=parts[2], role=parts[1], target_minutes=int(parts[0]), guidance=" | ".join(parts[3:])
            )
        )
    return steps


def parse_levels(text: str) -> list[LevelSpec]:
    levels = []
    for number, line in enumerate((line for line in text.splitlines() if line.strip()), start=1):
        parts = [part.strip() for part in line.split("|")]
        if len(parts) != 2 or not parts[0].isdigit():
            raise ValidationError(f"Level {number}: write it as “{LEVEL_FORMAT}”.")
        target, _, person = parts[1].partition(":")
        if target not in EscalationTarget.values:
            raise ValidationError(
                f"Level {number}: whom to tell must be one of {', '.join(EscalationTarget.values)}."
            )
        levels.append(LevelSpec(target=target, after_minutes=int(parts[0]), person=person.strip()))
    return levels


def steps_as_text(version: Any) -> str:
    return "\n".join(
        f"{s.target_minutes} | {s.role} | {s.title}" + (f" | {s.guidance}" if s.guidance else "")
        for s in version.steps.all()
    )


def levels_as_text(version: Any) -> str:
    return "\n".join(
        f"{lv.after_minutes} | {lv.target}" + (f":{lv.person.get_username()}" if lv.person_id else "")
        for lv in version.escalation_levels.select_related("person")
    )


class PlaybookForm(forms.Form):
    title = forms.CharField(max_length=TITLE_MAX)
    categories = forms.MultipleChoiceField(choices=Category.choices, widget=forms.CheckboxSelectMultiple)
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    steps = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}), help_text=f"One per line: {STEP_FORMAT}."
    )
    levels = forms.CharField(
        label="Escalation path",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=f"One level per line: {LEVEL_FORMAT}. Minutes without acknowledgement or with a step"
        " overdue.",
    )
    change_note = forms.CharField(label="What changed", max_length=300, required=False)

    def clean_steps(self) -> list[StepSpec]:
        return parse_steps(self.cleaned_data["steps"])

    def clean_levels(self) -> list[LevelSpec]:
        return parse_levels(self.cleaned_data["levels"])


class ExerciseForm(forms.Form):
    team = forms.ChoiceField()
    playbook = forms.ChoiceField()
    kind = forms.ChoiceField(choices=ExerciseKind.choices)
    held_on = forms.DateField(label="Held on", widget=DATE_INPUT)
    scenario = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    participants = forms.CharField(required=False, help_text="Usernames, separated by commas.")
    gaps_found = forms.CharField(label="Gaps found", widget=forms.Textarea(attrs={"rows": 3}), required=False)
    followups = forms.CharField(
        label="Follow-ups",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="One per line: due date (YYYY-MM-DD) | owner username | action.",
    )

    def __init__(
        self, *args: Any, teams: list[tuple[str, str]], playbooks: list[tuple[str, str]], **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = teams
        self.fields["playbook"].choices = playbooks
        self.fields["held_on"].initial = timezone.localdate()

    def participant_names(self) -> list[str]:
        return [
            name.strip() for name in (self.cleaned_data.get("participants") or "").split(",") if name.strip()
        ]

    def clean_followups(self) -> list[tuple[dt.date, str, str]]:
        rows = []
        for number, line in enumerate(
            (ln for ln in self.cleaned_data["followups"].splitlines() if ln.strip()), 1
        ):
            parts = [part.strip() for part in line.split("|", 2)]
            try:
                due = dt.date.fromisoformat(parts[0])
            except ValueError:
                raise ValidationError(f"Follow-up {number}: start with the due date, YYYY-MM-DD.") from None
            if len(parts) != 3 or not parts[1] or not parts[2]:
                raise ValidationError(f"Follow-up {number}: write it as “due date | owner | action”.")
            rows.append((due, parts[1], parts[2]))
        return rows
