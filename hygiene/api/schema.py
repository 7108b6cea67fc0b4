"""The OpenAPI schema declares every answer the API gives, errors included.

Views declare their successful answers and the errors particular to them; the errors every view may
give (401 without valid credentials, 403 without the right, 404 for an object that does not exist or
is not yours to see, 400 for malformed input, and so on) are added here, with their body's shape.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent

ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "description": "Why the request was refused.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "ValidationError": {
        "type": "object",
        "description": (
            "What is wrong with the input: each field at fault, named, with its messages "
            "(a list of strings, or an object for nested fields); `detail` or `non_field_errors` "
            "for the request as a whole."
        ),
        "additionalProperties": {},
    },
}


class AutoSchema(SpectacularAutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for code, (component, description) in self._error_responses(operation).items():
            if code not in responses:
                responses[code] = {
                    "description": description,
                    "content": {"application/json": {"schema": self._error_component(component).ref}},
                }
        return operation

    def _error_component(self, name: str) -> ResolvedComponent:
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, object=name, schema=ERROR_SCHEMAS[name]
        )
        self.registry.register_on_missing(component)
        return component

    def _error_responses(self, operation: dict[str, Any]) -> dict[str, tuple[str, str]]:
        body = operation.get("requestBody", {}).get("content", {})
        parameters = operation.get("parameters", [])
        codes = {
            "401": ("Error", "No valid credentials: sign in, or send a valid, unexpired token."),
            "403": ("Error", "Not allowed: your role, team or token scope does not permit this."),
            "404": ("Error", "No such object (or not one you may see), or no such page of a list."),
        }
        if body or parameters:
            codes["400"] = ("ValidationError", "Malformed input: the fields at fault are named.")
        if body:
            codes["415"] = ("Error", "The body is not in a media type this operation reads.")
        if "multipart/form-data" in body:
            codes["413"] = ("Error", "The file is larger than this upload allows.")
        if self.view is not None and self.view.get_throttles():
            codes["429"] = ("Error", "Too many attempts: wait and try again.")
        return codes
