"""What other apps' services call when something an assessment depends on changes.

Findings imported or re-triaged, lineage or classification changed: the assets' controls are
re-assessed by a worker once the change is committed (never from a signal, never inside the change's
own transaction, so a rolled-back change re-assesses nothing).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction


def assess_assets_after_commit(*, asset_ids: Iterable[int]) -> None:
    ids = sorted({int(pk) for pk in asset_ids if pk is not None})
    if not ids:
        return

    def _send() -> None:
        from controls.tasks import assess_assets

        assess_assets.delay(ids)

    transaction.on_commit(_send)
