from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_seeded_playbooks(sender: Any, **kwargs: Any) -> None:
    """Recreate the seeded playbooks missing after a flush (tests); existing ones are left as they are."""
    from incidents.models import EscalationLevel, Playbook, PlaybookStep, PlaybookVersion
    from incidents.playbook_content import seed_playbooks

    using = kwargs.get("using", "default")
    if not Playbook.objects.using(using).exists():
        seed_playbooks(Playbook, PlaybookVersion, PlaybookStep, EscalationLevel)


class IncidentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        post_migrate.connect(ensure_seeded_playbooks, sender=self)
        # Incidents, their timelines, reviews, follow-ups and exercises in the auditors' app and the exports.
        from incidents.audits import install_exports, install_sections

        install_sections()
        install_exports()
        # Their metrics' values in the metrics registry.
        from incidents import metrics

        metrics.install()
