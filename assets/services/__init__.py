"""Writes of the inventory; import the functions from here or from their modules."""

from assets.services.assets import (
    asset_create,
    asset_retire,
    asset_update,
    provenance_set,
    transformation_append,
)
from assets.services.classification import (
    classification_recompute_all,
    classification_recompute_downstream,
    level_create,
    level_update,
)
from assets.services.exports import asset_export
from assets.services.lineage import edge_add, edge_remove
from assets.services.policy import policy_check

__all__ = [
    "asset_create",
    "asset_export",
    "asset_retire",
    "asset_update",
    "classification_recompute_all",
    "classification_recompute_downstream",
    "edge_add",
    "edge_remove",
    "level_create",
    "level_update",
    "policy_check",
    "provenance_set",
    "transformation_append",
]
