"""No cache serves one viewer's numbers to another: two personas open the same pages in turn, and what the
second sees does not depend on who came before (per-view caches, fragment caches, header counts, the
notifications count). Responses for a signed-in viewer also tell shared caches not to keep them."""

from __future__ import annotations

import re

import pytest

from tests.adversarial.helpers import body_of, listing_urls

pytestmark = pytest.mark.django_db

# (who looks first, who looks next): someone who sees more, then someone who sees less, and back.
PAIRS = [
    ("owner", "outsider"),
    ("lead", "teammate"),
    ("auditor", "outsider"),
    ("owner", "token_other_team"),
]

# Shows a new authenticator secret at every visit, by design (nothing is stored until confirmed).
ENROLMENT_PAGE = {("/accounts/mfa/", False)}

_VOLATILE = [
    re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"'),
    re.compile(r'nonce="[^"]+"'),
    re.compile(r'"csrfToken": ?"[^"]+"'),
    # Forms that default a time to now (the incident report's "occurred" and "detected").
    re.compile(r'value="\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?"'),
]


def _view(world, persona: str, url: str, is_api: bool) -> tuple[int, str]:
    response = world.client(persona, api=is_api).get(url)
    text = body_of(response).decode(errors="replace")
    for pattern in _VOLATILE:
        text = pattern.sub("", text)
    return response.status_code, text


@pytest.mark.slow
@pytest.mark.parametrize(("first", "second"), PAIRS, ids=[f"{a}-then-{b}" for a, b in PAIRS])
def test_what_a_viewer_sees_does_not_depend_on_who_looked_before(world, first, second):
    urls = sorted(set(listing_urls(first)) & set(listing_urls(second)) - ENROLMENT_PAGE)
    assert len(urls) > 5
    alone = {(url, is_api): _view(world, second, url, is_api) for url, is_api in urls}
    differs = []

    for url, is_api in urls:
        _view(world, first, url, is_api)
        if _view(world, second, url, is_api) != alone[(url, is_api)]:
            differs.append(url)

    assert differs == [], f"{second} saw something else after {first} on: {differs}"


def test_the_unread_count_in_the_header_is_each_viewer_s_own(world):
    owner_page = body_of(world.client("owner", api=False).get("/teams/")).decode()
    outsider_page = body_of(world.client("outsider", api=False).get("/teams/")).decode()
    again = body_of(world.client("owner", api=False).get("/teams/")).decode()

    def count(page: str) -> str:
        return re.search(r'aria-label="Notifications: (\d+) unread', page).group(1)

    assert (count(owner_page), count(outsider_page), count(again)) == ("1", "0", "1")


@pytest.mark.parametrize("persona", ["owner", "auditor", "token_read_only"])
def test_a_signed_in_viewer_s_pages_are_not_kept_by_shared_caches(world, persona):
    urls = listing_urls(persona)

    for url, is_api in urls:
        response = world.client(persona, api=is_api).get(url)
        control = response.headers.get("Cache-Control", "")
        assert "private" in control and "no-store" in control, f"{url}: {control!r}"
