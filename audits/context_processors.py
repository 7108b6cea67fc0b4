from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def engagement(request: HttpRequest) -> dict[str, Any]:
    """The engagement the auditor works in (for the banner) and, lazily, what restricted data is hidden."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def hidden() -> Any:
        from audits.selectors import hidden_restricted_for_user

        return hidden_restricted_for_user(user=user)

    return {
        "current_engagement": getattr(request, "engagement", None),
        "restricted_hidden": SimpleLazyObject(hidden),
    }
