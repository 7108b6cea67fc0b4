from typing import Any

from django.core.management.base import BaseCommand

from hygiene.lib.embedded import stop_local_services


class Command(BaseCommand):
    help = "Stop the embedded PostgreSQL and Redis of this checkout (they start on demand)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["stop", "status"])

    def handle(self, *args: Any, **options: Any) -> None:
        import os

        if options["action"] == "stop":
            stop_local_services()
            self.stdout.write("Stopped.")
        else:
            self.stdout.write(f"DATABASE_URL={os.environ.get('DATABASE_URL', '')}")
            self.stdout.write(f"CELERY_BROKER_URL={os.environ.get('CELERY_BROKER_URL', '')}")
