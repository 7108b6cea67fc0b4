"""``make run``: migrate, seed the control baseline, load demo data once, serve with a worker and beat.

Ctrl-C, SIGTERM and SIGHUP (a closed terminal) all stop the same way: the server, worker and beat,
then the embedded PostgreSQL and Redis. If ``make`` itself is killed, this process is told too.
"""

import contextlib
import ctypes
import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from hygiene.lib.embedded import DATA_DIR, embedded_in_use, stop_local_services

PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _die_with_parent() -> None:
    """Ask Linux to send SIGTERM when the parent process ends (no-op elsewhere)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _static_fingerprint() -> str:
    """Names, sizes and times of every static source file: collecting again is needed when it changes."""
    from django.contrib.staticfiles.finders import get_finders

    digest = hashlib.sha256()
    for finder in get_finders():
        for path, storage in finder.list([]):
            info = os.stat(storage.path(path))
            digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class Command(BaseCommand):
    help = "Serve the app at http://127.0.0.1:8000 with a worker and beat; Ctrl-C stops everything."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        _die_with_parent()
        for signum in STOP_SIGNALS:
            signal.signal(signum, _interrupt)
        children: list[subprocess.Popen[bytes]] = []
        try:
            call_command("migrate", interactive=False, verbosity=0)
            call_command("seed_baseline")  # idempotent: frameworks and the hygiene baseline
            call_command("seed_demo")
            env = self._collect_static()
            children = self._start(options["addr"], env)
            children[-1].wait()
        except KeyboardInterrupt:
            pass
        finally:
            # A second Ctrl-C or signal must not cut the shutdown short.
            for signum in (signal.SIGINT, *STOP_SIGNALS):
                signal.signal(signum, signal.SIG_IGN)
            self._stop(children)

    def _collect_static(self) -> dict[str, str]:
        """Collect and compress the static files, and the environment that serves them so."""
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", ""),
            "HYGIENE_STATIC_COLLECTED": "1",
            # The product as people use it: styled error pages, no tracebacks (DEBUG=1 make run for those).
            "DEBUG": os.environ.get("DEBUG", "0"),
        }
        # The same folder the server's settings read (hygiene/settings/local.py).
        stamp = Path(os.environ.get("STATIC_ROOT") or DATA_DIR / "static") / ".hygiene-sources"
        fingerprint = _static_fingerprint()
        if not stamp.exists() or stamp.read_text() != fingerprint:
            command = [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"]
            subprocess.run(command, env=env, check=True)
            stamp.write_text(fingerprint)
        return env

    def _start(self, addr: str, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "hygiene"]
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        schedule = str(DATA_DIR / "celerybeat-schedule")
        commands = [
            [*celery, "worker", "--loglevel", "WARNING", "--concurrency", "2", "-Q", queue],
            [*celery, "beat", "--loglevel", "WARNING", "--schedule", schedule],
        ]
        children = [subprocess.Popen(command, env=env, preexec_fn=_die_with_parent) for command in commands]
        self._say(self.style.SUCCESS(f"hygiene is at http://{addr}/  (Ctrl-C stops everything)"))
        # --nostatic: WhiteNoise serves the collected files, compressed and cached, not runserver.
        server = [python, "manage.py", "runserver", "--noreload", "--nostatic", addr]
        children.append(subprocess.Popen(server, env=env, preexec_fn=_die_with_parent))
        return children

    def _stop(self, children: list[subprocess.Popen[bytes]]) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if embedded_in_use():
            stop_local_services()
            self._say("Stopped the embedded PostgreSQL and Redis.")

    def _say(self, text: str) -> None:
        # After SIGHUP the terminal is gone; writing to it must not stop the shutdown.
        with contextlib.suppress(OSError, ValueError):
            self.stdout.write(text)
