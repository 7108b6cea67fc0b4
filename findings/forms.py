"""Forms of the findings pages: list filters, bulk status changes, scan uploads and scan sources (input
only)."""

from __future__ import annotations

from typing import Any

from django import forms

from assets.models import AssetKind, Environment
from findings.importers import FORMATS
from findings.models import Category, FindingStatus, Severity, SourceKind
from findings.selectors import AGE_BANDS, DEFAULT_SORT

ANY = [("", "Any")]
SORT_CHOICES = [
    ("severity", "Severity (worst first)"),
    ("sla_due", "SLA due (soonest first)"),
    ("epss", "EPSS (most likely exploited first)"),
    ("newest", "First seen (newest first)"),
    ("oldest", "First seen (oldest first)"),
]
BULK_ACTIONS = [
    (FindingStatus.FALSE_POSITIVE.value, "Mark false positive"),
    (FindingStatus.OPEN.value, "Reopen"),
]


def format_choices() -> list[tuple[str, str]]:
    """(importer key, label) of every scan format, by key."""
    return sorted((name, str(getattr(module, "LABEL", name))) for name, module in FORMATS.items())


class DateInput(forms.DateInput):
    input_type = "date"


class FindingFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "CVE, rule, title or package"}),
    )
    severity = forms.ChoiceField(choices=ANY + Severity.choices, required=False)
    status = forms.ChoiceField(choices=ANY + FindingStatus.choices, required=False)
    category = forms.ChoiceField(choices=ANY + Category.choices, required=False)
    team = forms.ChoiceField(choices=ANY, required=False)
    asset = forms.CharField(
        required=False, max_length=200, help_text="Name or id", widget=forms.TextInput(attrs={"size": 14})
    )
    age = forms.ChoiceField(
        label="Age (days)", choices=ANY + [(band, band) for band in AGE_BANDS], required=False
    )
    environment = forms.ChoiceField(choices=ANY + Environment.choices, required=False)
    kind = forms.ChoiceField(label="Asset kind", choices=ANY + AssetKind.choices, required=False)
    scanner = forms.CharField(
        required=False,
        max_length=32,
        help_text="e.g. trivy, sarif:codeql",
        widget=forms.TextInput(attrs={"size": 12}),
    )
    found_from = forms.DateField(label="First seen from", required=False, widget=DateInput())
    found_to = forms.DateField(label="First seen until", required=False, widget=DateInput())
    patched_from = forms.DateField(label="Patched from", required=False, widget=DateInput())
    patched_to = forms.DateField(label="Patched until", required=False, widget=DateInput())
    open_on = forms.DateField(
        label="Open at end of",
        required=False,
        widget=DateInput(),
        help_text="Open on that day, whatever since",
    )
    past_sla = forms.BooleanField(label="Past SLA", required=False)
    kev = forms.BooleanField(label="Known exploited (KEV)", required=False)
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False, initial=DEFAULT_SORT)

    def __init__(self, *args: Any, teams: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = ANY + teams

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {"status": FindingStatus.OPEN}
        return {key: value for key, value in self.cleaned_data.items() if value}


class BulkStatusForm(forms.Form):
    action = forms.ChoiceField(label="Change to", choices=BULK_ACTIONS)
    reason = forms.CharField(
        max_length=1000, widget=forms.TextInput(attrs={"size": 40, "placeholder": "Why (kept in history)"})
    )
    finding = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any id is accepted here; the service checks each one against what the user may change.
        ids = self.data.getlist("finding") if hasattr(self.data, "getlist") else []
        self.fields["finding"].choices = [(pk, pk) for pk in ids if str(pk).isdigit()]
        self.fields["finding"].error_messages["required"] = "Select at least one finding."
        self.fields["finding"].error_messages["invalid_choice"] = "That finding does not exist."


class ScanSourceForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=SourceKind.choices, widget=forms.RadioSelect, initial=SourceKind.FOLDER)
    location = forms.CharField(
        max_length=1000,
        help_text="The team's drop folder (or a folder inside it, or one a security lead granted to the "
        "team), or an http(s) URL on the allowed hosts.",
        widget=forms.TextInput(attrs={"size": 60}),
    )
    team = forms.ChoiceField(choices=())
    asset = forms.TypedChoiceField(
        coerce=int,
        empty_value=None,
        required=False,
        choices=(),
        help_text="Empty: each file is matched to an asset by the image, repository or package it reports.",
    )
    format = forms.ChoiceField(required=False, choices=(), help_text="Empty: detect from each file.")
    interval_minutes = forms.IntegerField(
        label="Pull every (minutes)", min_value=5, max_value=7 * 24 * 60, initial=60
    )
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(
        self,
        *args: Any,
        teams: list[tuple[str, str]],
        assets: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = teams
        self.fields["asset"].choices = [("", "Match by identifiers"), *assets]
        self.fields["format"].choices = [("", "Detect automatically"), *format_choices()]


class ScanUploadForm(forms.Form):
    file = forms.FileField(
        label="Scan file", help_text="The scanner's report as it wrote it (JSON, SARIF...)."
    )
    asset = forms.CharField(
        label="Asset",
        required=False,
        max_length=200,
        help_text="Its name. Leave empty to match it by the image, repository or package the scan names.",
        widget=forms.TextInput(attrs={"list": "asset-options", "autocomplete": "off"}),
    )
    team = forms.ChoiceField(label="Team", required=False, help_text="Needed only when the asset is empty.")
    format = forms.ChoiceField(
        label="Format", required=False, help_text="Leave on “detect” unless it guesses wrong."
    )

    def __init__(self, *args: Any, teams: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "—"), *teams]  # type: ignore[attr-defined]
        self.fields["format"].choices = [("", "Detect from the file"), *format_choices()]  # type: ignore[attr-defined]


class FolderGrantForm(forms.Form):
    team = forms.ChoiceField(choices=(), help_text="The team whose folder sources may read the folder.")
    path = forms.CharField(
        max_length=1000,
        label="Folder",
        help_text="An absolute path inside a drop root, e.g. a folder that several teams' CI writes to.",
        widget=forms.TextInput(attrs={"size": 60}),
    )

    def __init__(self, *args: Any, teams: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = teams  # type: ignore[attr-defined]
