"""A fresh checkout on a fresh machine: `make test` installs the browser once, commands that need the
database prepare it, and `make run` stops everything however it is stopped."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FAKE_APT_GET = textwrap.dedent(
    """\
    #!/bin/sh
    # Behaves like apt-get towards dpkg's lock: a second install while one runs fails at once.
    state=$(dirname "$0")
    echo "$*" >> "$state/calls"
    case "$*" in
      *install*)
        mkdir "$state/dpkg.lock" 2>/dev/null || { echo "E: Could not get lock" >&2; exit 100; }
        sleep 1
        touch "$state/chromium"
        rmdir "$state/dpkg.lock"
        ;;
    esac
    """
)


@pytest.mark.skipif(os.geteuid() != 0, reason="installing Chromium needs root")
def test_test_workers_starting_together_install_chromium_once(tmp_path):
    apt_get = tmp_path / "apt-get"
    apt_get.write_text(FAKE_APT_GET)
    apt_get.chmod(0o755)
    script = (
        "from pathlib import Path; from tests.browser import ensure_chromium; "
        f"ensure_chromium(Path({str(tmp_path / 'chromium')!r}), apt_get={str(apt_get)!r}, "
        f"lock=Path({str(tmp_path / 'install.lock')!r}))"
    )

    workers = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT) for _ in range(3)]
    codes = [worker.wait(timeout=60) for worker in workers]

    assert codes == [0, 0, 0]
    calls = (tmp_path / "calls").read_text().splitlines()
    assert sum("install" in call for call in calls) == 1
    assert (tmp_path / "chromium").exists()


def test_make_test_installs_the_browser_before_pytest_starts_its_workers():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]

    steps = [line.strip() for line in recipe.splitlines() if line.startswith("\t")]
    assert steps[0] == "$(BIN)/python -m tests.browser"
    assert "-n 2" in steps[1]
