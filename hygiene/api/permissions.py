from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from hygiene.permissions import is_active_user, token_allows


class TokenActionPermission(BasePermission):
    """A token may only do the actions it was issued for; a view can name a narrower one."""

    message = "This token is not allowed to do that."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not is_active_user(request.user):
            return False
        required = getattr(view, "token_action", None) or (
            "read" if request.method in SAFE_METHODS else "write"
        )
        return token_allows(request.user, required)
