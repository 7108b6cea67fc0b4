"""Celery tasks of the controls app: thin and idempotent; the beat schedule is in settings."""

from __future__ import annotations

from celery import shared_task

from controls.services.assessments import assessment_run, assessments_for_assets
from controls.services.exceptions import exceptions_expire


@shared_task(name="controls.tasks.assess_all", ignore_result=True)
def assess_all() -> int:
    """Assess every control over every asset and team."""
    return assessment_run().rows


@shared_task(name="controls.tasks.assess_assets", acks_late=True, ignore_result=True)
def assess_assets(asset_ids: list[int]) -> int:
    return assessments_for_assets(asset_ids=asset_ids).rows


@shared_task(name="controls.tasks.expire_exceptions", ignore_result=True)
def expire_exceptions() -> int:
    """Expire approved exceptions past their date and reopen what they covered."""
    return exceptions_expire()


@shared_task(name="controls.tasks.assess_control", ignore_result=True)
def assess_control(control_id: int) -> int:
    """Assess one control everywhere (after it was added, edited or restored)."""
    from controls.models import Control

    control = Control.objects.filter(pk=control_id, retired_at__isnull=True).first()
    return assessment_run(controls=[control]).rows if control else 0
