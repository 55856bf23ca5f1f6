"""The documents contract: a PDF the municipality issued, or revoked (issue #17).

Every service that gives citizens a document (a licence, a permit, a letter, a result slip, a
receipt) publishes ``<service>.document.issued.v1`` when it issues one (a replacement is a new
version of the same document number) and ``<service>.document.revoked.v1`` when it revokes one.
Other government systems learn of a document this way and check it at its verification URL.

The data is the document's identity and dates, never its holder: a subscriber that needs the
person asks the producing service about the document ``number`` (the request it belongs to).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from contracts.common import ContractModel, LocalizedText, UtcDatetime
from contracts.registry import EventSpec

__all__ = ["PRODUCERS", "SPECS", "DocumentIssued", "DocumentRevoked", "document_specs"]

_KIND = Field(
    pattern=r"^[a-z]+(?:_[a-z]+)*$",
    description="The kind of document, within its producing service.",
    examples=["licence", "receipt", "approval_letter"],
)
_NUMBER = Field(
    min_length=1,
    description="The document's number: the request (or bill) it belongs to.",
    examples=["LC-2026-000123"],
)
_VERSION = Field(ge=1, description="1 for the first issue; each replacement is the next.")
_VERIFICATION_ID = Field(
    min_length=16,
    description="The unguessable id of the document's public verification page.",
    examples=["q3Zk9fXb2LwPz0cVt1rYs8Ue"],
)


class DocumentIssued(ContractModel):
    """A document was issued (or re-issued as a new version, which replaces the previous one)."""

    kind: str = _KIND
    number: str = _NUMBER
    version: int = _VERSION
    title: LocalizedText = Field(description="The document's title, in Arabic and English.")
    verification_id: str = _VERIFICATION_ID
    verification_url: str = Field(
        description="The public page (HTML; `/json` appended: its JSON twin) that checks it.",
        examples=["https://eservices.amman.jo/licensing/v1/verify/q3Zk9fXb2LwPz0cVt1rYs8Ue"],
    )
    issued_at: UtcDatetime = Field(description="When it was issued.")
    valid_until: date | None = Field(
        default=None, description="The last day it is valid (Amman date); absent: no expiry."
    )
    state: Literal["valid"] = Field(default="valid", description="Always `valid` when issued.")
    replaces_version: int | None = Field(
        default=None, description="The version this one replaces (now `replaced`), if any."
    )
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the PDF, to check a copy against."
    )


class DocumentRevoked(ContractModel):
    """A document was revoked: its verification page now says so."""

    kind: str = _KIND
    number: str = _NUMBER
    version: int = _VERSION
    verification_id: str = _VERIFICATION_ID
    issued_at: UtcDatetime = Field(description="When the revoked version was issued.")
    valid_until: date | None = Field(default=None, description="Its last valid day, if any.")
    revoked_at: UtcDatetime = Field(description="When it was revoked.")
    state: Literal["revoked"] = Field(default="revoked", description="Always `revoked`.")
    reason: LocalizedText = Field(description="Why, as the verification page shows it.")


def document_specs(producer: str) -> tuple[EventSpec, EventSpec]:
    """The two document events of one producing service."""
    return (
        EventSpec(
            routing_key=f"{producer}.document.issued.v1",
            data_model=DocumentIssued,
            producer=producer,
            summary="A document (PDF) was issued, or re-issued as a new version.",
        ),
        EventSpec(
            routing_key=f"{producer}.document.revoked.v1",
            data_model=DocumentRevoked,
            producer=producer,
            summary="A document was revoked; its verification page says so.",
        ),
    )


# The services that issue documents (issue #17); the notifier issues none.
PRODUCERS = ("licensing", "contractors", "training", "exams", "courses", "payments")

SPECS: tuple[EventSpec, ...] = tuple(spec for p in PRODUCERS for spec in document_specs(p))
