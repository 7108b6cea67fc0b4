"""Every CSV the application serves neutralises cells that a spreadsheet would run as a formula.

The exports are found, not listed: every parameterless GET route of the matrix that answers ``text/csv`` to a
security lead (who sees the most) is read after formula payloads went into every text field people and
scanners control: asset names, descriptions, tags and identifiers, finding titles and packages, usernames
(the audit log's actor column) and a team name."""

from __future__ import annotations

import csv
import io
import re

from tests.adversarial.helpers import body_of, listing_urls

PAYLOADS = [
    '=HYPERLINK("http://evil")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd",
    "@SUM(1+1)*cmd",
    "\t=1+1",
    "\r=1+1",
]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


def _plant_payloads(world):
    from django.contrib.auth import get_user_model

    from assets.models import Asset
    from findings.models import Finding
    from hygiene.models import Team
    from hygiene.services.audit import actor_context
    from tests.factories.assets import AssetFactory

    team = world.things["asset"].team
    evil = get_user_model().objects.create(username="=cmd|calc")
    for n, payload in enumerate(PAYLOADS):
        with actor_context(actor_id=evil.pk, actor_label=evil.username, context={}):
            AssetFactory(
                team=team,
                name=f"{payload} {n}",
                description=payload,
                tags=[payload],
                identifiers=[payload],
            )
    Asset.objects.filter(pk=world.things["asset"].pk).update(name=PAYLOADS[0], description=PAYLOADS[1])
    Finding.objects.filter(team=team).update(title=PAYLOADS[2], package=PAYLOADS[3], location=PAYLOADS[4])
    Team.objects.filter(pk=team.pk).update(description=PAYLOADS[5])


def _csv_exports(world) -> dict[str, str]:
    exports = {}
    for url, api in listing_urls("lead"):
        response = world.client("lead", api=api).get(url)
        if response.status_code == 200 and response["Content-Type"].startswith("text/csv"):
            exports[url] = body_of(response).decode("utf-8-sig")
    return exports


def test_every_csv_export_neutralises_formula_cells(world):
    _plant_payloads(world)
    exports = _csv_exports(world)
    assert {"/assets/export.csv", "/audit-log/export.csv", "/api/v1/asset-export/csv/"} <= set(exports)
    dangerous = []
    for url, text in exports.items():
        for row_number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            for cell in row:
                if cell.startswith(DANGEROUS) and not NUMBER.fullmatch(cell):
                    dangerous.append(f"{url} row {row_number}: {cell[:60]!r}")
    assert not dangerous, f"{len(dangerous)} formula cells:\n" + "\n".join(dangerous[:40])


def test_the_payloads_did_reach_the_exports_so_the_check_is_not_vacuous(world):
    _plant_payloads(world)
    exports = _csv_exports(world)
    assert "HYPERLINK" in exports["/assets/export.csv"]
    assert "cmd|calc" in exports["/audit-log/export.csv"]
