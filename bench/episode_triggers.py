"""What keeping the findings' episodes costs an import: the same imports with the triggers on and off.

Run as ``.venv/bin/python bench/episode_triggers.py`` (``BENCH_FINDINGS`` sets the file size, default
50,000). In one database (``hygiene_bench_episodes``) it imports a Trivy file, then a re-import of it
with 10% of the findings gone and as many new (mitigations and new findings: the sightings and episode
writes), on one asset with the episode triggers enabled and on another with them disabled, alternating
which goes first, and prints the ratio of the times. ``bench/ingest.py`` measures the import itself.
The last line is one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._database import create_database, django_setup, drop_database  # noqa: E402

DB_NAME = "hygiene_bench_episodes"
FINDINGS = int(os.environ.get("BENCH_FINDINGS", "50000"))
TRIGGERS = [
    ("findings_findingsighting", "findings_episodes_sighting_insert"),
    ("findings_findingsighting", "findings_episodes_sighting_update"),
    ("findings_findingsighting", "findings_episodes_sighting_delete"),
    ("findings_finding", "findings_episodes_finding_insert"),
    ("findings_finding", "findings_episodes_finding_update"),
    ("findings_finding", "findings_episodes_finding_delete"),
]


def _triggers(enabled: bool) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table, name in TRIGGERS:
            cursor.execute(f"ALTER TABLE {table} {'ENABLE' if enabled else 'DISABLE'} TRIGGER {name}")


def _import(path: Path, asset) -> float:
    from findings.services import jobs

    job = jobs.job_create_from_path(actor=None, team=asset.team, asset=asset, path=str(path), enqueue=False)
    started = time.perf_counter()
    job = jobs.job_run(job_id=job.pk)
    elapsed = time.perf_counter() - started
    assert job is not None and job.status == "done", job and job.error
    return elapsed


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hygiene.settings.local")
    os.environ.setdefault("DEBUG", "0")
    work = Path(tempfile.mkdtemp(prefix="hygiene-bench-episodes-"))
    os.environ["MEDIA_ROOT"] = str(work / "media")
    django_setup(DB_NAME)
    from assets.models import Asset, AssetKind
    from bench.ingest import write_changed_trivy
    from bench.scan_samples import write_trivy
    from findings.models import FindingEpisode
    from hygiene.models import Team

    create_database(DB_NAME)
    try:
        team = Team.objects.create(name="Bench", slug="bench")
        trivy, changed = work / "trivy.json", work / "changed.json"
        write_trivy(trivy, FINDINGS)
        write_changed_trivy(trivy, changed)
        times: dict[bool, float] = {True: 0.0, False: 0.0}
        for round_ in range(2):
            for enabled in (True, False) if round_ == 0 else (False, True):
                asset = Asset.objects.create(
                    team=team, name=f"image-{round_}-{enabled}", kind=AssetKind.CONTAINER_IMAGE
                )
                _triggers(enabled)
                spent = _import(trivy, asset) + _import(changed, asset)
                times[enabled] += spent
                print(f"round {round_ + 1}, triggers {'on' if enabled else 'off'}: {spent:.2f} s", flush=True)
        _triggers(True)
        ratio = times[True] / times[False]
        episodes = FindingEpisode.objects.count()
        print(
            f"{FINDINGS} findings a file: imports take {ratio:.3f}x with the triggers ({episodes} episodes)"
        )
    finally:
        drop_database(DB_NAME)
    print(
        json.dumps(
            {
                "findings_per_file": FINDINGS,
                "with_triggers_s": round(times[True], 2),
                "without_triggers_s": round(times[False], 2),
                "ratio": round(ratio, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
