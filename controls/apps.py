from django.apps import AppConfig


class ControlsConfig(AppConfig):
    name = "controls"
    verbose_name = "Controls, ownership, evidence and exceptions"

    def ready(self) -> None:
        # The controls' parts of an audit engagement and their exportable lists.
        from controls import audit_sections, exports

        audit_sections.install()
        exports.install()
        # Their metrics' values in the metrics registry.
        from controls import metrics

        metrics.install()
