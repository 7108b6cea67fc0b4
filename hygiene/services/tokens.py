"""API tokens: issued once in clear, kept as a SHA-256, scoped to a team and to actions."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from hygiene.models import ApiToken, Team, TokenAction
from hygiene.permissions import (
    can_view_team,
    is_active_user,
    is_auditor,
    is_security_lead,
    token_actions,
    token_expires_at,
    token_team_id,
)

TOKEN_PREFIX = "hyg_"  # noqa: S105 - a marker, not a secret
MAX_LIFETIME = dt.timedelta(days=366)
# last_used_at is written at most this often, so a busy pipeline does not write on every call.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def token_create(
    *, actor: Any, name: str, team: Team | None, actions: list[str], expires_at: dt.datetime
) -> tuple[ApiToken, str]:
    """Issue a token; return it with the clear text, which is never stored or shown again."""
    if not is_active_user(actor):
        raise PermissionDenied("Sign in to create a token.")
    if team is not None and not can_view_team(actor, team.pk):
        raise PermissionDenied("You can only scope a token to a team you belong to.")
    unknown = set(actions) - set(TokenAction.values)
    if not actions or unknown:
        raise ValidationError({"actions": "Choose at least one of read, write, push scans."})
    if is_auditor(actor) and set(actions) != {TokenAction.READ}:
        raise ValidationError({"actions": "Auditors' tokens can only read."})
    now = timezone.now()
    if expires_at <= now:
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    if expires_at > now + MAX_LIFETIME:
        raise ValidationError({"expires_at": "A token may live one year at most."})
    _require_narrower_than_calling_token(actor, team=team, actions=set(actions), expires_at=expires_at)
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=actor,
        team=team,
        name=name,
        prefix=prefix,
        key_hash=_digest(secret),
        actions=sorted(set(actions)),
        expires_at=expires_at,
    )
    return token, f"{TOKEN_PREFIX}{prefix}_{secret}"


def _require_narrower_than_calling_token(
    actor: Any, *, team: Team | None, actions: set[str], expires_at: dt.datetime
) -> None:
    """A token may only mint tokens narrower than itself: its team, a subset of its actions, its expiry."""
    allowed = token_actions(actor)
    if allowed is None:  # signed in as a person, not through a token
        return
    narrowed = token_team_id(actor)
    if narrowed is not None and (team is None or team.pk != narrowed):
        raise PermissionDenied("A token scoped to a team can only create tokens for that same team.")
    if not actions <= allowed:
        extra = ", ".join(sorted(actions - allowed))
        raise PermissionDenied(f"A token can only create tokens with its own actions; it lacks {extra}.")
    limit = token_expires_at(actor)
    if limit is not None and expires_at > limit:
        raise ValidationError({"expires_at": "A token cannot create a token that outlives it."})


@transaction.atomic
def token_revoke(*, actor: Any, token: ApiToken) -> ApiToken:
    """Revoke a token: its owner or a security lead may (a leaked token must be stoppable)."""
    if actor is not None and actor.pk != token.user_id and not is_security_lead(actor):
        raise PermissionDenied("Only the token's owner or a security lead can revoke it.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_authenticate(raw: str) -> ApiToken | None:
    """The active token ``raw`` stands for, or None; records when it was last used."""
    if not raw.startswith(TOKEN_PREFIX) or raw.count("_") < 2:
        return None
    prefix, _, secret = raw[len(TOKEN_PREFIX) :].partition("_")
    token = ApiToken.objects.select_related("user", "team").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.key_hash, _digest(secret)):
        return None
    if not token.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
