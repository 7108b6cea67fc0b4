"""The People page: refusals before any lookup, rows that start from the person's role, saves that
change only what changed."""

import datetime as dt

import pytest
from django.utils import timezone

from hygiene.models import AuditEntry
from hygiene.roles import AUDITOR, SECURITY_LEAD
from hygiene.services.teams import user_set_global_role
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("payload", [{}, {"role": ""}, {"role": "Security lead"}])
def test_a_member_learns_nothing_about_a_user_id_from_the_role_form(client, teammate, payload):
    someone = UserFactory(username="zelda-quartermaine")

    response = client_for(client, teammate).post(f"/people/{someone.pk}/role/", payload, follow=True)

    assert response.status_code == 403
    assert "zelda" not in response.content.decode()
    missing = client.post("/people/999999/role/", payload)
    assert missing.status_code == 403


def test_people_rows_start_from_the_current_role_and_end_of_access(client, lead, auditor, teammate):
    response = client_for(client, lead).get("/people/")

    rows = {row["person"].username: row for row in response.context["rows"]}
    assert rows["auditor"]["role"] == AUDITOR
    assert rows["teammate"]["role"] == "Member"
    assert rows["lead"]["role"] == SECURITY_LEAD
    page = response.content.decode()
    assert f'value="{timezone.localdate(auditor.profile.access_expires_at).isoformat()}"' in page
    assert '<option value="Auditor" selected>' in page


def test_saving_a_row_unchanged_writes_nothing(lead, auditor):
    before = auditor.profile.access_expires_at
    day = timezone.localdate(before)
    entries = AuditEntry.objects.count()

    changed = user_set_global_role(
        actor=lead,
        user=auditor,
        role=AUDITOR,
        access_expires_at=dt.datetime.combine(
            day, dt.time(23, 59, 59), tzinfo=timezone.get_current_timezone()
        ),
    )

    auditor.refresh_from_db()
    assert changed == []
    assert auditor.profile.access_expires_at == before
    assert AuditEntry.objects.count() == entries


def test_changing_only_the_date_keeps_the_role(lead, auditor):
    later = timezone.now() + dt.timedelta(days=60)

    changed = user_set_global_role(actor=lead, user=auditor, role=AUDITOR, access_expires_at=later)

    auditor.refresh_from_db()
    assert changed == ["access_expires_at"]
    assert list(auditor.groups.values_list("name", flat=True)) == [AUDITOR]
