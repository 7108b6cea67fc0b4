from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_global_roles(sender: Any, **kwargs: Any) -> None:
    """Recreate the role groups after a flush (tests) as the data migration first did."""
    from django.contrib.auth.models import Group

    from hygiene.roles import GLOBAL_ROLES

    for name in GLOBAL_ROLES:
        Group.objects.using(kwargs.get("using", "default")).get_or_create(name=name)


def keep_audit_capture_unskippable(sender: Any, **kwargs: Any) -> None:
    """Re-apply what pgtrigger undoes when a migration installs a trigger (AUDIT_CAPTURE_NOT_IGNORABLE)."""
    from django.db import connections

    from hygiene.audit_triggers import AUDIT_CAPTURE_NOT_IGNORABLE

    with connections[kwargs.get("using", "default")].cursor() as cursor:
        cursor.execute(AUDIT_CAPTURE_NOT_IGNORABLE)


class HygieneConfig(AppConfig):
    name = "hygiene"
    verbose_name = "People, permissions and audit"

    def ready(self) -> None:
        from . import signals  # noqa: F401

        post_migrate.connect(ensure_global_roles, sender=self)
        post_migrate.connect(keep_audit_capture_unskippable, sender=self)
