"""Container health check: GET /health/ as the TLS proxy would send it (an allowed host, HTTPS)."""

import os
import sys
import urllib.request

hosts = [host for host in os.environ.get("ALLOWED_HOSTS", "localhost").split(",") if host.strip()]
# A leading dot allows subdomains; any name under it is allowed, so ask for the bare domain.
host = (hosts[0] if hosts else "localhost").strip().lstrip(".").replace("*", "localhost") or "localhost"
port = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").rsplit(":", 1)[-1]
request = urllib.request.Request(
    f"http://127.0.0.1:{port}/health/",
    headers={"Host": host, "X-Forwarded-Proto": "https"},
)
try:
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - a fixed loopback URL
        sys.exit(0 if response.status == 200 else 1)
except OSError as error:
    print(f"health check failed: {error}", file=sys.stderr)
    sys.exit(1)
