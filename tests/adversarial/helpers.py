"""What the adversarial tests share: the page table with its generated entries, the listings a persona may
open (every parameterless GET route the matrix lets them use), and how an answer reads."""

from __future__ import annotations

from tests.adversarial import matrix
from tests.adversarial.routes import fill, route_params


def page_table() -> dict[str, dict]:
    from hygiene.views.pages import SOON_AREAS

    table = dict(matrix.PAGES)
    for area in SOON_AREAS:
        table[f"{area}/"] = matrix.COMING_SOON
    return table


def listing_urls(persona: str) -> list[tuple[str, bool]]:
    """(url, is_api) of every parameterless GET route the persona may open."""
    urls = []
    for route, entry in page_table().items():
        if not route_params(route) and entry.get("GET", {}).get(persona) == matrix.OK:
            urls.append(("/" + route, False))
    for path, entry in matrix.API.items():
        if "{" not in path and entry.get("GET", {}).get(persona) == matrix.OK:
            urls.append((path, True))
    for route, entry in matrix.API_UNDOCUMENTED.items():
        if entry.get("GET", {}).get(persona) == matrix.OK:
            urls.append((fill(route, {}), True))
    return sorted(urls)


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content
