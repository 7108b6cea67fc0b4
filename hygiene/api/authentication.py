from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from hygiene.middleware import request_context
from hygiene.permissions import access_expired
from hygiene.services.audit import audit_actor_set
from hygiene.services.mfa import session_lacks_mfa
from hygiene.services.tokens import token_authenticate


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token hyg_…``; the token narrows the user to its team and actions."""

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in ("token", "bearer"):
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the header as: Authorization: Token <token>.")
        token = token_authenticate(header[1])
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        user = token.user
        if not user.is_active or access_expired(user):
            raise exceptions.AuthenticationFailed("The token's owner no longer has access.")
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            context = {**request_context(request._request), "token": token.prefix}
            audit_actor_set(actor_id=user.pk, actor_label=user.get_username(), context=context)
        user.token_team_id = token.team_id
        user.token_actions = set(token.actions)
        user.token_expires_at = token.expires_at
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class MfaSessionAuthentication(authentication.SessionAuthentication):
    """The browser session, held to the same second-factor rule as the pages."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is not None and session_lacks_mfa(result[0]):
            raise exceptions.PermissionDenied(
                "This session has not passed the second factor your account needs: "
                "sign in again with your code, or enrol an authenticator app."
            )
        return result


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "hygiene.api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Token hyg_…"}


class MfaSessionScheme(OpenApiAuthenticationExtension):
    target_class = "hygiene.api.authentication.MfaSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "The browser session, once it passed the second factor the account needs.",
        }
