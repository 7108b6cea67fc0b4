"""Workers of the inventory: the periodic policy sweep (retention dates expire without any edit)."""

from celery import shared_task

from assets.services.policy import policy_check


@shared_task(name="assets.tasks.run_policy_checks")
def run_policy_checks() -> int:
    """Re-run every policy rule over the whole inventory; idempotent."""
    return policy_check(asset_ids=None)
