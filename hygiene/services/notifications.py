"""Telling people what happened: in the app and by e-mail.

Every feature that notifies (exceptions, incidents, escalations, exports) calls ``notification_send``;
the e-mail goes out from a worker after the transaction commits, so a rolled-back action sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from hygiene.models import Notification


def notification_send(
    *,
    recipients: Iterable[Any],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    email: bool = True,
) -> list[Notification]:
    """Notify each distinct, active recipient once; e-mail them after commit when ``email``."""
    return notification_send_many(
        messages=[OutgoingMessage(recipients, kind, title, body, url)], email=email
    )[0]


@dataclass(frozen=True)
class OutgoingMessage:
    recipients: Iterable[Any]
    kind: str
    title: str
    body: str = ""
    url: str = ""


def notification_send_many(
    *, messages: Iterable[OutgoingMessage], email: bool = True
) -> list[list[Notification]]:
    """Send many messages with one insert (e.g. an escalation run); the notifications of each message."""
    rows: list[Notification] = []
    spans: list[tuple[int, int]] = []
    for message in messages:
        seen: set[int] = set()
        start = len(rows)
        for person in message.recipients:
            if person is None or person.pk in seen or not person.is_active:
                continue
            seen.add(person.pk)
            rows.append(
                Notification(
                    recipient=person,
                    kind=message.kind,
                    title=message.title[:200],
                    body=message.body,
                    url=message.url[:500],
                )
            )
        spans.append((start, len(rows)))
    created = Notification.objects.bulk_create(rows)
    if email and created:
        ids = [note.pk for note in created]
        transaction.on_commit(lambda: _queue_emails(ids))
    return [created[start:end] for start, end in spans]


def _queue_emails(ids: list[int]) -> None:
    from hygiene.tasks import send_notification_emails

    send_notification_emails.delay(ids)


def is_site_path(url: str) -> bool:
    """Whether ``url`` is a path on this site: appended to SITE_URL, ``@evil.example/x`` or ``//evil``
    would make an e-mail link to another host."""
    return url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=None)


def notification_send_emails(*, ids: list[int]) -> int:
    """E-mail the notifications not e-mailed yet; return how many went out (idempotent)."""
    sent = 0
    pending = Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).select_related("recipient")
    for note in pending:
        address = note.recipient.email
        if address:
            link = f"\n\n{settings.SITE_URL.rstrip('/')}{note.url}" if is_site_path(note.url) else ""
            send_mail(
                subject=f"[hygiene] {note.title}",
                message=f"{note.body}{link}".strip() or note.title,
                from_email=None,
                recipient_list=[address],
            )
            sent += 1
        Notification.objects.filter(pk=note.pk, emailed_at__isnull=True).update(emailed_at=timezone.now())
    return sent


def notification_mark_read(*, user: Any, ids: Iterable[int] | None = None) -> int:
    """Mark the person's own notifications read (all unread ones when ``ids`` is None)."""
    unread = Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())


def people_with_roles(*, team_id: int | None, roles: Iterable[str]) -> list[Any]:
    """The active people holding one of ``roles`` in a team (e.g. whom to tell about an approval)."""
    if team_id is None:
        return []
    return list(
        get_user_model()
        .objects.filter(is_active=True, memberships__team_id=team_id, memberships__role__in=list(roles))
        .distinct()
    )
