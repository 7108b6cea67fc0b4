"""One way to paginate lists, so every page shows the same controls."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

DEFAULT_PAGE_SIZE = 25
PAGE_SIZES = (25, 50, 100, 200)


class KnownCount:
    """A queryset whose row count the caller already knows (from counts it shows anyway), so the
    paginator runs no COUNT of its own."""

    def __init__(self, queryset: Any, count: int) -> None:
        self._queryset = queryset
        self._count = count
        self.ordered = True

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, key: Any) -> Any:
        return self._queryset[key]


def paginate(
    request: HttpRequest,
    items: Any,
    *,
    per_page: int | None = None,
    count_capped: bool = False,
    count: int | None = None,
) -> Page[Any]:
    """The requested page of ``items``. ``count_capped``: ``items`` counts only up to a cap and more
    match; the controls then say "more than" and stop at the cap. ``count``: how many ``items`` match,
    when the caller knows it already (no COUNT query)."""
    if count is not None:
        items = KnownCount(items, count)
    size = per_page or DEFAULT_PAGE_SIZE
    requested = request.GET.get("per_page", "")
    if requested.isdecimal() and int(requested) in PAGE_SIZES:
        size = int(requested)
    paginator = Paginator(items, size)
    page = paginator.get_page(request.GET.get("page"))
    page.page_sizes = PAGE_SIZES  # type: ignore[attr-defined]
    page.page_size = size  # type: ignore[attr-defined]
    page.count_capped = count_capped  # type: ignore[attr-defined]
    return page
