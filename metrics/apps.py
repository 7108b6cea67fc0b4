from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = "Metrics and dashboards"

    def ready(self) -> None:
        # The metric values of an engagement's period in the auditors' app.
        from django.apps import apps

        if apps.is_installed("audits"):
            from metrics import audit_sections

            audit_sections.install()
