"""Import jobs: store an uploaded or pulled scan file, then import it on a worker.

A request only stores the raw file (with its SHA-256 and size) and enqueues the job; parsing happens
in ``job_run``, on a Celery worker (or synchronously for the ``import_scan`` command). ``job_run`` runs
the whole import in one transaction, so a file that fails halfway writes nothing; the job's own failure
is recorded after the rollback, and the raw file is always kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Iterator
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any

import orjson
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.text import get_valid_filename

from assets.models import Asset, AssetKind
from controls.services.hooks import assess_assets_after_commit
from findings.checks import check_types_for, scan_time_from
from findings.errors import ImportFailed, ScanTooLarge
from findings.importers import FORMATS, detect_format, parse
from findings.importers.base import SNIFF_BYTES, FindingRecord, ImportExtras
from findings.models import ImportJob, JobStatus, ScanSource
from findings.services.ingest import ImportCounts, ingest_records, merge_target_for
from findings.services.matching import asset_match
from findings.services.progress import ProgressReporter
from findings.services.redteam import probes_record
from hygiene.models import Team
from hygiene.permissions import can_contribute, token_allows
from hygiene.services.audit import audit_event

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20
_JOB_LOCK_CLASS = 0x4A4F4253  # "JOBS"
# Records read before matching an unnamed asset: the scanner names its target on every record.
_MATCH_PEEK = 1000


def format_label(name: str) -> str:
    module = FORMATS.get(name)
    return str(getattr(module, "LABEL", name)) if module is not None else name


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


def too_large_message(size: int | None) -> str:
    limit = human_size(settings.HYGIENE_SCAN_MAX_BYTES)
    if size is None:
        return f"The scan file is larger than the {limit} limit (HYGIENE_SCAN_MAX_BYTES)."
    return f"The scan file is {human_size(size)}, larger than the {limit} limit (HYGIENE_SCAN_MAX_BYTES)."


def may_push(actor: Any, *, team_id: int) -> bool:
    """Whether ``actor`` may import scans into the team (and so retry its failed imports)."""
    return token_allows(actor, "scans:push") and can_contribute(actor, team_id=team_id)


def _check_may_push(actor: Any, team: Team, asset: Asset | None) -> None:
    if asset is not None and asset.team_id != team.pk:
        raise PermissionDenied(f"{asset.name} does not belong to {team.name}.")
    if actor is None:
        return
    if not token_allows(actor, "scans:push"):
        raise PermissionDenied("This token may not push scans (it needs the “scans:push” action).")
    if not can_contribute(actor, team_id=team.pk):
        raise PermissionDenied(f"Only members of {team.name} can import scans for it.")


def _check_format(requested_format: str) -> None:
    if requested_format and requested_format not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise ImportFailed(f"Unknown format “{requested_format}”. Known formats: {known}.")


@transaction.atomic
def job_create(
    *,
    actor: Any,
    team: Team,
    file: IO[bytes] | File[Any],
    filename: str,
    asset: Asset | None = None,
    requested_format: str = "",
    source: ScanSource | None = None,
    sha256: str = "",
    size: int | None = None,
    enqueue: bool = True,
    retry_of: ImportJob | None = None,
) -> ImportJob:
    """Keep the scan file and queue its import; nothing of it is parsed here.

    ``sha256``/``size`` may come from the upload handler that already hashed the stream; otherwise the
    file is read once to compute them. ``enqueue=False`` leaves the job for the caller to ``job_run``.
    """
    _check_may_push(actor, team, asset)
    _check_format(requested_format)
    wrapped = file if isinstance(file, File) else File(file)
    if not sha256 or size is None:
        sha256, size = _digest(wrapped)
    if size > settings.HYGIENE_SCAN_MAX_BYTES:
        raise ScanTooLarge(too_large_message(size))
    job = ImportJob(
        team=team,
        asset=asset,
        source=source,
        uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
        requested_format=requested_format,
        filename=Path(filename).name[:255] or "scan",
        sha256=sha256,
        size_bytes=size,
        retry_of=retry_of,
    )
    job.raw_file.save(get_valid_filename(job.filename) or "scan", wrapped, save=False)
    job.save()
    audit_event(
        action="scan_upload",
        object_type="findings_importjob",
        object_id=str(job.pk),
        actor_id=job.uploaded_by_id,
        actor_label=actor.get_username() if job.uploaded_by_id else "system",
        detail={
            "filename": job.filename,
            "sha256": sha256,
            "size_bytes": size,
            "team": team.slug,
            "asset": asset.pk if asset else None,
            "format": requested_format or "auto",
            "source": source.pk if source else None,
            **({"retry_of": retry_of.pk} if retry_of else {}),
        },
    )
    if enqueue:
        transaction.on_commit(lambda: job_enqueue(job_id=job.pk))
    return job


def job_create_from_path(
    *,
    actor: Any,
    team: Team,
    path: str | Path,
    asset: Asset | None = None,
    requested_format: str = "",
    source: ScanSource | None = None,
    enqueue: bool = True,
) -> ImportJob:
    """Queue the import of a file on this server (drop folders, the command); the file is copied."""
    path = Path(path)
    size = path.stat().st_size
    if size > settings.HYGIENE_SCAN_MAX_BYTES:
        raise ScanTooLarge(too_large_message(size))
    with path.open("rb") as handle:
        return job_create(
            actor=actor,
            team=team,
            file=handle,
            filename=path.name,
            asset=asset,
            requested_format=requested_format,
            source=source,
            enqueue=enqueue,
        )


def _digest(file: File[Any]) -> tuple[str, int]:
    hasher = hashlib.sha256()
    size = 0
    file.seek(0)
    for chunk in file.chunks(_CHUNK):
        hasher.update(chunk)
        size += len(chunk)
        if size > settings.HYGIENE_SCAN_MAX_BYTES:
            raise ScanTooLarge(too_large_message(None))
    file.seek(0)
    return hasher.hexdigest(), size


def job_import_records(
    *,
    team: Team,
    asset: Asset,
    records: list[FindingRecord],
    scanner: str,
    filename: str = "records.json",
    started_at: dt.datetime | None = None,
    uploaded_by: Any = None,
) -> ImportJob:
    """Import records built in code (demo data, fixtures) as one done job, synchronously.

    The records themselves, as JSON, are kept as the job's raw file. ``started_at`` back-dates the
    import (its creation and finish with it) so a demo can show history.
    """
    raw = orjson.dumps([dataclasses.asdict(record) for record in records], default=str)
    clock = timezone.now()
    started = started_at or clock
    job = ImportJob(
        team=team,
        asset=asset,
        uploaded_by=uploaded_by,
        format=scanner,
        requested_format=scanner,
        filename=filename,
        sha256=hashlib.sha256(raw).hexdigest(),
        size_bytes=len(raw),
        status=JobStatus.RUNNING,
        created_at=started,
        started_at=started,
        scanned_at=started,
    )
    job.raw_file.save(get_valid_filename(filename), ContentFile(raw), save=False)
    with transaction.atomic():
        job.save()
        target = merge_target_for(asset=asset, scanner=scanner, job_id=job.pk, seen_at=started)
        counts = ingest_records(target=target, records=records)
        _job_finish(job, asset, counts, finished_at=started + (timezone.now() - clock))
    return job


def job_enqueue(*, job_id: int) -> None:
    from findings.tasks import run_import_job

    run_import_job.delay(job_id)


def job_run(*, job_id: int) -> ImportJob | None:
    """Import a queued job's file; a job already done or failed is left alone (tasks may repeat)."""
    job = _job_claim(job_id)
    if job is None:
        return ImportJob.objects.filter(pk=job_id).first()
    try:
        heartbeat = JobHeartbeat(job_id=job.pk, interval=settings.HYGIENE_IMPORT_HEARTBEAT_SECONDS)
        with heartbeat, transaction.atomic():
            _job_import(job)
    except ImportFailed as exc:
        _job_fail(job, str(exc))
    except Exception as exc:  # the job must end failed, whatever broke; the worker log has the trace
        logger.exception("import job %s failed", job_id)
        _job_fail(job, _describe_unexpected(exc, job))
    return job


def _job_claim(job_id: int) -> ImportJob | None:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished or _lease_held(job):
            return None
        # A job found running with its lease run out was cut off (its worker died; acks_late
        # redelivered it): its transaction rolled back with it, so it starts over.
        now = timezone.now()
        job.status = JobStatus.RUNNING
        job.started_at = now
        job.heartbeat_at = now
        job.attempts += 1
        job.progress = 0
        job.error = ""
        job.save(update_fields=["status", "started_at", "heartbeat_at", "attempts", "progress", "error"])
    return job


def _lease_held(job: ImportJob) -> bool:
    if job.status != JobStatus.RUNNING or job.heartbeat_at is None:
        return False
    return job.heartbeat_at > timezone.now() - dt.timedelta(seconds=settings.HYGIENE_IMPORT_LEASE_SECONDS)


def _job_import(job: ImportJob) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_JOB_LOCK_CLASS, job.pk % 2**31])
        if not cursor.fetchone()[0]:
            return  # another worker is importing this very job
    status = ImportJob.objects.filter(pk=job.pk).values_list("status", flat=True).first()
    if status != JobStatus.RUNNING:
        return
    with job.raw_file.open("rb") as field_file:
        stream = field_file.file
        job.format = _job_format(job, stream)
        assert job.started_at is not None
        job.scanned_at = _scan_time(job, stream)
        extras = ImportExtras()
        # Only formats with extras get the collector (callers and tests may stand in for ``parse``).
        has_extras = getattr(FORMATS.get(job.format), "HAS_EXTRAS", False)
        records: Iterator[FindingRecord] = iter(
            parse(job.format, stream, extras) if has_extras else parse(job.format, stream)
        )
        asset = job.asset
        if asset is None:
            head = list(islice(records, _MATCH_PEEK))
            asset = asset_match(team_id=job.team_id, targets={record.target for record in head})
            records = chain(head, records)
        scanner, records = scanner_for(job.format, records)
        target = merge_target_for(
            asset=asset, scanner=scanner, job_id=job.pk, seen_at=job.started_at, detected_at=job.scanned_at
        )
        with ProgressReporter(job_id=job.pk, stream=stream, size=job.size_bytes) as progress:
            counts = ingest_records(target=target, records=records, on_progress=progress.update)
    if extras.probes:
        probes_record(job=job, asset=asset, tool=job.format, probes=extras.probes, ran_at=job.started_at)
    _job_finish(job, asset, counts)


def scanner_for(format_name: str, records: Iterator[FindingRecord]) -> tuple[str, Iterator[FindingRecord]]:
    """The scanner whose earlier findings this scan supersedes: the format, and for SARIF the tool.

    Without the tool, a Semgrep SARIF would mark every CodeQL finding on the asset mitigated.
    """
    head = list(islice(records, 1))
    tool = head[0].tool if head else ""
    scanner = f"{format_name}:{tool}"[:32] if tool else format_name
    return scanner, chain(head, records)


def _scan_time(job: ImportJob, stream: IO[bytes]) -> dt.datetime:
    """When the scan ran, from the file's head or tail where its format records it."""
    assert job.started_at is not None
    head = stream.read(SNIFF_BYTES)
    stream.seek(max(0, job.size_bytes - SNIFF_BYTES))
    tail = stream.read(SNIFF_BYTES)
    stream.seek(0)
    uploaded = min(job.created_at, job.started_at)
    return scan_time_from(format_name=job.format, head=head, tail=tail, uploaded_at=uploaded)


def _job_check_types(job: ImportJob, asset: Asset, counts: ImportCounts) -> list[str]:
    return check_types_for(
        format_name=job.format,
        categories=counts.categories,
        container_image=asset.kind == AssetKind.CONTAINER_IMAGE,
    )


def _job_format(job: ImportJob, stream: IO[bytes]) -> str:
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    if not job.requested_format:
        return detect_format(head, job.filename)
    _check_format(job.requested_format)
    if not FORMATS[job.requested_format].sniff(head):
        # Parsing with the wrong importer could read nothing and mark every finding mitigated.
        try:
            detected = f"it looks like {format_label(detect_format(head, job.filename))}"
        except ImportFailed:
            detected = "no known format recognizes it"
        raise ImportFailed(
            f"The file is not {format_label(job.requested_format)} as requested: {detected}."
            " Choose the right format, or let it be detected."
        )
    return job.requested_format


def _job_finish(
    job: ImportJob, asset: Asset, counts: ImportCounts, *, finished_at: dt.datetime | None = None
) -> None:
    job.asset = asset
    job.status = JobStatus.DONE
    job.progress = 100
    job.new_count = counts.new
    job.unchanged_count = counts.unchanged
    job.reopened_count = counts.reopened
    job.mitigated_count = counts.mitigated
    job.findings_count = counts.findings
    job.finished_at = finished_at or timezone.now()
    job.check_types = _job_check_types(job, asset, counts)
    job.save(
        update_fields=[
            *("asset", "format", "status", "progress", "new_count", "unchanged_count"),
            *("reopened_count", "mitigated_count", "findings_count", "finished_at"),
            *("scanned_at", "check_types"),
        ]
    )
    audit_event(
        action="scan_import",
        object_type="findings_importjob",
        object_id=str(job.pk),
        actor_id=job.uploaded_by_id,
        detail={"asset": asset.pk, "format": job.format, **job_counts(job)},
    )
    assess_assets_after_commit(asset_ids=[asset.pk])


def _job_fail(job: ImportJob, message: str) -> None:
    with transaction.atomic():
        job.status = JobStatus.FAILED
        job.error = message
        job.finished_at = timezone.now()
        job.save(update_fields=["format", "status", "error", "finished_at"])
        audit_event(
            action="scan_import_failed",
            object_type="findings_importjob",
            object_id=str(job.pk),
            actor_id=job.uploaded_by_id,
            detail={"format": job.format, "error": message[:1000]},
        )


def _describe_unexpected(exc: BaseException, job: ImportJob) -> str:
    label = format_label(job.format) if job.format else "The scan"
    if isinstance(exc, RecursionError):
        return f"{label}: the file is nested too deeply to read."
    if isinstance(exc, UnicodeDecodeError):
        return f"{label}: the file is not valid UTF-8 (bad byte at offset {exc.start})."
    if isinstance(exc, MemoryError):
        return f"{label}: a single entry in the file is too large to import."
    if isinstance(exc, DatabaseError):
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"{label}: a finding could not be stored ({detail[:300]})."
    return f"{label}: the import stopped on an unexpected error ({type(exc).__name__}); see the worker log."


# ---- leases of running jobs, and retries --------------------------------------------------------------


class JobHeartbeat:
    """Renew a running job's lease from a thread of its own while the import runs.

    The import holds one transaction; the heartbeat writes on a second, autocommit connection (as the
    progress reporter does), so it is seen at once. If the worker process dies, so does the thread,
    and the lease runs out.
    """

    def __init__(self, *, job_id: int, interval: float) -> None:
        self.job_id = job_id
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"import-{job_id}-heartbeat", daemon=True)

    def __enter__(self) -> JobHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        db: Any = None
        try:
            while not self._stop.wait(self.interval):
                try:
                    if db is None:
                        db = connections.create_connection(DEFAULT_DB_ALIAS)
                    with db.cursor() as cursor:
                        cursor.execute(
                            "UPDATE findings_importjob SET heartbeat_at = now()"
                            " WHERE id = %s AND status = 'running'",
                            [self.job_id],
                        )
                except Exception:  # the next beat tries again on a new connection
                    logger.warning("heartbeat of import job %s failed", self.job_id, exc_info=True)
                    _closed(db)
                    db = None
        finally:
            _closed(db)


def _closed(db: Any) -> None:
    if db is not None:
        with contextlib.suppress(Exception):
            db.close()


@dataclasses.dataclass
class ReapResult:
    requeued: list[int] = dataclasses.field(default_factory=list)
    failed: list[int] = dataclasses.field(default_factory=list)


def jobs_reap_stale(*, now: dt.datetime | None = None) -> ReapResult:
    """Queue again (or fail, past the attempts allowed) the running jobs whose worker died.

    A job is stale when its lease ran out (no heartbeat for HYGIENE_IMPORT_LEASE_SECONDS) and no
    session holds its import lock: a worker that is importing it holds that lock, and loses it with
    its connection when it dies.
    """
    now = now or timezone.now()
    expired = now - dt.timedelta(seconds=settings.HYGIENE_IMPORT_LEASE_SECONDS)
    stale = ImportJob.objects.filter(status=JobStatus.RUNNING).filter(
        Q(heartbeat_at__lt=expired) | Q(heartbeat_at__isnull=True, started_at__lt=expired)
    )
    result = ReapResult()
    for job_id in stale.values_list("pk", flat=True)[:1000]:
        with transaction.atomic():
            job = ImportJob.objects.select_for_update(skip_locked=True).filter(pk=job_id).first()
            if job is None or job.status != JobStatus.RUNNING or not _import_lock_free(job.pk):
                continue
            if job.attempts >= settings.HYGIENE_IMPORT_MAX_ATTEMPTS:
                _job_fail(job, _lost_message(job))
                result.failed.append(job.pk)
            else:
                _job_requeue(job)
                result.requeued.append(job.pk)
    return result


def _import_lock_free(job_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_JOB_LOCK_CLASS, job_id % 2**31])
        return bool(cursor.fetchone()[0])


def _lost_message(job: ImportJob) -> str:
    times = "once" if job.attempts == 1 else f"{job.attempts} times"
    return (
        f"The worker importing this file stopped {times} without finishing (it was killed or ran out of "
        "memory); nothing of the file was written. Retry the import once the cause is fixed."
    )


def _job_requeue(job: ImportJob) -> None:
    job.status = JobStatus.QUEUED
    job.progress = 0
    job.heartbeat_at = None
    job.save(update_fields=["status", "progress", "heartbeat_at"])
    audit_event(
        action="scan_import_requeued",
        object_type="findings_importjob",
        object_id=str(job.pk),
        actor_id=None,
        actor_label="system",
        detail={"attempts": job.attempts, "reason": "the worker stopped without finishing"},
    )
    job_id = job.pk
    transaction.on_commit(lambda: job_enqueue(job_id=job_id))


@transaction.atomic
def job_retry(*, actor: Any, job: ImportJob) -> ImportJob:
    """Import a failed job's raw file again, as a new job (the failed one stays, with its error)."""
    if job.status != JobStatus.FAILED:
        raise ValidationError("Only a failed import can be retried.")
    _check_may_push(actor, job.team, job.asset)
    if not job.raw_file.name or not job.raw_file.storage.exists(job.raw_file.name):
        raise ImportFailed("The raw file of this import is no longer kept; upload the scan again.")
    with job.raw_file.open("rb") as raw:
        return job_create(
            actor=actor,
            team=job.team,
            file=raw,
            filename=job.filename,
            asset=job.asset,
            requested_format=job.requested_format,
            source=job.source,
            retry_of=job,
        )


def job_counts(job: ImportJob) -> dict[str, int]:
    return {
        "new": job.new_count,
        "unchanged": job.unchanged_count,
        "reopened": job.reopened_count,
        "mitigated": job.mitigated_count,
        "findings": job.findings_count,
    }


def job_duration_seconds(job: ImportJob) -> float | None:
    duration: dt.timedelta | None = job.duration
    return None if duration is None else round(duration.total_seconds(), 3)


def upload_destination(*, user: Any, asset_ref: str = "", team_slug: str = "") -> tuple[Team, Asset | None]:
    """The team and (optional) asset an upload names: an asset by id or name, else a team.

    Without either, the one team the uploader (or their token) can push to. Assets and teams the user
    cannot see are reported as missing (404), never as forbidden.
    """
    from assets.selectors import asset_get_for_user, visible_assets
    from hygiene.permissions import member_team_ids
    from hygiene.selectors import team_get_for_user

    team = team_get_for_user(user=user, slug=team_slug) if team_slug else None
    asset_ref = asset_ref.strip()
    if asset_ref:
        if asset_ref.isdecimal():
            asset = asset_get_for_user(user=user, pk=int(asset_ref))
        else:
            assets = visible_assets(user).filter(name=asset_ref)
            if team is not None:
                assets = assets.filter(team=team)
            matches = list(assets.select_related("team")[:2])
            if not matches:
                raise Http404(f"No asset you can see is named “{asset_ref}”.")
            if len(matches) > 1:
                raise ValidationError(
                    {"asset": f"Several assets are named “{asset_ref}”: give its id or the team."}
                )
            asset = matches[0]
        if team is not None and asset.team_id != team.pk:
            raise ValidationError({"asset": f"{asset.name} does not belong to the team {team.slug}."})
        return asset.team, asset
    if team is not None:
        return team, None
    teams = member_team_ids(user)
    if len(teams) != 1:
        raise ValidationError(
            {"team": "Name the asset (or the team, to match the asset by the identifiers the scan reports)."}
        )
    return Team.objects.get(pk=teams[0]), None
