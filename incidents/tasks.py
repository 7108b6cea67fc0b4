"""Celery tasks of the incidents app: thin and idempotent (beat entry in settings)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="incidents.tasks.escalate_incidents", ignore_result=True)
def escalate_incidents() -> int:
    """Fire the escalation levels that are due; each fires once however often this runs."""
    from incidents.services.escalation import escalation_run

    return escalation_run().fired
