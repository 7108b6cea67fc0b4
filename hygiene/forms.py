import datetime as dt

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from hygiene.lib.forms import DateInput
from hygiene.models import TeamFunction, TeamRole, TokenAction


class TeamForm(forms.Form):
    name = forms.CharField(max_length=120)
    function = forms.ChoiceField(choices=TeamFunction.choices)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class MembershipForm(forms.Form):
    username = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        to_field_name="username",
        label="Person",
    )
    role = forms.ChoiceField(choices=TeamRole.choices)


class TokenForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="What uses it, e.g. “CI pipeline of model-serving”.")
    team = forms.ChoiceField(required=False, help_text="Limit the token to one team's objects.")
    actions = forms.MultipleChoiceField(
        choices=TokenAction.choices, widget=forms.CheckboxSelectMultiple, initial=[TokenAction.READ]
    )
    expires_on = forms.DateField(widget=DateInput(), help_text="One year at most.")

    def __init__(self, *args: object, teams: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["team"].choices = [("", "All my teams"), *teams]
        if not self.is_bound:
            self.initial["expires_on"] = (timezone.now() + dt.timedelta(days=90)).date()

    def expires_at(self) -> dt.datetime:
        day = self.cleaned_data["expires_on"]
        return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=dt.UTC)


class OtpTokenForm(forms.Form):
    otp_token = forms.CharField(
        label="Code from your authenticator app", max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )  # fmt: skip


class MfaEnrolForm(OtpTokenForm):
    # The secret travels signed in the form so that showing the page writes nothing.
    enrolment = forms.CharField(widget=forms.HiddenInput)


class MfaRemoveForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    otp_token = forms.CharField(
        label="Current code from your authenticator app", max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )  # fmt: skip


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False)
    action = forms.CharField(required=False)
    object_type = forms.CharField(required=False, label="Object type")
    object_id = forms.CharField(required=False, label="Object id")
    since = forms.DateField(required=False, widget=DateInput())
    until = forms.DateField(required=False, widget=DateInput())


class GuestForm(forms.Form):
    username = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        to_field_name="username",
        label="Person",
    )
