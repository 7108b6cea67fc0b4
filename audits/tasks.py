"""Celery tasks of the audits app: thin, idempotent, sent with ``transaction.on_commit``."""

from __future__ import annotations

from celery import shared_task

from audits.services.bundles import bundle_build


@shared_task(name="audits.tasks.build_bundle", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def build_bundle(bundle_id: int) -> None:
    bundle_build(bundle_id=bundle_id)
