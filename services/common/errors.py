"""The domain's refusals: what a service's pure rules raise when they say no.

The domain modules (`services/<name>/domain.py`) stay free of HTTP: they raise these, with the
message in English and Arabic and, where an input is at fault, the fields it concerns. The API
answers each with its RFC 9457 problem through one mapping, `problems.problem_of`, which
`install_problem_handlers` also installs as the handler of any `DomainError` a route lets escape:

| error | problem | status |
|---|---|---|
| `Unknown` | `NotFound` | 404 |
| `NotPermitted` | `Forbidden` | 403 |
| `NotAllowedNow` | `Conflict` | 409 |
| `Gone` | `Gone` | 410 |
| `RuleBroken` (and any other `DomainError`) | `Invalid` | 422 |
| `Throttled` | `TooManyRequests` (with `Retry-After`) | 429 |

The fields at fault become the problem's `errors` member, in the shape validation errors use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One bad field of an input, in the shape the platform's validation problems use.

    `type` names the rule (e.g. `working_day`) and `location` where the field is; either is left
    out of the problem's item when None."""

    field: str
    message: str
    message_ar: str
    type: str | None = None
    location: str | None = "body"

    def as_problem_item(self) -> dict[str, str]:
        item = {"field": self.field}
        if self.location is not None:
            item["location"] = self.location
        item |= {"message": self.message, "message_ar": self.message_ar}
        if self.type is not None:
            item["type"] = self.type
        return item


class DomainError(Exception):
    """A rule said no. `detail_ar` is the Arabic of the message; `errors` name the bad fields.

    `field` is the short form for one input at fault whose message is the error's own: it adds
    `FieldError(field, detail, detail_ar, location=None)` to `errors`."""

    def __init__(
        self,
        detail: str,
        detail_ar: str,
        errors: Sequence[FieldError] = (),
        *,
        field: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_ar = detail_ar
        self.field = field
        own = () if field is None else (FieldError(field, detail, detail_ar, location=None),)
        self.errors: tuple[FieldError, ...] = (*own, *errors)


class Unknown(DomainError):
    """What the action is about does not exist (404)."""


class NotPermitted(DomainError):
    """The actor lacks the role the workflow table asks for (403)."""


class NotAllowedNow(DomainError):
    """The action does not fit the current state (409)."""


class Gone(DomainError):
    """It existed, but can no longer be used (410), e.g. a void or used one-time code."""


class RuleBroken(DomainError):
    """Well-formed, but the rules refuse it (422): a bad field, a day that is not a working day."""


class Throttled(DomainError):
    """Too many attempts (429); `retry_after` in seconds."""

    def __init__(self, detail: str, detail_ar: str, retry_after: int) -> None:
        super().__init__(detail, detail_ar)
        self.retry_after = retry_after
