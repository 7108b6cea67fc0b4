from django.apps import AppConfig


class HygieneConfig(AppConfig):
    name = "hygiene"
    verbose_name = "People, permissions and audit"

    def ready(self) -> None:
        from . import signals  # noqa: F401
