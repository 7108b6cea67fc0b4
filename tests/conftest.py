"""Shared fixtures: the personas of STYLE.md (owner, teammate, outsider, auditor) and clients."""

import datetime as dt
import os
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from hygiene.models import TeamRole
from hygiene.roles import AUDITOR, SECURITY_LEAD
from tests.factories import MembershipFactory, TeamFactory, UserFactory

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("HYGIENE_SHARED_DIR", REPO_ROOT.parent / "shared"))
SCANS_DIR = SHARED_DIR / "scans"


@pytest.fixture
def scans_dir() -> Path:
    return SCANS_DIR


@pytest.fixture
def team_a(db):
    return TeamFactory(name="Research", slug="research")


@pytest.fixture
def team_b(db):
    return TeamFactory(name="Platform", slug="platform")


@pytest.fixture
def owner(team_a):
    """The champion of team A: sees and changes team A's objects."""
    user = UserFactory(username="owner")
    MembershipFactory(team=team_a, user=user, role=TeamRole.CHAMPION)
    return user


@pytest.fixture
def teammate(team_a):
    """A plain member of team A: sees its objects, edits its assets, triages its findings, approves none."""
    user = UserFactory(username="teammate")
    MembershipFactory(team=team_a, user=user, role=TeamRole.MEMBER)
    return user


@pytest.fixture
def outsider(team_b):
    """A member of team B only."""
    user = UserFactory(username="outsider")
    MembershipFactory(team=team_b, user=user, role=TeamRole.MEMBER)
    return user


@pytest.fixture
def auditor(db):
    return UserFactory(username="auditor", role=AUDITOR, role__until=timezone.now() + dt.timedelta(days=30))


@pytest.fixture
def expired_auditor(db):
    return UserFactory(
        username="old-auditor", role=AUDITOR, role__until=timezone.now() - dt.timedelta(days=1)
    )


@pytest.fixture
def lead(db):
    return UserFactory(username="lead", role=SECURITY_LEAD)


@pytest.fixture
def api_client():
    return APIClient()


def client_for(client, user):
    client.force_login(user)
    return client


pytest_plugins = ["tests.browser"]


@pytest.fixture
def team_b_token(outsider, team_b):
    """A token of another team (B), able to read and write there: team A's things are not its to see."""
    from tests.factories import ApiTokenFactory

    return ApiTokenFactory(user=outsider, team=team_b, actions=["read", "write"])


@pytest.fixture
def revoked_token(owner, team_a):
    """A token of team A's champion that was revoked: refused everywhere."""
    from hygiene.services.tokens import token_revoke
    from tests.factories import ApiTokenFactory

    token = ApiTokenFactory(user=owner, team=team_a, actions=["read", "write", "scans:push"])
    token_revoke(actor=owner, token=token)
    return token


@pytest.fixture
def unenrolled_lead(db, settings):
    """A security lead without a second factor while the admin requires one for privileged roles."""
    settings.HYGIENE_MFA_REQUIRED_FOR_PRIVILEGED = True
    return UserFactory(username="unenrolled-lead", role=SECURITY_LEAD)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: a throttle's counts left by earlier tests in the same
    worker would refuse it (429)."""
    cache.clear()


@pytest.fixture(autouse=True)
def _audit_checkpoint_file(settings, tmp_path):
    """Each test anchors its audit chain in its own file (the database is per test, so is the anchor)."""
    settings.HYGIENE_AUDIT_CHECKPOINT_FILE = tmp_path / "audit-checkpoint.json"
