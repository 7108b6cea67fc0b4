"""Writing, sealing and verifying the audit log."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.utils import timezone

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
            _seal_apply(pending)
        sealed += len(pending)
        if len(pending) < SEAL_BATCH:
            if sealed:
                audit_checkpoint_write()
            return sealed


def _seal_apply(entries: list[AuditEntry]) -> None:
    """Write the seals through the owner's function: the application's role cannot UPDATE the log."""
    if not entries:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT hygiene_audit_seal_apply(%s::bigint[], %s::bigint[], %s::text[], %s::text[])",
            [
                [entry.pk for entry in entries],
                [entry.seq for entry in entries],
                [entry.prev_hash for entry in entries],
                [entry.hash for entry in entries],
            ],
        )


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    entry_id: int | None
    reason: str


def audit_log_verify(checkpoint: Checkpoint | None = None) -> tuple[int, ChainProblem | None]:
    """Walk the sealed chain; return how many entries hold, and the first problem if any.

    With a checkpoint (the anchor kept outside the database), the chain must also reach the entry it
    vouches for with the same hash: cutting off the newest entries, or rewriting the chain from some
    entry on, is then detected too.
    """
    checked, problem, hashes = _walk_chain(anchor_seq=checkpoint.seq if checkpoint else None)
    if problem is not None or checkpoint is None:
        return checked, problem
    if checked < checkpoint.seq:
        return checked, ChainProblem(
            checked + 1,
            None,
            f"entries {checked + 1} to {checkpoint.seq} are missing: the signed checkpoint of "
            f"{checkpoint.at} vouches for {checkpoint.seq} entries (the newest were cut off)",
        )
    if hashes.get(checkpoint.seq) != checkpoint.hash:
        return checked, ChainProblem(
            checkpoint.seq, None, "does not match the signed checkpoint (the chain was rewritten)"
        )
    return checked, None


def _walk_chain(*, anchor_seq: int | None) -> tuple[int, ChainProblem | None, dict[int, str]]:
    expected_seq = 1
    prev = GENESIS_HASH
    checked = 0
    anchored: dict[int, str] = {}
    entries = AuditEntry.objects.filter(seq__isnull=False).order_by("seq").iterator(chunk_size=2000)
    for entry in entries:
        problem = _entry_problem(entry, expected_seq, prev)
        if problem is not None:
            return checked, problem, anchored
        prev = entry.hash
        if expected_seq == anchor_seq:
            anchored[expected_seq] = entry.hash
        expected_seq += 1
        checked += 1
    return checked, None, anchored


def _entry_problem(entry: AuditEntry, expected_seq: int, prev: str) -> ChainProblem | None:
    if entry.seq != expected_seq:
        return ChainProblem(expected_seq, None, f"entry with sequence {expected_seq} is missing")
    if entry.prev_hash != prev:
        return ChainProblem(expected_seq, entry.pk, "does not follow the entry before it (reordered?)")
    if entry_digest(entry, prev) != entry.hash:
        return ChainProblem(expected_seq, entry.pk, "its content no longer matches its hash (altered)")
    return None


@dataclass(frozen=True)
class Checkpoint:
    """The head of the sealed chain at a moment, signed: what the log must still contain."""

    seq: int
    hash: str
    at: str

    def signed(self) -> str:
        return _signer().sign_object({"seq": self.seq, "hash": self.hash, "at": self.at})


CHECKPOINT_SALT = "hygiene.audit.checkpoint"


def _signer() -> signing.Signer:
    key = settings.HYGIENE_AUDIT_SIGNING_KEY or settings.SECRET_KEY
    return signing.Signer(key=key, salt=CHECKPOINT_SALT, algorithm="sha256")


def checkpoint_from_signed(token: str) -> Checkpoint:
    """The checkpoint a signed token stands for; ValueError when its signature does not hold."""
    try:
        data = _signer().unsign_object(token.strip())
        return Checkpoint(seq=int(data["seq"]), hash=str(data["hash"]), at=str(data["at"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise ValueError("the checkpoint's signature does not hold (forged or from another site)") from exc


@transaction.atomic
def audit_checkpoint_write() -> Checkpoint | None:
    """Anchor the newest sealed entry outside the database (replacing the file atomically).

    Holds the sealers' lock, so a slower process never puts back an older head over a newer one.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SEAL_LOCK_KEY])
    head = AuditEntry.objects.filter(seq__isnull=False).order_by("-seq").only("seq", "hash").first()
    if head is None or head.seq is None:
        return None
    current = audit_checkpoint_latest()
    if current is not None and current.seq >= head.seq:
        return current
    checkpoint = Checkpoint(seq=head.seq, hash=head.hash, at=timezone.now().isoformat(timespec="seconds"))
    path = Path(settings.HYGIENE_AUDIT_CHECKPOINT_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    with temporary.open("w") as handle:
        handle.write(checkpoint.signed() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return checkpoint


def audit_checkpoint_latest() -> Checkpoint | None:
    """The checkpoint last written, or None when none was; ValueError when it was forged."""
    path = Path(settings.HYGIENE_AUDIT_CHECKPOINT_FILE)
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        return None
    return checkpoint_from_signed(token) if token else None
