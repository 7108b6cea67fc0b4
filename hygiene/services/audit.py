"""Writing, sealing and verifying the audit log."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from hygiene.models import AuditEntry

GENESIS_HASH = "0" * 64
SEAL_BATCH = 2000
_SEAL_LOCK_KEY = 0x4A7D17  # any constant; serializes sealers across processes


def audit_actor_set(*, actor_id: int | None, actor_label: str, context: dict[str, Any]) -> None:
    """Tell the audit triggers who acts on this connection from now on (actor_context resets it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('hygiene.actor_id', %s, false), set_config('hygiene.actor_label', %s, false),"
            " set_config('hygiene.context', %s, false)",
            ["" if actor_id is None else str(actor_id), actor_label, json.dumps(context, default=str)],
        )


@contextlib.contextmanager
def actor_context(*, actor_id: int | None, actor_label: str, context: dict[str, Any]) -> Iterator[None]:
    """Tell the audit triggers who is acting for the statements run inside the block."""
    audit_actor_set(actor_id=actor_id, actor_label=actor_label, context=context)
    try:
        yield
    finally:
        if connection.connection is not None and not connection.needs_rollback:
            with contextlib.suppress(Exception), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('hygiene.actor_id', '', false),"
                    " set_config('hygiene.actor_label', '', false), set_config('hygiene.context', '', false)"
                )


_LOCAL_SETTINGS = ("hygiene.actor_id", "hygiene.actor_label", "hygiene.reason")


@contextlib.contextmanager
def audit_local(*, actor_id: int | None, actor_label: str, reason: str = "") -> Iterator[None]:
    """Name the actor (and the reason) of the changes made inside the block, then restore what was set.

    The settings are transaction-local (the caller is atomic), so a failure cannot leave them behind.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join("current_setting(%s, true)" for _ in _LOCAL_SETTINGS), list(_LOCAL_SETTINGS)
        )
        previous = cursor.fetchone() or ("",) * len(_LOCAL_SETTINGS)
        _set_local(cursor, ["" if actor_id is None else str(actor_id), actor_label, reason])
    try:
        yield
    finally:
        if not connection.needs_rollback:
            with connection.cursor() as cursor:
                _set_local(cursor, [value or "" for value in previous])


def _set_local(cursor: Any, values: list[str]) -> None:
    cursor.execute(
        "SELECT " + ", ".join("set_config(%s, %s, true)" for _ in _LOCAL_SETTINGS),
        [item for pair in zip(_LOCAL_SETTINGS, values, strict=True) for item in pair],
    )


def audit_event(
    *,
    action: str,
    object_type: str,
    object_id: str = "",
    actor_id: int | None = None,
    actor_label: str = "",
    detail: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record an event that is not a row change: a sign-in, a failed sign-in, an export."""
    return AuditEntry.objects.create(
        action=action,
        object_type=object_type,
        object_id=object_id,
        actor_id=actor_id,
        actor_label=actor_label,
        after=detail,
        context=context or {},
    )


def entry_digest(entry: AuditEntry, prev_hash: str) -> str:
    """The SHA-256 that chains ``entry`` to the entry before it."""
    body = {
        "seq": entry.seq,
        "prev": prev_hash,
        "id": entry.pk,
        "at": entry.occurred_at.isoformat(),
        "actor_id": entry.actor_id,
        "actor": entry.actor_label,
        "action": entry.action,
        "type": entry.object_type,
        "object": entry.object_id,
        "before": entry.before,
        "after": entry.after,
        "changes": entry.changes,
        "context": entry.context,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def audit_log_seal() -> int:
    """Chain every entry not sealed yet onto the end of the log; return how many were sealed."""
    sealed = 0
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SEAL_LOCK_KEY])
            last = AuditEntry.objects.filter(seq__isnull=False).order_by("-seq").only("seq", "hash").first()
            seq = last.seq if last and last.seq else 0
            prev = last.hash if last else GENESIS_HASH
            pending = list(AuditEntry.objects.filter(seq__isnull=True).order_by("id")[:SEAL_BATCH])
            for entry in pending:
                seq += 1
                entry.seq = seq
                entry.prev_hash = prev
                entry.hash = entry_digest(entry, prev)
                prev = entry.hash
            AuditEntry.objects.bulk_update(pending, ["seq", "prev_hash", "hash"], batch_size=500)
        sealed += len(pending)
        if len(pending) < SEAL_BATCH:
            return sealed


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    entry_id: int | None
    reason: str


def audit_log_verify() -> tuple[int, ChainProblem | None]:
    """Walk the sealed chain; return how many entries hold, and the first problem if any."""
    expected_seq = 1
    prev = GENESIS_HASH
    checked = 0
    entries = AuditEntry.objects.filter(seq__isnull=False).order_by("seq").iterator(chunk_size=2000)
    for entry in entries:
        if entry.seq != expected_seq:
            return checked, ChainProblem(expected_seq, None, f"entry with sequence {expected_seq} is missing")
        if entry.prev_hash != prev:
            return checked, ChainProblem(
                entry.seq, entry.pk, "does not follow the entry before it (reordered?)"
            )
        if entry_digest(entry, prev) != entry.hash:
            return checked, ChainProblem(
                entry.seq, entry.pk, "its content no longer matches its hash (altered)"
            )
        prev = entry.hash
        expected_seq += 1
        checked += 1
    return checked, None
