"""Workers of the inventory: the periodic policy sweep (retention dates expire without any edit)."""

from celery import shared_task

from assets.services.classification import classification_recompute_downstream
from assets.services.policy import policy_check


@shared_task(name="assets.tasks.run_policy_checks")
def run_policy_checks() -> int:
    """Re-run every policy rule over the whole inventory; idempotent."""
    return policy_check(asset_ids=None)


@shared_task(name="assets.tasks.recompute_downstream")
def recompute_downstream(asset_ids: list[int]) -> int:
    """Recompute classification and policy below the given assets (sent after bulk changes)."""
    affected = classification_recompute_downstream(asset_ids=asset_ids)
    policy_check(asset_ids=affected)
    return len(affected)
