"""Demo data, loaded once: teams, one person per role (passwords printed once), and each app's samples."""

import datetime as dt
import importlib
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from hygiene.models import Membership, Team, TeamFunction, TeamRole
from hygiene.roles import AUDITOR, GLOBAL_ROLES, MEMBER, SECURITY_LEAD
from hygiene.services.audit import actor_context
from hygiene.services.teams import user_create

TEAMS = [
    ("Data engineering", "data-engineering", TeamFunction.DATA_ENGINEERING),
    ("Research", "research", TeamFunction.RESEARCH),
    ("Platform", "platform", TeamFunction.PLATFORM),
    ("Product", "product", TeamFunction.PRODUCT),
]
# username, global role, team slug, team role
PEOPLE = [
    ("lead", SECURITY_LEAD, None, None),
    ("auditor", AUDITOR, None, None),
    ("champion", MEMBER, "research", TeamRole.CHAMPION),
    ("researcher", MEMBER, "research", TeamRole.MEMBER),
    ("engineer", MEMBER, "data-engineering", TeamRole.MEMBER),
    ("platform", MEMBER, "platform", TeamRole.LEAD),
]
DEMO_APPS = ["assets", "findings", "controls", "incidents", "metrics"]


class Command(BaseCommand):
    help = "Load demo teams, people and samples once; print the new passwords."

    def handle(self, *args: Any, **options: Any) -> None:
        for role in GLOBAL_ROLES:
            Group.objects.get_or_create(name=role)
        if get_user_model().objects.filter(username="lead").exists():
            self.stdout.write("Demo data already loaded (sign in as lead, auditor, champion, researcher...).")
            return
        with actor_context(actor_id=None, actor_label="seed_demo", context={"command": "seed_demo"}):
            passwords = self._seed()
        self.stdout.write(self.style.SUCCESS("Demo data loaded. These passwords are shown once:"))
        for username, password in passwords.items():
            self.stdout.write(f"  {username:<12} {password}")

    @transaction.atomic
    def _seed(self) -> dict[str, str]:
        teams = {slug: Team.objects.create(name=name, slug=slug, function=fn) for name, slug, fn in TEAMS}
        users: dict[str, Any] = {}
        passwords: dict[str, str] = {}
        for username, role, team_slug, team_role in PEOPLE:
            password = secrets.token_urlsafe(12)
            expires = timezone.now() + dt.timedelta(days=30) if role == AUDITOR else None
            users[username] = user_create(
                username=username,
                email=f"{username}@example.org",
                password=password,
                role=role,
                access_expires_at=expires,
            )
            if team_slug:
                Membership.objects.create(team=teams[team_slug], user=users[username], role=team_role)
            passwords[username] = password
        for app in DEMO_APPS:
            try:
                module = importlib.import_module(f"{app}.demo")
            except ModuleNotFoundError:
                continue
            module.seed_demo_data(teams=teams, users=users)
        return passwords
