from typing import Any

from django.contrib.auth.backends import ModelBackend


class ActiveAccessBackend(ModelBackend):
    """Django's backend, refusing people whose time-boxed access has ended."""

    def user_can_authenticate(self, user: Any) -> bool:
        if not super().user_can_authenticate(user):
            return False
        profile = getattr(user, "profile", None) if hasattr(user, "profile") else None
        return not (profile is not None and profile.access_expired)
