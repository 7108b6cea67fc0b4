"""Notifications: a person's own, in the header, on a page, through the API, and by e-mail."""

import pytest
from django.core import mail
from django.urls import reverse

from hygiene.models import Notification
from hygiene.services.notifications import notification_send
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_notification_is_shown_in_the_header_and_emailed_after_commit(client, owner):
    owner.email = "owner@example.org"
    owner.save()

    notification_send(recipients=[owner, owner], kind="test", title="Decide exception #4", url="/findings/")

    assert Notification.objects.filter(recipient=owner).count() == 1
    assert [m.to for m in mail.outbox] == [["owner@example.org"]]
    assert "Decide exception #4" in mail.outbox[0].subject
    page = client_for(client, owner).get(reverse("home")).content.decode()
    assert "Notifications: 1 unread" in page


def test_nothing_is_sent_when_the_action_rolls_back(owner):
    from django.db import transaction

    owner.email = "owner@example.org"
    owner.save()
    with pytest.raises(RuntimeError), transaction.atomic():
        notification_send(recipients=[owner], kind="test", title="Never")
        raise RuntimeError("the action failed")

    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_opening_a_notification_marks_it_read_and_follows_only_site_paths(client, owner):
    (inside,) = notification_send(recipients=[owner], kind="test", title="In", url="/findings/", email=False)
    (outside,) = notification_send(
        recipients=[owner], kind="test", title="Out", url="//evil.example/", email=False
    )
    client_for(client, owner)

    assert client.post(reverse("notifications:open", args=[inside.pk])).url == "/findings/"
    assert client.post(reverse("notifications:open", args=[outside.pk])).url == reverse("notifications:list")
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_nobody_reads_or_marks_another_persons_notifications(client, api_client, owner, outsider):
    (note,) = notification_send(recipients=[owner], kind="test", title="Private to owner", email=False)

    client_for(client, outsider)
    assert "Private to owner" not in client.get(reverse("notifications:list")).content.decode()
    assert client.post(reverse("notifications:open", args=[note.pk])).status_code == 404
    api_client.force_authenticate(outsider)
    assert api_client.get("/api/v1/notifications/").json()["count"] == 0
    assert api_client.post("/api/v1/notifications/mark-read/", {"ids": [note.pk]}, format="json").json() == {
        "marked": 0
    }
    note.refresh_from_db()
    assert note.read_at is None


def test_the_api_lists_unread_and_marks_all_read(api_client, owner):
    notification_send(recipients=[owner], kind="test", title="One", email=False)
    notification_send(recipients=[owner], kind="test", title="Two", email=False)
    api_client.force_authenticate(owner)

    assert api_client.get("/api/v1/notifications/?unread=true").json()["count"] == 2
    assert api_client.post("/api/v1/notifications/mark-read/", {}, format="json").json() == {"marked": 2}
    assert api_client.get("/api/v1/notifications/?unread=true").json()["count"] == 0


def test_the_page_says_what_it_is_for_when_empty(client):
    user = UserFactory(username="new")
    page = client_for(client, user).get(reverse("notifications:list")).content.decode()
    assert "Nothing yet" in page
