"""Page-number pagination whose count stops at a cap, for lists that reach a million rows.

DRF's default pagination counts every matching row on each page request: at a million findings that
count alone takes most of a second. Past the cap, ``count`` is the cap and ``count_is_capped`` says
there are more; ``next`` stays right (it comes from the rows, not from the count).
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        counted = int(self.object_list.order_by().values("pk")[: self.cap + 1].count())
        self.count_is_capped = counted > self.cap
        return min(counted, self.cap)


class CappedPageNumberPagination(PageNumberPagination):
    django_paginator_class = CappedCountPaginator

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        paginator = self.page.paginator
        response.data["count_is_capped"] = bool(getattr(paginator, "count_is_capped", False))
        return response

    def get_next_link(self) -> str | None:
        if not self.page.has_next() and getattr(self.page.paginator, "count_is_capped", False):
            return None  # the cap's last page: narrow the filters to reach the rest
        return super().get_next_link()

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        described = super().get_paginated_response_schema(schema)
        described["properties"]["count"]["description"] = f"Matching rows, counted up to {COUNT_CAP:,}."
        described["properties"]["count_is_capped"] = {
            "type": "boolean",
            "description": "More rows match than count says: narrow the filters to page through them all.",
        }
        return described
