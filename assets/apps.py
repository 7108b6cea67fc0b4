import importlib
from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_default_levels(sender: Any, **kwargs: Any) -> None:
    """Recreate missing default levels after a flush (tests), never overwriting edited ones."""
    from assets.models import ClassificationLevel

    seeded = importlib.import_module("assets.migrations.0002_default_classification_levels")
    for level in seeded.DEFAULT_LEVELS:
        defaults = {key: value for key, value in level.items() if key != "slug"}
        ClassificationLevel.objects.using(kwargs.get("using", "default")).get_or_create(
            slug=level["slug"], defaults=defaults
        )


class AssetsConfig(AppConfig):
    name = "assets"
    verbose_name = "Asset inventory"

    def ready(self) -> None:
        post_migrate.connect(ensure_default_levels, sender=self)
