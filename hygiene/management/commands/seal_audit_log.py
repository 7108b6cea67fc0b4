from typing import Any

from django.core.management.base import BaseCommand

from hygiene.services.audit import audit_log_seal


class Command(BaseCommand):
    help = "Chain every audit entry not sealed yet onto the hash chain."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Sealed {audit_log_seal()} entries.")
