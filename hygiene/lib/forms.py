from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def add_validation_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form that caused it."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


class DateInput(forms.DateInput):
    """A browser date picker; its value is always ISO 8601, which is all ``<input type=date>`` accepts.

    Django would write the value in the language's format (``29/11/2026`` in en-gb), which the browser
    discards, leaving the field empty.
    """

    input_type = "date"

    def __init__(self, attrs: dict[str, str] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")
