"""Scan sources: drop folders and URLs that workers pull on a schedule into import jobs.

A folder source imports each new regular file once (files are tracked by SHA-256 against the source's
jobs), then moves it to ``processed/`` or ``failed/`` beside it. A URL source downloads through the
safe fetcher and imports the file when its content changed since the last pull. Every pull, including
one that found nothing or failed, is written to the audit log, which the source page shows.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import DurationField, ExpressionWrapper, F, Q
from django.utils import timezone

from assets.models import Asset
from findings.errors import FetchRefused, ImportFailed, SourcePullFailed
from findings.fetch import FetchPolicy, check_url, fetch_to_file
from findings.models import ImportJob, JobStatus, ScanSource, SourceKind
from findings.selectors import SOURCE_OBJECT_TYPE
from findings.services.folders import NOT_A_FOLDER, folder_for_team
from hygiene.models import Team
from hygiene.permissions import can_change, can_contribute
from hygiene.services.audit import audit_event

PROCESSED = "processed"
FAILED = "failed"
# Names of files still being written by the tools that drop them.
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".swp")
MAX_FILES_PER_PULL = 100
MIN_INTERVAL, MAX_INTERVAL = 5, 7 * 24 * 60
_PULL_LOCK_CLASS = 0x50554C4C  # "PULL"


@dataclass
class PullResult:
    source_id: int
    jobs: list[int] = field(default_factory=list)
    duplicates: int = 0
    failed_files: list[str] = field(default_factory=list)
    error: str = ""
    skipped: bool = False

    @property
    def summary(self) -> str:
        if self.skipped:
            return "Another pull of this source is running."
        if self.error:
            return self.error
        if not self.jobs and not self.duplicates and not self.failed_files:
            return "Nothing new."
        parts = [f"{len(self.jobs)} import{'s' if len(self.jobs) != 1 else ''} started"]
        if self.duplicates:
            parts.append(f"{self.duplicates} already imported")
        if self.failed_files:
            parts.append(f"{len(self.failed_files)} refused")
        return ", ".join(parts) + "."


# ---- validation --------------------------------------------------------------------------------


def _check_location(kind: str, location: str, team: Team) -> str:
    location = location.strip()
    if kind == SourceKind.FOLDER:
        return str(folder_for_team(team, location))
    if kind == SourceKind.URL:
        try:
            check_url(location, FetchPolicy.from_settings())
        except FetchRefused as exc:
            raise ValidationError({"location": str(exc)}) from None
        return location
    raise ValidationError({"kind": "Choose a folder or a URL."})


def _check_fields(*, team: Team, asset: Asset | None, format: str, interval_minutes: int) -> None:
    from findings.importers import FORMATS

    if asset is not None and asset.team_id != team.pk:
        raise ValidationError({"asset": f"{asset.name} does not belong to {team.name}."})
    if format and format not in FORMATS:
        raise ValidationError({"format": f"Unknown format “{format}”."})
    if not MIN_INTERVAL <= interval_minutes <= MAX_INTERVAL:
        raise ValidationError({"interval_minutes": f"Pull every {MIN_INTERVAL} to {MAX_INTERVAL} minutes."})


def _check_may_manage(actor: Any, team: Team, source: ScanSource | None = None) -> None:
    if actor is None:
        return
    if not can_change(actor, source or team, team_id=team.pk):
        raise PermissionDenied(
            "Only the team's champion or lead, or a security lead, manage its scan sources."
        )


# ---- create, change, delete ----------------------------------------------------------------------


@transaction.atomic
def source_create(
    *,
    actor: Any,
    team: Team,
    name: str,
    kind: str,
    location: str,
    asset: Asset | None = None,
    format: str = "",
    interval_minutes: int = 60,
    enabled: bool = True,
) -> ScanSource:
    """Add a folder or URL for workers to pull scan files from."""
    _check_may_manage(actor, team)
    _check_fields(team=team, asset=asset, format=format, interval_minutes=interval_minutes)
    source = ScanSource(
        team=team,
        asset=asset,
        name=name.strip(),
        kind=kind,
        location=_check_location(kind, location, team),
        format=format,
        interval_minutes=interval_minutes,
        enabled=enabled,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    source.full_clean()
    source.save()
    return source


@transaction.atomic
def source_update(
    *,
    actor: Any,
    source: ScanSource,
    name: str,
    kind: str,
    location: str,
    asset: Asset | None,
    format: str,
    interval_minutes: int,
    enabled: bool,
) -> ScanSource:
    """Change a source's settings (its team stays; it follows its asset when the asset moves)."""
    _check_may_manage(actor, source.team, source)
    _check_fields(team=source.team, asset=asset, format=format, interval_minutes=interval_minutes)
    source.name, source.kind, source.asset = name.strip(), kind, asset
    source.location = _check_location(kind, location, source.team)
    source.format, source.interval_minutes, source.enabled = format, interval_minutes, enabled
    source.full_clean()
    source.save(update_fields=["name", "kind", "location", "asset", "format", "interval_minutes", "enabled"])
    return source


@transaction.atomic
def source_delete(*, actor: Any, source: ScanSource) -> None:
    """Remove a source; its import jobs and findings stay."""
    _check_may_manage(actor, source.team, source)
    source.delete()


# ---- pulling -------------------------------------------------------------------------------------


def source_request_pull(*, actor: Any, source: ScanSource) -> None:
    """Ask a worker to pull ``source`` now (team members may; auditors may not)."""
    if not can_contribute(actor, team_id=source.team_id):
        raise PermissionDenied("Only members of the source's team can pull it.")
    from findings.tasks import pull_source

    source_id, actor_id = source.pk, actor.pk
    transaction.on_commit(lambda: pull_source.delay(source_id, actor_id))


def sources_claim_due(*, now: dt.datetime | None = None) -> list[int]:
    """Mark the enabled sources whose interval has passed as pulled now, and return their ids.

    Claiming by updating ``last_pulled_at`` first means a slow pull is never queued twice.
    """
    now = now or timezone.now()
    interval = ExpressionWrapper(
        F("interval_minutes") * dt.timedelta(minutes=1), output_field=DurationField()
    )
    due = ScanSource.objects.filter(enabled=True).alias(interval=interval)
    due = due.filter(Q(last_pulled_at__isnull=True) | Q(last_pulled_at__lte=now - F("interval")))
    with transaction.atomic():
        ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True))
        ScanSource.objects.filter(pk__in=ids).update(last_pulled_at=now)
    return ids


def source_pull(*, source_id: int, actor: Any = None) -> PullResult:
    """Pull one source (run by a worker): import what is new, record the pull."""
    result = PullResult(source_id=source_id)
    source = ScanSource.objects.select_related("team", "asset").filter(pk=source_id).first()
    if source is None:
        result.error = "The source no longer exists."
        return result
    with _pull_lock(source_id) as locked:
        if not locked:
            result.skipped = True
            return result
        try:
            if source.kind == SourceKind.FOLDER:
                _pull_folder(source, result)
            else:
                _pull_url(source, result)
        except SourcePullFailed as exc:
            result.error = str(exc)
        ScanSource.objects.filter(pk=source.pk).update(last_pulled_at=timezone.now())
    _log_pull(source, result, actor)
    return result


@contextmanager
def _pull_lock(source_id: int) -> Iterator[bool]:
    # A session-level lock: a pull spans several transactions (one per imported file).
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_PULL_LOCK_CLASS, source_id % 2**31])
        locked = bool(cursor.fetchone()[0])
    try:
        yield locked
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_PULL_LOCK_CLASS, source_id % 2**31])


def _log_pull(source: ScanSource, result: PullResult, actor: Any) -> None:
    audit_event(
        action="pull",
        object_type=SOURCE_OBJECT_TYPE,
        object_id=str(source.pk),
        actor_id=getattr(actor, "pk", None),
        actor_label=actor.get_username() if actor is not None else "scheduler",
        detail={
            "ok": not result.error,
            "summary": result.summary,
            "jobs": result.jobs,
            "duplicates": result.duplicates,
            "failed_files": result.failed_files[:20],
        },
    )


# ---- folders -------------------------------------------------------------------------------------


def pending_files(folder: Path, *, settle_seconds: float) -> list[Path]:
    """Regular files dropped in ``folder`` (not links, hidden or half-written ones), oldest first."""
    cutoff = time.time() - settle_seconds
    found: list[tuple[float, Path]] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(".") or entry.name.lower().endswith(PARTIAL_SUFFIXES):
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            mtime = entry.stat(follow_symlinks=False).st_mtime
            if mtime <= cutoff:
                found.append((mtime, Path(entry.path)))
    return [path for _, path in sorted(found)[:MAX_FILES_PER_PULL]]


def move_aside(path: Path, outcome: str) -> Path:
    """Move a handled file into ``processed/`` or ``failed/`` beside it, never over another file."""
    target_dir = path.parent / outcome
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
        target = target_dir / f"{path.stem}.{stamp}{path.suffix}"
    os.replace(path, target)
    return target


def _pull_folder(source: ScanSource, result: PullResult) -> None:
    # Checked again at every pull: the team may have changed (the source follows its asset), a grant
    # may have been withdrawn, or a folder swapped for a link.
    try:
        folder = folder_for_team(source.team, source.location)
    except ValidationError as exc:
        if exc.message_dict.get("location") == [NOT_A_FOLDER]:
            raise SourcePullFailed("The folder does not exist (any more).") from None
        raise SourcePullFailed(
            f"The folder is not {source.team.name}'s drop folder, inside it, or granted to the team"
            " (any more); edit the source or ask a security lead for a grant."
        ) from None
    settle = float(getattr(settings, "HYGIENE_SCAN_FOLDER_SETTLE_SECONDS", 10))
    for path in pending_files(folder, settle_seconds=settle):
        _import_dropped_file(source, path, result)


def _import_dropped_file(source: ScanSource, path: Path, result: PullResult) -> None:
    try:
        handle = _open_regular(path)
    except OSError:
        return  # gone or swapped for a link since the folder was listed; the next pull looks again
    with handle:
        digest, size = _sha256(handle)
        seen = ImportJob.objects.filter(source=source, sha256=digest).exclude(status=JobStatus.FAILED)
        if seen.exists():
            result.duplicates += 1
            move_aside(path, PROCESSED)
            return
        job = _create_job(source, handle, path.name, result, sha256=digest, size=size, enqueue=False)
    if job is None:
        move_aside(path, FAILED)
        return
    result.jobs.append(job.pk)
    job = _run_here(job)
    move_aside(path, PROCESSED if job.status == JobStatus.DONE else FAILED)
    if job.status == JobStatus.FAILED:
        result.failed_files.append(f"{path.name}: {job.error[:200]}")


def _open_regular(path: Path) -> IO[bytes]:
    """Open without following a link, and only a regular file (a drop folder is writable by others)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file")
    return os.fdopen(fd, "rb")


def _sha256(handle: IO[bytes]) -> tuple[str, int]:
    """The file's SHA-256 and size, read once: job_create takes both rather than reading it again."""
    digest = hashlib.sha256()
    size = 0
    while chunk := handle.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    handle.seek(0)
    return digest.hexdigest(), size


def _create_job(
    source: ScanSource,
    handle: IO[bytes],
    filename: str,
    result: PullResult,
    *,
    sha256: str,
    size: int,
    enqueue: bool = True,
) -> ImportJob | None:
    from findings.services.jobs import job_create

    try:
        return job_create(
            actor=None,
            team=source.team,
            file=handle,
            filename=filename,
            asset=source.asset,
            requested_format=source.format,
            source=source,
            sha256=sha256,
            size=size,
            enqueue=enqueue,
        )
    except (ImportFailed, ValidationError, PermissionDenied) as exc:
        message = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
        result.failed_files.append(f"{filename}: {message[:200]}")
        return None


def _run_here(job: ImportJob) -> ImportJob:
    """Import the job in this worker: the file can only be moved aside once its import is over."""
    from findings.services.jobs import job_run

    job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


# ---- URLs ----------------------------------------------------------------------------------------


def _pull_url(source: ScanSource, result: PullResult) -> None:
    with tempfile.TemporaryFile() as spool:
        try:
            fetched = fetch_to_file(source.location, spool, policy=FetchPolicy.from_settings())
        except FetchRefused as exc:
            raise SourcePullFailed(str(exc)) from None
        latest = ImportJob.objects.filter(source=source).order_by("-created_at", "-id").first()
        if latest is not None and latest.sha256 == fetched.sha256 and latest.status != JobStatus.FAILED:
            result.duplicates += 1
            return
        spool.seek(0)
        job = _create_job(source, spool, fetched.filename, result, sha256=fetched.sha256, size=fetched.size)
    if job is not None:
        result.jobs.append(job.pk)
