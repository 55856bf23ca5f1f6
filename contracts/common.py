"""Data types shared by the event contracts: the applicant, bilingual text, money and time.

Every event's data model derives from :class:`ContractModel`. The rules it fixes are the
compatibility rules of the whole event catalogue, so they live in one place.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "REFERENCE_PATTERN",
    "Applicant",
    "ContractModel",
    "Currency",
    "Fils",
    "Language",
    "LocalizedText",
    "Reference",
    "UtcDatetime",
    "reference",
    "reference_parts",
]

Language = Literal["ar", "en"]
"""The applicant's language for messages: Arabic (the default) or English."""

Currency = Literal["JOD"]
"""ISO 4217 code. Only dinars today; a literal makes a second currency a visible change."""

Fils = Annotated[int, Field(ge=0)]
"""An amount of money in fils (1 JOD = 1000 fils). Integers only: money is never a float."""

# `<requesting service>:<request number>:<purpose>`, e.g. `exams:EX-2026-000123:fee`. The service
# prefix keeps references of different services apart and tells each service which bills are its
# own.
REFERENCE_PATTERN = r"^[a-z]+(?:_[a-z]+)*:[^\s:]+:[^\s:]+$"
Reference = Annotated[str, Field(pattern=REFERENCE_PATTERN, max_length=200)]
"""A business key chosen by the requesting service: `<service>:<request number>:<purpose>`."""


def reference(service: str, request_number: str, purpose: str) -> str:
    """The reference of a bill or a refund: `<service>:<request number>:<purpose>`."""
    return f"{service}:{request_number}:{purpose}"


def reference_parts(value: str) -> tuple[str, str, str] | None:
    """`(service, request number, purpose)` of a well-formed reference, else None."""
    if re.fullmatch(REFERENCE_PATTERN, value) is None:
        return None
    service, number, purpose = value.split(":")
    return service, number, purpose


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# Aware on the way in (a naive time is ambiguous in Asia/Amman), UTC once inside, so that two
# services comparing or storing the same instant see the same value.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""An instant with an explicit UTC offset (RFC 3339), normalised to UTC."""


class ContractModel(BaseModel):
    """Base of every model that travels on the shared exchange.

    Compatibility within a major version (`.v1`) is "only add optional fields", so a subscriber
    built against an older model must keep working when a producer sends a field it has never
    seen: unknown fields are **ignored** on reading (``extra="ignore"``), never rejected. For
    the same reason the published JSON Schemas do not say ``additionalProperties: false``.
    Never set ``extra="forbid"`` on a contract model.

    Models are frozen: an event is a fact that happened, not something to edit.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)


class LocalizedText(ContractModel):
    """A text in Arabic and in English. The applicant reads the one of their language."""

    ar: str = Field(min_length=1, description="The text in Arabic.")
    en: str = Field(min_length=1, description="The text in English.")


class Applicant(ContractModel):
    """Who the event concerns, with what the notifier needs to reach them without calling back."""

    name: str = Field(min_length=1, description="The applicant's name as entered on the request.")
    phone: str = Field(
        min_length=1,
        description=(
            "Mobile number for SMS, as the applicant gave it; E.164 (e.g. +962791234567) is "
            "preferred, and the notifier normalises any other form before sending."
        ),
        examples=["+962791234567"],
    )
    lang: Language = Field(
        default="ar", description="Language of the messages sent to the applicant: ar or en."
    )
    national_id: str | None = Field(
        default=None,
        description=(
            "Jordanian national number, or the personal number of a resident, when the request "
            "has one; absent for applicants without one (e.g. government bodies)."
        ),
    )
