"""The published OpenAPI document tells the truth about errors.

FastAPI declares every 422 as its own `HTTPValidationError` (`application/json`, `detail` a list),
while the services answer every error as an RFC 9457 problem (`application/problem+json`, a string
`detail`, and `errors` for the fields at fault: `services/common/problems.py`). `install_openapi`
rewrites the generated document once, for every service:

- the components `Problem` and `ProblemFieldError` describe the real body;
- every operation declares, with that schema, the error statuses the shared runtime can give it:
  400, 404, 405, 409, 413, 422 and 429, and 401 and 403 when it needs a bearer token;
- FastAPI's `HTTPValidationError` and `ValidationError` components are removed.

A route may declare more (its own `responses=`); what it declares for one of these statuses keeps
its description, and only the body is replaced by the problem schema.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from services.common.problems import PROBLEM_BASE, PROBLEM_MEDIA_TYPE

PROBLEM_REF = "#/components/schemas/Problem"

PROBLEM_FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ProblemFieldError",
    "type": "object",
    "description": "One field at fault: where it is, what rule it breaks, in English and Arabic.",
    "properties": {
        "field": {"type": "string", "description": "e.g. `applicant.phone`, `query.page`."},
        "location": {"type": "string", "enum": ["body", "query", "path", "header", "cookie"]},
        "message": {"type": "string"},
        "message_ar": {"type": "string"},
        "type": {"type": "string", "description": "The rule, e.g. `missing`, `string_too_long`."},
    },
    "required": ["field"],
    "additionalProperties": True,
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": (
        "An RFC 9457 problem, in English and Arabic. Clients branch on `type`, never on the "
        "wording."
    ),
    "properties": {
        "type": {
            "type": "string",
            "format": "uri",
            "description": f"Stable, e.g. `{PROBLEM_BASE}validation`.",
        },
        "title": {"type": "string"},
        "title_ar": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "detail_ar": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/ProblemFieldError"},
        },
        "retry_after": {"type": "number", "description": "Seconds to wait, with a 429."},
    },
    "required": ["type", "title", "title_ar", "status"],
    "additionalProperties": True,
}

# status -> description, for every operation.
COMMON_ERRORS: dict[int, str] = {
    400: "Bad request: the request could not be read (e.g. a malformed form or header).",
    404: "Not found: no such resource, or not one the caller may see.",
    405: "Method not allowed on this path; `Allow` names those that are.",
    409: "Conflict with the resource's current state, or a reused `Idempotency-Key`.",
    413: "Content too large.",
    422: "Invalid input (the fields at fault in `errors`), or a request the rules refuse.",
    429: "Too many requests; `Retry-After` says when to try again.",
}
# status -> description, for operations that need a bearer token.
AUTH_ERRORS: dict[int, str] = {
    401: "No valid bearer token.",
    403: "The caller lacks the role this action needs.",
}

# For a route whose caller signs its requests instead of bearing a token (a provider's callback).
SIGNED_CALLER_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "The request's signature is missing, wrong or too old."}
}

_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
    }


_FORM_MEDIA_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _forms_without_null(document: dict[str, Any], operation: dict[str, Any]) -> None:
    """A form part is text: it can be left out, never be `null`. FastAPI publishes an optional
    form field (`X | None`) as `anyOf: [X, null]`, which tells clients they may send `null`
    (they would send the text "null", refused); keep `X` only, the field staying optional."""
    content = operation.get("requestBody", {}).get("content", {})
    for media_type in _FORM_MEDIA_TYPES:
        schema = content.get(media_type, {}).get("schema")
        if not isinstance(schema, dict):
            continue
        for part in _parts(document, schema):
            _drop_null(part)


def _parts(document: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """`schema` and the schemas it is made of (`$ref`, `allOf`), resolved."""
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = document["components"]["schemas"].get(ref.rsplit("/", 1)[1], {})
    parts = [schema]
    for member in schema.get("allOf", []):
        if isinstance(member, dict):
            parts += _parts(document, member)
    return parts


def _drop_null(schema: dict[str, Any]) -> None:
    for name, field in list(schema.get("properties", {}).items()):
        options = field.get("anyOf")
        if not isinstance(options, list):
            continue
        kept = [option for option in options if option.get("type") != "null"]
        if len(kept) == len(options):
            continue
        rest = {key: value for key, value in field.items() if key not in ("anyOf", "default")}
        schema["properties"][name] = (
            {**rest, **kept[0]} if len(kept) == 1 else {**rest, "anyOf": kept}
        )


def rewrite(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with the problem schema declared for every error (changed in place)."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["ProblemFieldError"] = PROBLEM_FIELD_ERROR_SCHEMA
    security_default = bool(document.get("security"))
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in _METHODS or not isinstance(operation, dict):
                continue
            _forms_without_null(document, operation)
            responses: dict[str, Any] = operation.setdefault("responses", {})
            errors = dict(COMMON_ERRORS)
            if operation.get("security", security_default):
                errors.update(AUTH_ERRORS)
            # What the route declares itself (e.g. a signed callback's 401, a 410) is a problem too.
            for code in responses:
                if code[:1] in ("4", "5") and code.isdigit():
                    errors.setdefault(int(code), "Refused; see the problem's `detail`.")
            for status, description in sorted(errors.items()):
                declared = responses.get(str(status), {}).get("description")
                if not declared or declared == "Validation Error":  # FastAPI's own wording
                    declared = description
                responses[str(status)] = _problem_response(declared)
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve `app`'s OpenAPI document with the problem schema (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                summary=app.summary,
                description=app.description,
                terms_of_service=app.terms_of_service,
                contact=app.contact,
                license_info=app.license_info,
                routes=app.routes,
                webhooks=app.webhooks.routes,
                tags=app.openapi_tags,
                servers=app.servers,
                separate_input_output_schemas=app.separate_input_output_schemas,
            )
            app.openapi_schema = rewrite(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
