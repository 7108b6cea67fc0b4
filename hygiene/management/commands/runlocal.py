"""``make run``: migrate, seed the control baseline, load demo data once, serve with a worker and beat."""

import os
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from hygiene.lib.embedded import DATA_DIR, embedded_in_use, stop_local_services


class Command(BaseCommand):
    help = "Serve the app at http://127.0.0.1:8000 with a worker and beat; Ctrl-C stops everything."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_baseline")  # idempotent: frameworks and the hygiene baseline
        call_command("seed_demo")
        python = sys.executable
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "")}
        children = [
            subprocess.Popen(
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "hygiene",
                    "worker",
                    "--loglevel",
                    "WARNING",
                    "--concurrency",
                    "2",
                    "-Q",
                    settings.CELERY_TASK_DEFAULT_QUEUE,
                ],
                env=env,
            ),
            subprocess.Popen(
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "hygiene",
                    "beat",
                    "--loglevel",
                    "WARNING",
                    "--schedule",
                    str(DATA_DIR / "celerybeat-schedule"),
                ],
                env=env,
            ),
        ]
        self.stdout.write(
            self.style.SUCCESS(f"hygiene is at http://{options['addr']}/  (Ctrl-C stops everything)")
        )
        server = subprocess.Popen([python, "manage.py", "runserver", "--noreload", options["addr"]], env=env)
        children.append(server)
        try:
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
            if embedded_in_use():
                stop_local_services()
                self.stdout.write("Stopped the embedded PostgreSQL and Redis.")
