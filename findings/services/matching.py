"""Finding the asset a scan is about from the identifiers its scanner reports.

Scanners spell the same thing in several ways (``alpine:3.17 (alpine 3.17.3)``, ``docker.io/library/
alpine:3.17``, ``https://github.com/org/repo.git``), and people write asset identifiers in one of them.
Each reported target is widened into the spellings it may have been registered under, and the asset's
identifiers (a GIN-indexed array) are matched against all of them in one query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from assets.models import Asset, Lifecycle
from findings.errors import ImportFailed

_DISTRO_SUFFIX = re.compile(r"\s+\([^()]*\)$")
_DOCKER_HUB = ("docker.io/library/", "docker.io/", "index.docker.io/library/", "index.docker.io/")
_SCP_GIT = re.compile(r"^(?:ssh://)?git@([^:/]+)[:/](.+)$")
MAX_TARGETS = 50


def identifier_candidates(target: str) -> set[str]:
    """The spellings an asset identifier for ``target`` may have."""
    target = _DISTRO_SUFFIX.sub("", target.strip())
    if not target:
        return set()
    found = {target}
    if target.startswith("pkg:"):
        # A package URL names one version after "@"; assets usually register the package.
        found.add(target.split("?", 1)[0].split("#", 1)[0])
        found.add(target.split("@", 1)[0])
        return found
    scp = _SCP_GIT.match(target)
    if scp:
        target = f"https://{scp.group(1)}/{scp.group(2)}"
        found.add(target)
    if "://" in target:
        found |= _url_spellings(target)
    else:
        found |= _image_spellings(target)
    return {value for value in found if value}


def _url_spellings(url: str) -> set[str]:
    scheme, rest = url.split("://", 1)
    rest = rest.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    host, _, path = rest.partition("/")
    host = host.rsplit("@", 1)[-1].lower()
    bare = f"{host}/{path}" if path else host
    stems = {bare, bare.removesuffix(".git")}
    found = set(stems)
    for stem in stems:
        found |= {f"https://{stem}", f"http://{stem}", f"{scheme.lower()}://{stem}", f"https://{stem}.git"}
        if path:
            found.add(f"git@{host}:{stem.split('/', 1)[1]}")
            found.add(f"git@{host}:{stem.split('/', 1)[1]}.git")
    return found


def _image_spellings(reference: str) -> set[str]:
    found = {reference}
    repository = reference
    if "@" in repository:
        repository = repository.split("@", 1)[0]
    last = repository.rsplit("/", 1)[-1]
    if ":" in last:
        repository = repository[: len(repository) - len(last)] + last.split(":", 1)[0]
    tagged = reference.split("@", 1)[0]
    for prefix in _DOCKER_HUB:
        if tagged.startswith(prefix):
            found.add(tagged.removeprefix(prefix))
        if repository.startswith(prefix):
            found.add(repository.removeprefix(prefix))
    found |= {repository, tagged}
    if "/" not in repository:
        found |= {f"docker.io/library/{repository}", f"docker.io/library/{tagged}"}
    return found


def asset_match(*, team_id: int, targets: Iterable[str]) -> Asset:
    """The one active asset of the team whose identifiers name one of the scan's targets."""
    reported = sorted({t.strip() for t in targets if t and t.strip()})[:MAX_TARGETS]
    candidates = sorted({c for t in reported for c in identifier_candidates(t)})
    if not candidates:
        raise ImportFailed(
            "The scan does not say what was scanned (no image, repository or package named), so it cannot"
            " be matched to an asset: name the asset when you upload it."
        )
    matches: list[Any] = list(
        Asset.objects.filter(team_id=team_id, lifecycle=Lifecycle.ACTIVE, identifiers__overlap=candidates)
        .select_related("team")
        .order_by("name")[:5]
    )
    named = ", ".join(reported[:5])
    if not matches:
        raise ImportFailed(
            f"No active asset of this team lists any identifier this scan reports ({named}). Add one of"
            " them to the asset's identifiers, or name the asset when you upload the scan."
        )
    if len(matches) > 1:
        names = ", ".join(asset.name for asset in matches)
        raise ImportFailed(
            f"Several assets list an identifier this scan reports ({named}): {names}. Name the asset when"
            " you upload the scan."
        )
    return matches[0]
