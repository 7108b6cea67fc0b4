from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "audits"
    verbose_name = "Audit engagements, evidence bundles and exports"

    def ready(self) -> None:
        # The built-in sections and export lists; controls and incidents register theirs in their ready().
        from . import exports, sections  # noqa: F401
