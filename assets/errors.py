"""The inventory's domain errors; they are ValidationErrors so pages and the API show them as 400s."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class LineageCycle(ValidationError):
    """Adding an edge would make data flow in a circle."""

    def __init__(self, *, source: str, target: str, path: list[str]) -> None:
        self.path = path
        closing = " → ".join(path)
        super().__init__(f"Adding {source} → {target} would close the cycle {closing}.", code="cycle")


class DuplicateEdge(ValidationError):
    def __init__(self, *, source: str, target: str, kind: str) -> None:
        super().__init__(f"{source} → {target} ({kind}) is already recorded.", code="duplicate")
