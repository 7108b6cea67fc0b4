"""Playwright driving the system Chromium, for tests of pages people click through."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# One lock for every test process of the machine: pytest-xdist's workers reach the browser fixture at
# about the same time, and two `apt-get install` at once fail on dpkg's lock.
INSTALL_LOCK = Path(tempfile.gettempdir()) / "hygiene-chromium-install.lock"


class ChromiumMissing(RuntimeError):
    pass


def ensure_chromium(
    chromium: Path = CHROMIUM, *, apt_get: str = "apt-get", lock: Path = INSTALL_LOCK
) -> None:
    """Install Debian's Chromium when it is missing (Playwright's own download cannot work here).

    The first process to get here installs it; the others wait on the lock and then find it there.
    """
    if chromium.exists():
        return
    if shutil.which(apt_get) is None or os.geteuid() != 0:
        raise ChromiumMissing("Chromium is missing: install it with `apt-get install -y chromium`.")
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        if chromium.exists():
            return
        # Wait for another apt (unattended upgrades) rather than fail on its lock.
        wait = ["-o", "DPkg::Lock::Timeout=600"]
        subprocess.run([apt_get, *wait, "update", "-qq"], check=True)
        subprocess.run(
            [apt_get, *wait, "install", "-y", "-qq", "chromium"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )


@pytest.fixture(scope="session")
def browser():
    try:
        ensure_chromium()
    except ChromiumMissing as exc:
        pytest.fail(str(exc))
    # Playwright's sync API runs an event loop in this thread; the test body still uses the ORM.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


if __name__ == "__main__":
    # `make test` runs this once before pytest starts its workers.
    try:
        ensure_chromium()
    except ChromiumMissing as exc:
        print(f"warning: {exc} The browser tests will fail.", file=sys.stderr)
