"""How the OpenAPI schema describes the API beyond what drf-spectacular infers from the views:
who may call an operation anonymously, the error answers each operation can give, and that no
text a client sends may hold a NUL character.

The running API is fuzzed from this schema (`tests/contrib/test_api_fuzz.py`): every answer it
gives is documented, it takes what the schema allows and refuses, with a 400 naming the
parameter or field, what the schema does not.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.permissions import SAFE_METHODS

from contrib.api.permissions import PublicReadOnly

_ERROR = {
    "type": "object",
    "description": "Why the request was refused.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_VALIDATION_ERROR = {
    "type": "object",
    "description": (
        "What is wrong with the request, by the name of the parameter or body field: a list of "
        "messages (an object for a nested field); `detail` for what concerns no single field."
    ),
    "additionalProperties": {
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {}},
            {"type": "object"},
        ]
    },
    "minProperties": 1,
}
_ERROR_ANSWERS = {
    "400": "The input is invalid; the answer names each parameter or field at fault.",
    "401": "The credentials are unknown or revoked, or the operation needs them and none came.",
    "403": "Signed in, but not allowed to do this.",
    "404": "There is no such object (or page of results).",
    "415": "The body is not JSON (`Content-Type: application/json`).",
    "429": "Too many failed sign-ins or wrong tokens from this address: wait, then try again.",
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's inference, plus anonymous access where a view allows it and the error
    answers (400, 401, 403, 404, 415, 429) an operation can give, each with its JSON body."""

    def get_auth(self) -> list[dict[str, Any]]:
        auths = super().get_auth()
        if {} not in auths and self._allows_anonymous():
            auths.append({})  # OpenAPI's way to say "or no credentials at all"
        return auths

    def _allows_anonymous(self) -> bool:
        return self.method in SAFE_METHODS and any(
            isinstance(permission, PublicReadOnly) for permission in self.view.get_permissions()
        )

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        parameters = operation.get("parameters", [])
        anonymous = {} in operation.get("security", [])
        answers = {
            # A write may break a rule of the domain (contrib.errors) even with no body.
            "400": "requestBody" in operation
            or self.method not in SAFE_METHODS
            or any(parameter["in"] == "query" for parameter in parameters),
            # Any request may carry a token: a wrong one is refused even where none is needed,
            # and any from an address locked out for failed sign-ins (accounts.throttling).
            "401": True,
            "403": not anonymous,
            "404": any(
                parameter["in"] == "path" or parameter["name"] == "page" for parameter in parameters
            ),
            "415": "requestBody" in operation,
            "429": True,
        }
        responses = operation["responses"]
        for status, applies in answers.items():
            if applies and status not in responses:
                schema = self._error_schema("ValidationError" if status == "400" else "Error")
                responses[status] = {
                    "description": _ERROR_ANSWERS[status],
                    "content": {"application/json": {"schema": schema}},
                }
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_schema(self, name: str) -> dict[str, str]:
        component = ResolvedComponent(
            name=name,
            type=ResolvedComponent.SCHEMA,
            object=f"contrib.api.schema.{name}",
            schema=_VALIDATION_ERROR if name == "ValidationError" else _ERROR,
        )
        self.registry.register_on_missing(component)
        return component.ref


# Text that a client sends holds no NUL character: Django's forms and DRF's fields refuse one
# (PostgreSQL cannot store it), with a 400 naming the parameter or field.
NUL_FREE_PATTERN = "^[^\\x00]*$"


def _nul_free(schema: dict[str, Any]) -> None:
    if schema.get("type") == "array":
        _nul_free(schema.get("items", {}))
    elif schema.get("type") == "string" and not {"pattern", "enum", "format"} & set(schema):
        schema["pattern"] = NUL_FREE_PATTERN


def postprocess_nul_free_strings(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A drf-spectacular hook: every free text of a query parameter or a request body says
    that it holds no NUL character (a path parameter with one names no object: a 404)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    _nul_free(parameter["schema"])
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST: the bodies clients send
            for field in component.get("properties", {}).values():
                _nul_free(field)
    return result
