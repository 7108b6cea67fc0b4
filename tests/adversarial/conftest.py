"""The world every adversarial test attacks: two teams, every persona of issue 13, and one object of team A
behind every route (so each route can be asked about something the outsider must not see)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import ApiTokenFactory

SESSION_PERSONAS = ("owner", "teammate", "outsider", "lead", "auditor", "expired_auditor", "anonymous")
TOKEN_PERSONAS = ("token_other_team", "token_read_only", "token_revoked", "token_expired")
PERSONAS = SESSION_PERSONAS + TOKEN_PERSONAS


@dataclass
class World:
    users: dict[str, Any]
    tokens: dict[str, str]
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    things: dict[str, Any] = field(default_factory=dict)

    def client(self, persona: str, *, api: bool) -> Client:
        client: Client = APIClient() if api else Client()
        if persona in self.users:
            client.force_login(self.users[persona])
        elif persona in self.tokens:
            client.defaults["HTTP_AUTHORIZATION"] = f"Token {self.tokens[persona]}"
        return client


@pytest.fixture
def world(
    db,
    settings,
    tmp_path,
    team_a,
    team_b,
    owner,
    teammate,
    outsider,
    lead,
    auditor,
    expired_auditor,
    team_b_token,
    revoked_token,
):
    from assets.models import PolicyViolation
    from findings.models import ScanFolderGrant, ScanSource
    from hygiene.models import AuditEntry, Membership, Notification
    from hygiene.services.teams import team_guest_grant
    from tests.factories import UserFactory
    from tests.factories.assets import AssetFactory, LineageEdgeFactory, level
    from tests.factories.findings import FindingFactory, ImportJobFactory

    drop = tmp_path / "drop"
    for folder in ("research", "research-extra", "platform", "unclaimed"):
        (drop / folder).mkdir(parents=True)
    settings.HYGIENE_SCAN_FOLDER_ROOTS = [str(drop)]
    guest = UserFactory(username="guest")
    team_guest_grant(actor=owner, team=team_a, user=guest)
    read_only = ApiTokenFactory(user=owner, team=team_a, actions=["read"])
    expired = ApiTokenFactory(user=owner, team=team_a, actions=["read", "write"])
    type(expired).objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    owners_token = ApiTokenFactory(user=owner, team=team_a, actions=["read", "write"], name="owner's")

    asset = AssetFactory(team=team_a, name="Team A secret dataset", kind="dataset")
    downstream = AssetFactory(team=team_a, name="Team A downstream")
    edge = LineageEdgeFactory(source=asset, target=downstream)
    violation = PolicyViolation.objects.create(asset=asset, rule="restricted_to_public", detail="x")
    finding = FindingFactory(asset=asset, title="Team A secret finding")
    third = AssetFactory(team=team_a, name="Team A third")
    job = ImportJobFactory(asset=asset, status="failed", error="The worker stopped.")
    source = ScanSource.objects.create(
        team=team_a, name="Team A drop", kind="folder", location=str(drop / "research")
    )
    grant = ScanFolderGrant.objects.create(team=team_a, path=str(drop / "research-extra"), granted_by=lead)
    notification = Notification.objects.create(recipient=owner, kind="test", title="For the owner only")
    membership = Membership.objects.get(team=team_a, user=teammate)
    from audits.models import EvidenceBundle
    from incidents.models import FollowUp
    from incidents.services.playbooks import playbook_start
    from tests.factories.audits import EngagementFactory
    from tests.factories.incidents import ExerciseFactory, IncidentFactory, playbook

    incident = IncidentFactory(team=team_a, title="Team A secret incident")
    run = playbook_start(actor=owner, incident=incident, playbook=playbook())
    followup = FollowUp.objects.create(
        incident=incident, title="Rotate", owner=owner, due_on=timezone.localdate(), created_by=owner
    )
    exercise = ExerciseFactory(team=team_a)
    engagement = EngagementFactory(auditor=auditor, opened_by=lead, teams=[team_a])
    bundle = EvidenceBundle.objects.create(engagement=engagement, requested_by=auditor)
    from controls.models import Assessment, ControlMapping, Evidence, Framework, Requirement
    from tests.factories.controls import ControlFactory, ExceptionFactory

    control = ControlFactory(code="ADV-001")
    framework = Framework.objects.create(slug="adv-framework", name="Adversarial framework")
    requirement = Requirement.objects.create(framework=framework, identifier="adv-1", title="Be tidy")
    mapping = ControlMapping.objects.create(control=control, requirement=requirement)
    assessment = Assessment.objects.create(control=control, asset=asset, team=team_a)
    Requirement.objects.create(framework=framework, identifier="adv-2", title="Be tidier")
    # A file, so its download route can be asked about (a text has nothing to download).
    evidence = Evidence.objects.create(
        assessment=assessment, team=team_a, kind="file", title="Seen", filename="seen.txt"
    )
    evidence.file.save("seen.txt", ContentFile(b"restore drill passed"), save=True)
    exception = ExceptionFactory(asset=asset, team=team_a)
    from hygiene.services.audit import audit_checkpoint_write, audit_log_seal

    audit_log_seal()
    audit_checkpoint_write()
    entry = AuditEntry.objects.filter(object_type="assets_asset", object_id=str(asset.pk)).latest("id")

    w = World(
        users={
            "owner": owner,
            "teammate": teammate,
            "outsider": outsider,
            "lead": lead,
            "auditor": auditor,
            "expired_auditor": expired_auditor,
        },
        tokens={
            "token_other_team": team_b_token.clear,
            "token_read_only": read_only.clear,
            "token_revoked": revoked_token.clear,
            "token_expired": expired.clear,
        },
    )
    w.objects = {
        "team": {"slug": team_a.slug},
        "member": {"slug": team_a.slug, "pk": membership.pk, "id": membership.pk},
        "guest": {"slug": team_a.slug, "user_id": guest.pk},
        "token": {"pk": owners_token.pk, "id": owners_token.pk},
        "person": {"user_id": teammate.pk},
        "notification": {"pk": notification.pk, "id": notification.pk},
        "audit_entry": {"pk": entry.pk, "id": entry.pk},
        "asset": {"pk": asset.pk, "id": asset.pk},
        "edge": {"pk": edge.pk, "id": edge.pk},
        "level": {"pk": level("internal").pk, "id": level("internal").pk},
        "violation": {"pk": violation.pk, "id": violation.pk},
        "finding": {"pk": finding.pk, "id": finding.pk},
        "job": {"pk": job.pk, "id": job.pk},
        "source": {"pk": source.pk, "id": source.pk},
        "grant": {"pk": grant.pk, "id": grant.pk},
        "incident": {"pk": incident.pk, "id": incident.pk},
        "step": {
            "pk": incident.pk,
            "id": incident.pk,
            "item_id": run.items.first().pk,
            "item": run.items.first().pk,
        },
        "followup": {"pk": followup.pk, "id": followup.pk},
        "exercise": {"pk": exercise.pk, "id": exercise.pk},
        "playbook": {"slug": playbook().slug},
        "engagement": {"pk": engagement.pk, "id": engagement.pk},
        "records": {"pk": engagement.pk, "id": engagement.pk, "key": "findings", "export_format": "csv"},
        "bundle": {"pk": bundle.pk, "id": bundle.pk},
        "export": {"key": "findings", "export_format": "csv"},
        "control": {"code": control.code},
        "mapping": {"code": control.code, "pk": mapping.pk, "id": mapping.pk, "mapping_id": mapping.pk},
        "assessment": {"pk": assessment.pk, "id": assessment.pk},
        "evidence": {"pk": evidence.pk, "id": evidence.pk},
        "exception": {"pk": exception.pk, "id": exception.pk},
        "framework": {"slug": framework.slug},
        "chart": {"key": "ttp"},
        "metric": {"key": "open"},
    }
    w.things = {
        "asset": asset,
        "finding": finding,
        "job": job,
        "drop": drop,
        "source": source,
        "guest": guest,
        "third": third,
        "control": control,
        "assessment": assessment,
    }
    get_user_model()  # the user model is loaded before any request
    return w
