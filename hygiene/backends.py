from typing import Any

from django.contrib.auth.backends import ModelBackend

from hygiene.permissions import access_expired


class ActiveAccessBackend(ModelBackend):
    """Django's backend, refusing people whose time-boxed access has ended."""

    def user_can_authenticate(self, user: Any) -> bool:
        if not super().user_can_authenticate(user):
            return False
        return not access_expired(user)
