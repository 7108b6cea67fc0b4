"""Nothing of team A reaches people who may not see it, through any page or API answer that lists, counts,
searches, filters, exports, suggests (autocomplete), logs or documents.

Generated from the matrix: every GET route without parameters that a persona may open is fetched, plain and
with search and filter parameters, and compared with the same fetch after team A's objects are gone. An
outsider's (or team B token's) view must not change at all (no names, no counts, no totals), and an auditor's
view must not change when team A's restricted objects go."""

from __future__ import annotations

import re

import pytest
from django.db import transaction

from tests.adversarial.helpers import body_of, listing_urls, page_table

MARK = "zqxmark"
QUERIES = (
    "",
    f"?q={MARK}",
    f"?search={MARK}",
    "?team=research",
    f"?asset={MARK}",
    "?severity=high&status=open",
)
VOLATILE = [
    re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"'),
    re.compile(r'nonce="[^"]*"'),
    re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d(:\d\d)?)?"),
    re.compile(r"\d+\s+(second|minute)s?"),
    re.compile(r"\d\d:\d\d(:\d\d)?"),
    # Row ids come from sequences that a rolled-back savepoint does not rewind.
    re.compile(r'"id":\s*\d+'),
    re.compile(r"(?m)^\d+,"),
    re.compile(r"#\d+"),
    re.compile(r"/\d+/"),
    re.compile(r"object_id=\d+"),
    # An OSCAL document's uuid names the moment it was made; an open incident's age grows.
    re.compile(r'"uuid":\s*"[0-9a-f-]{36}"'),
    re.compile(r"\d+ h \d+ min"),
    re.compile(r'"seconds":\s*[\d.]+'),
    re.compile(r'"version":\s*"\d{14}"'),
]
# Said to auditors on purpose, so that they know the scope of what they audit: how many restricted
# assets and log entries are out of their sight (numbers only, never names). DESIGN.md decides this.
DISCLOSED = [
    re.compile(r'<p class="message warning restricted-hidden"[^>]*>.*?</p>', re.S),
    re.compile(r"(Restricted assets are|\d+ restricted assets? and (its|their) findings are) hidden from"),
    re.compile(
        r"<p class=\"message info\">\s*\d+ entr(y|ies) about restricted assets"
        r"( or incidents)? (is|are) not[^<]*</p>"
    ),
]
# Pages that draw a fresh secret on every visit (the second factor's enrolment key and QR code).
FRESH_SECRETS = ("/accounts/mfa/",)


def _normalised(response) -> str:
    text = body_of(response).decode()
    for pattern in VOLATILE:
        text = pattern.sub("<volatile>", text)
    for pattern in DISCLOSED:
        text = pattern.sub("", text)
    text = re.sub(r"\s+", " ", text)
    return text


def _shared_object_urls(world, persona: str) -> list[tuple[str, bool]]:
    """Pages and API answers about objects every signed-in person may open (a control, a framework, a
    playbook, an export): they may total or name team A's things, so they are compared as lists are."""
    from tests.adversarial import matrix
    from tests.adversarial.routes import fill, route_params, schema_path_to_route

    urls = []
    for route, entry in page_table().items():
        if route_params(route) and entry.get("GET", {}).get(persona) == matrix.OK:
            urls.append((fill(route, world.objects[entry["object"]]), False))
    for path, entry in matrix.API.items():
        if "{" in path and entry.get("GET", {}).get(persona) == matrix.OK:
            urls.append((fill(schema_path_to_route(path), world.objects[entry["object"]]), True))
    return urls


def _views(world, persona: str) -> dict[str, tuple[int, str]]:
    views = {}
    for url, api in _shared_object_urls(world, persona):
        response = world.client(persona, api=api).get(url)
        binary = not re.search(r"text|json|csv", response.get("Content-Type", ""))
        # A PDF or a ZIP carries its own creation time: only its status and type are compared.
        views[url] = (response.status_code, response["Content-Type"] if binary else _normalised(response))
    for url, api in listing_urls(persona):
        if url in FRESH_SECRETS:
            continue
        client = world.client(persona, api=api)
        for query in QUERIES:
            response = client.get(url + query)
            views[url + query] = (response.status_code, _normalised(response))
    return views


def _diff(before: dict, after: dict) -> list[str]:
    changed = []
    for url, (status, text) in before.items():
        other_status, other = after[url]
        if (status, text) != (other_status, other):
            # The first differing stretch, to say what leaked.
            i = next(
                (n for n, (a, b) in enumerate(zip(text, other, strict=False)) if a != b),
                min(len(text), len(other)),
            )
            changed.append(
                f"{url}: …{text[max(0, i - 80) : i + 80]!r}… vs …{other[max(0, i - 80) : i + 80]!r}…"
            )
    return changed


def _mark_team_a(world):
    """Team A's objects carry the mark in their names and titles, so a search for it finds them."""
    from assets.models import Asset
    from findings.models import Finding

    for n, asset in enumerate(Asset.objects.filter(team__slug="research")):
        Asset.objects.filter(pk=asset.pk).update(name=f"{MARK} asset {n}")
    Finding.objects.filter(team__slug="research").update(title=f"{MARK} finding", package=f"{MARK}-pkg")


def _restricted_asset(world):
    from tests.factories.assets import AssetFactory, level
    from tests.factories.findings import FindingFactory

    asset = AssetFactory(
        team=world.things["asset"].team, name=f"{MARK} restricted", classification=level("restricted")
    )
    FindingFactory(asset=asset, title=f"{MARK} restricted finding")
    return asset


def _without_team_a(world):
    from assets.models import Asset
    from findings.models import ImportJob, ScanFolderGrant, ScanSource

    ImportJob.objects.filter(team__slug="research").delete()
    ScanSource.objects.filter(team__slug="research").delete()
    ScanFolderGrant.objects.filter(team__slug="research").delete()
    Asset.objects.filter(team__slug="research").delete()


def _team_b_things(world):
    from tests.factories.assets import AssetFactory
    from tests.factories.findings import FindingFactory

    asset = AssetFactory(team=world.users["outsider"].memberships.first().team, name="Team B model")
    FindingFactory(asset=asset, title="Team B finding")


@pytest.mark.parametrize("persona", ["outsider", "token_other_team"])
def test_nothing_of_another_team_changes_any_list_count_search_export_or_schema(world, persona):
    _team_b_things(world)
    _restricted_asset(world)
    _mark_team_a(world)
    with transaction.atomic():
        with_team_a = _views(world, persona)
        transaction.set_rollback(True)
    assert with_team_a, "no listing was fetched"
    with transaction.atomic():
        _without_team_a(world)
        without = _views(world, persona)
        transaction.set_rollback(True)
    leaks = _diff(with_team_a, without)
    assert not leaks, f"{len(leaks)} answers change with team A's objects:\n" + "\n".join(leaks)
    # Search terms are echoed in the filter forms; nothing else may carry the mark.
    assert not [url for url, (_status, text) in with_team_a.items() if "?" not in url and MARK in text]


def test_an_auditor_sees_nothing_of_restricted_objects_anywhere(world):
    _team_b_things(world)
    _mark_team_a(world)
    with transaction.atomic():
        without = _views(world, "auditor")
        transaction.set_rollback(True)
    with transaction.atomic():
        _restricted_asset(world)
        with_restricted = _views(world, "auditor")
        transaction.set_rollback(True)
    leaks = _diff(without, with_restricted)
    assert not leaks, f"{len(leaks)} answers change with a restricted asset:\n" + "\n".join(leaks)


def test_the_owner_does_see_team_a_s_marked_objects_so_the_leak_checks_are_not_vacuous(world):
    _mark_team_a(world)
    views = _views(world, "owner")
    seen = [url for url, (_status, text) in views.items() if MARK in text]
    assert "/assets/" in seen and "/api/v1/findings/" in seen and f"/findings/?q={MARK}" in seen
