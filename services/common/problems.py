"""Error responses: RFC 9457 problem details (`application/problem+json`), in Arabic and English.

Services raise one of the few error kinds below (`NotFound`, `Forbidden`, `Unauthorized`,
`Conflict`, `Invalid`, `Gone`, `TooManyRequests`) from wherever the rule lives, or a domain
refusal (`services/common/errors.py`), which `problem_of` maps to its problem;
`install_problem_handlers` maps them all, FastAPI's request validation errors, Starlette's HTTP
errors and any unexpected exception to one body shape, once:

    {"type": "https://api.amman.jo/problems/not-found", "title": "...", "title_ar": "...",
     "status": 404, "detail": "...", "detail_ar": "...", "instance": "/v1/requests/123", ...}

Each `type` is stable: clients and the portal branch on it, never on the wording. No response ever
carries a stack trace, an exception's text, or the rejected input values (they may hold personal
data): validation errors name the field and the rule only.
"""

from __future__ import annotations

import http.client
import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from services.common import errors

logger = logging.getLogger(__name__)

PROBLEM_BASE = "https://api.amman.jo/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

# Members of the body that an extension must not overwrite.
_RESERVED_MEMBERS = frozenset(
    {"type", "title", "title_ar", "status", "detail", "detail_ar", "instance", "headers"}
)


class Problem(Exception):
    """An error a client can act on; each subclass is one stable problem `type`.

    `detail` (and `detail_ar`) say what went wrong for this occurrence, in words a citizen can
    read; keyword arguments become extension members of the body (e.g. `errors=[...]`).
    """

    status: ClassVar[int]
    kind: ClassVar[str]
    title: ClassVar[str]
    title_ar: ClassVar[str]

    def __init__(self, detail: str, detail_ar: str | None = None, **extensions: Any) -> None:
        clashes = _RESERVED_MEMBERS.intersection(extensions)
        if clashes:
            raise ValueError(f"extension members clash with problem members: {sorted(clashes)}")
        super().__init__(detail)
        self.detail = detail
        self.detail_ar = detail_ar
        self.extensions = extensions

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.kind

    def response_headers(self) -> dict[str, str]:
        """Headers the response must carry for this kind (none by default)."""
        return {}


class NotFound(Problem):
    status = 404
    kind = "not-found"
    title = "Not found"
    title_ar = "غير موجود"


class Forbidden(Problem):
    status = 403
    kind = "forbidden"
    title = "Forbidden"
    title_ar = "ليست لديك صلاحية لهذا الإجراء"


class Unauthorized(Problem):
    status = 401
    kind = "unauthorized"
    title = "Authentication required"
    title_ar = "يلزم تسجيل الدخول"

    def response_headers(self) -> dict[str, str]:
        # RFC 9110 §15.5.2: a 401 must say which scheme would be accepted.
        return {"WWW-Authenticate": "Bearer"}


class Conflict(Problem):
    status = 409
    kind = "conflict"
    title = "Conflict with the current state"
    title_ar = "يتعارض مع الحالة الحالية"


class Invalid(Problem):
    """A business-rule violation on well-formed input.

    May carry `errors=[{"field", "message", "message_ar"}]`, the shape validation errors use.
    """

    status = 422
    kind = "invalid"
    title = "Request not allowed by the rules"
    title_ar = "الطلب غير مقبول وفق الشروط"


class Gone(Problem):
    status = 410
    kind = "gone"
    title = "No longer available"
    title_ar = "لم يعد متاحًا"


class TooManyRequests(Problem):
    """Rate limited; pass `retry_after=<seconds>` to also send the `Retry-After` header."""

    status = 429
    kind = "too-many-requests"
    title = "Too many requests"
    title_ar = "عدد الطلبات كبير جدًا"

    def response_headers(self) -> dict[str, str]:
        retry_after = self.extensions.get("retry_after")
        return {"Retry-After": str(int(retry_after))} if retry_after is not None else {}


_DOMAIN_PROBLEMS: tuple[tuple[type[errors.DomainError], type[Problem]], ...] = (
    (errors.Unknown, NotFound),
    (errors.NotAllowedNow, Conflict),
    (errors.RuleBroken, Invalid),
    (errors.NotPermitted, Forbidden),
    (errors.Gone, Gone),
)


def problem_of(error: errors.DomainError) -> Problem:
    """The one mapping of the domain's refusals (`services/common/errors.py`) to problems: the
    table there; a refusal of no listed kind is `Invalid`. The fields at fault become `errors`."""
    if isinstance(error, errors.Throttled):
        return TooManyRequests(error.detail, error.detail_ar, retry_after=error.retry_after)
    problem = next((p for kind, p in _DOMAIN_PROBLEMS if isinstance(error, kind)), Invalid)
    if error.errors:
        return problem(
            error.detail,
            error.detail_ar,
            errors=[item.as_problem_item() for item in error.errors],
        )
    return problem(error.detail, error.detail_ar)


def problem_response(
    status: int,
    kind: str,
    title: str,
    title_ar: str,
    detail: str | None = None,
    detail_ar: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """Build one `application/problem+json` response; the only place the body shape is written."""
    clashes = _RESERVED_MEMBERS.intersection(extensions)
    if clashes:
        raise ValueError(f"extension members clash with problem members: {sorted(clashes)}")
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + kind,
        "title": title,
        "title_ar": title_ar,
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    if detail_ar is not None:
        body["detail_ar"] = detail_ar
    if instance is not None:
        body["instance"] = instance
    body.update(extensions)
    return JSONResponse(
        jsonable_encoder(body),
        status_code=status,
        headers=dict(headers) if headers else None,
        media_type=PROBLEM_MEDIA_TYPE,
    )


# --- validation errors ---------------------------------------------------------------------------

_GENERIC_AR = "القيمة غير صالحة"

# Arabic for pydantic's error types. `{name}` placeholders are filled from the error's `ctx`, which
# holds the rule's parameters (a length, a bound), never the rejected value.
_MESSAGES_AR: dict[str, str] = {
    "missing": "هذا الحقل مطلوب",
    "extra_forbidden": "هذا الحقل غير مسموح به",
    "string_type": "يجب أن تكون القيمة نصًا",
    "string_too_short": "يجب ألا يقل طول النص عن {min_length} من الأحرف",
    "string_too_long": "يجب ألا يزيد طول النص عن {max_length} من الأحرف",
    "string_pattern_mismatch": "القيمة لا تطابق الصيغة المطلوبة",
    "int_type": "يجب أن تكون القيمة عددًا صحيحًا",
    "int_parsing": "يجب أن تكون القيمة عددًا صحيحًا",
    "int_from_float": "يجب أن تكون القيمة عددًا صحيحًا بلا كسور",
    "float_type": "يجب أن تكون القيمة رقمًا",
    "float_parsing": "يجب أن تكون القيمة رقمًا",
    "decimal_type": "يجب أن تكون القيمة رقمًا",
    "decimal_parsing": "يجب أن تكون القيمة رقمًا",
    "greater_than": "يجب أن تكون القيمة أكبر من {gt}",
    "greater_than_equal": "يجب أن تكون القيمة أكبر من {ge} أو مساوية له",
    "less_than": "يجب أن تكون القيمة أصغر من {lt}",
    "less_than_equal": "يجب أن تكون القيمة أصغر من {le} أو مساوية له",
    "multiple_of": "يجب أن تكون القيمة من مضاعفات {multiple_of}",
    "literal_error": "يجب أن تكون القيمة إحدى القيم التالية: {expected}",
    "enum": "يجب أن تكون القيمة إحدى القيم التالية: {expected}",
    "value_error": _GENERIC_AR,
    "assertion_error": _GENERIC_AR,
    "json_invalid": "النص ليس بصيغة JSON صحيحة",
    "json_type": "النص ليس بصيغة JSON صحيحة",
    "bool_type": "يجب أن تكون القيمة true أو false",
    "bool_parsing": "يجب أن تكون القيمة true أو false",
    "date_type": "يجب أن تكون القيمة تاريخًا صحيحًا بصيغة YYYY-MM-DD",
    "date_parsing": "يجب أن تكون القيمة تاريخًا صحيحًا بصيغة YYYY-MM-DD",
    "date_from_datetime_parsing": "يجب أن تكون القيمة تاريخًا صحيحًا بصيغة YYYY-MM-DD",
    "date_from_datetime_inexact": "يجب أن تكون القيمة تاريخًا دون وقت",
    "date_past": "يجب أن يكون التاريخ في الماضي",
    "date_future": "يجب أن يكون التاريخ في المستقبل",
    "datetime_type": "يجب أن تكون القيمة تاريخًا ووقتًا صحيحين بصيغة ISO 8601",
    "datetime_parsing": "يجب أن تكون القيمة تاريخًا ووقتًا صحيحين بصيغة ISO 8601",
    "datetime_from_date_parsing": "يجب أن تكون القيمة تاريخًا ووقتًا صحيحين بصيغة ISO 8601",
    "datetime_past": "يجب أن يكون التاريخ والوقت في الماضي",
    "datetime_future": "يجب أن يكون التاريخ والوقت في المستقبل",
    "timezone_aware": "يجب أن يتضمن الوقت المنطقة الزمنية",
    "timezone_naive": "يجب ألا يتضمن الوقت المنطقة الزمنية",
    "time_type": "يجب أن تكون القيمة وقتًا صحيحًا",
    "time_parsing": "يجب أن تكون القيمة وقتًا صحيحًا",
    "model_type": "يجب أن تكون القيمة كائنًا (object)",
    "model_attributes_type": "يجب أن تكون القيمة كائنًا (object)",
    "dict_type": "يجب أن تكون القيمة كائنًا (object)",
    "list_type": "يجب أن تكون القيمة قائمة",
    "tuple_type": "يجب أن تكون القيمة قائمة",
    "set_type": "يجب أن تكون القيمة قائمة",
    "too_short": "يجب ألا يقل عدد العناصر عن {min_length}",
    "too_long": "يجب ألا يزيد عدد العناصر عن {max_length}",
    "uuid_type": "يجب أن تكون القيمة معرّف UUID صحيحًا",
    "uuid_parsing": "يجب أن تكون القيمة معرّف UUID صحيحًا",
    "url_type": "يجب أن تكون القيمة رابطًا صحيحًا",
    "url_parsing": "يجب أن تكون القيمة رابطًا صحيحًا",
    "url_scheme": "بروتوكول الرابط غير مسموح به",
    "union_tag_invalid": "نوع القيمة غير معروف",
    "union_tag_not_found": "نوع القيمة مفقود",
}

# pydantic's English messages name the rule, not the value, except these, which quote the input.
_MESSAGES_EN_OVERRIDE: dict[str, str] = {
    "union_tag_invalid": "Input tag does not match any of the expected tags",
    "uuid_parsing": "Input should be a valid UUID",
}

_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})


def _arabic_message(error_type: str, ctx: Mapping[str, Any] | None) -> str:
    template = _MESSAGES_AR.get(error_type, _GENERIC_AR)
    values = dict(ctx or {})
    if isinstance(values.get("expected"), str):
        # pydantic joins the allowed values in English: "'a', 'b' or 'c'".
        values["expected"] = values["expected"].replace(" or ", " أو ")
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError):
        # A rule without the expected parameter still gets a meaningful, if less precise, message.
        return _GENERIC_AR if "{" in template else template


def _field_and_location(loc: Sequence[Any]) -> tuple[str, str]:
    if not loc or loc[0] not in _LOCATIONS:
        return ".".join(str(part) for part in loc) or "body", "body"
    location, rest = str(loc[0]), [str(part) for part in loc[1:]]
    if location == "body":
        return ".".join(rest) or "body", location
    if location == "header" and rest:
        # Header names are case-insensitive; print them the way people write them (Idempotency-Key).
        rest[0] = "-".join(word.capitalize() for word in rest[0].split("-"))
    return ".".join([location, *rest]), location


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    for error in exc.errors():
        error_type = str(error.get("type", "value_error"))
        loc = tuple(error.get("loc", ()))
        ctx = error.get("ctx")
        if error_type == "json_invalid" and len(loc) == 2 and loc[0] == "body":
            # FastAPI's own JSON decode failure: loc is ("body", <character position>).
            errors.append(
                {
                    "field": "body",
                    "location": "body",
                    "message": f"The request body is not valid JSON (error at character {loc[1]})",
                    "message_ar": "نص الطلب ليس بصيغة JSON صحيحة",
                    "type": error_type,
                }
            )
            continue
        field, location = _field_and_location(loc)
        message = _MESSAGES_EN_OVERRIDE.get(error_type) or str(error.get("msg", "Invalid value"))
        errors.append(
            {
                "field": field,
                "location": location,
                "message": message,
                "message_ar": _arabic_message(error_type, ctx),
                "type": error_type,
            }
        )
    return errors


# --- HTTP errors raised by the framework (unknown route, wrong method, ...) ----------------------

_HTTP_KINDS: dict[int, tuple[str, str, str]] = {
    400: ("bad-request", "Bad request", "الطلب غير صحيح"),
    401: (Unauthorized.kind, Unauthorized.title, Unauthorized.title_ar),
    403: (Forbidden.kind, Forbidden.title, Forbidden.title_ar),
    404: (NotFound.kind, NotFound.title, NotFound.title_ar),
    405: ("method-not-allowed", "Method not allowed", "الطريقة غير مسموح بها لهذا المسار"),
    406: ("not-acceptable", "Not acceptable", "صيغة الرد المطلوبة غير متاحة"),
    409: (Conflict.kind, Conflict.title, Conflict.title_ar),
    410: (Gone.kind, Gone.title, Gone.title_ar),
    413: ("content-too-large", "Content too large", "حجم المحتوى كبير جدًا"),
    415: ("unsupported-media-type", "Unsupported media type", "نوع المحتوى غير مدعوم"),
    422: (Invalid.kind, Invalid.title, Invalid.title_ar),
    429: (TooManyRequests.kind, TooManyRequests.title, TooManyRequests.title_ar),
    500: ("internal", "Internal error", "خطأ داخلي في الخادم"),
    503: ("unavailable", "Service unavailable", "الخدمة غير متاحة حاليًا"),
}


def _http_kind(status: int) -> tuple[str, str, str]:
    known = _HTTP_KINDS.get(status)
    if known is not None:
        return known
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    title_ar = "خطأ في الخادم" if status >= 500 else "تعذر تنفيذ الطلب"
    return phrase.lower().replace(" ", "-"), phrase, title_ar


# --- handlers -------------------------------------------------------------------------------------

# Starlette types handlers as (Request, Exception): each narrows with isinstance, so a handler
# registered for the wrong class still answers with a problem, never a traceback.


async def _handle_problem(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, Problem):
        return await _handle_unexpected(request, exc)
    return problem_response(
        exc.status,
        exc.kind,
        exc.title,
        exc.title_ar,
        detail=exc.detail,
        detail_ar=exc.detail_ar,
        instance=request.url.path,
        headers=exc.response_headers(),
        **exc.extensions,
    )


async def _handle_domain_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, errors.DomainError):
        return await _handle_unexpected(request, exc)
    return await _handle_problem(request, problem_of(exc))


async def _handle_validation(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):
        return await _handle_unexpected(request, exc)
    errors = _validation_errors(exc)
    return problem_response(
        422,
        "validation",
        "The request has invalid fields",
        "البيانات المدخلة غير صالحة",
        detail=f"{len(errors)} field(s) are invalid; see errors.",
        detail_ar=f"عدد الحقول غير الصالحة: {len(errors)}",
        instance=request.url.path,
        errors=errors,
    )


async def _handle_http(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):
        return await _handle_unexpected(request, exc)
    kind, title, title_ar = _http_kind(exc.status_code)
    # Starlette's default detail is the status phrase, which adds nothing to the title; a detail
    # written by our own code (a string) is kept.
    default_detail = http.client.responses.get(exc.status_code, "")
    detail: str | None = exc.detail if isinstance(exc.detail, str) else None
    if detail in (default_detail, title, ""):
        detail = None
    headers = dict(exc.headers or {})
    if exc.status_code == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    if exc.status_code == 405:
        # Starlette names only the methods of the first route matching the path; a path served by
        # several routes (GET and PUT of a document) allows them all.
        allowed = _allowed_methods(request)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    return problem_response(
        exc.status_code,
        kind,
        title,
        title_ar,
        detail=detail,
        instance=request.url.path,
        headers=headers,
    )


def _allowed_methods(request: Request) -> list[str]:
    """Every method the app's OpenAPI document serves at the request's path (HEAD with GET)."""
    openapi = getattr(request.app, "openapi", None)
    if openapi is None:
        return []
    methods: set[str] = set()
    for template, path_item in openapi().get("paths", {}).items():
        pattern, _, _ = compile_path(template)
        if pattern.match(request.url.path):
            methods.update(method.upper() for method in path_item if method != "parameters")
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The exception's text may hold personal data or internals: it goes to the log, not the client.
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        500,
        "internal",
        "Internal error",
        "خطأ داخلي في الخادم",
        detail="An unexpected error occurred; it has been logged.",
        detail_ar="حدث خطأ غير متوقع وتم تسجيله.",
        instance=request.url.path,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error an app can raise to an `application/problem+json` response.

    Starlette sends the 500 problem and then re-raises the exception to the server (which logs it
    too); tests that exercise it use `TestClient(app, raise_server_exceptions=False)`.
    """
    app.add_exception_handler(Problem, _handle_problem)
    app.add_exception_handler(errors.DomainError, _handle_domain_error)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(Exception, _handle_unexpected)
