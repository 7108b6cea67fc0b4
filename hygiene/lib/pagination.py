"""One way to paginate lists, so every page shows the same controls."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

DEFAULT_PAGE_SIZE = 25
PAGE_SIZES = (25, 50, 100, 200)


def paginate(
    request: HttpRequest, items: Any, *, per_page: int | None = None, count_capped: bool = False
) -> Page[Any]:
    """The requested page of ``items``. ``count_capped``: ``items`` counts only up to a cap and more
    match; the controls then say "more than" and stop at the cap."""
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
