"""Celery tasks of the findings app: thin, idempotent, sent with ``transaction.on_commit``."""

from __future__ import annotations

from celery import shared_task

from findings.services.jobs import job_run


# acks_late: a worker that dies mid-import leaves the message queued; the import's transaction died
# with it, and job_run starts the job over (a finished job is left alone).
@shared_task(
    name="findings.tasks.run_import_job", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def run_import_job(job_id: int) -> None:
    job_run(job_id=job_id)


# ---- scan sources and enrichment (periodic; beat entries in settings CELERY_BEAT_SCHEDULE) ----------


@shared_task(name="findings.tasks.pull_due_sources", ignore_result=True)
def pull_due_sources() -> None:
    """Queue a pull of every enabled source whose interval has passed."""
    from findings.services.sources import sources_claim_due

    for source_id in sources_claim_due():
        pull_source.delay(source_id)


@shared_task(name="findings.tasks.pull_source", acks_late=True, ignore_result=True)
def pull_source(source_id: int, actor_id: int | None = None) -> None:
    from django.contrib.auth import get_user_model

    from findings.services.sources import source_pull

    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    source_pull(source_id=source_id, actor=actor)


@shared_task(name="findings.tasks.pull_kev", ignore_result=True)
def pull_kev() -> None:
    from findings.services.enrichment import enrichment_pull

    enrichment_pull(kind="kev")


@shared_task(name="findings.tasks.pull_epss", ignore_result=True)
def pull_epss() -> None:
    from findings.services.enrichment import enrichment_pull

    enrichment_pull(kind="epss")


@shared_task(name="findings.tasks.reap_stale_jobs", ignore_result=True)
def reap_stale_jobs() -> None:
    """Queue again, or fail, the running imports whose worker died (their lease ran out)."""
    from findings.services.jobs import jobs_reap_stale

    jobs_reap_stale()
