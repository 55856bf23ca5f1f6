"""The notifier's own event: an SMS it could not deliver.

Services that must react to an unreachable applicant (staff call them instead) bind
``notifier.sms.failed.v1``. The event never carries the message text: SMS can hold personal
details, and the shared exchange is read by many systems.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.common import ContractModel
from contracts.registry import EventSpec

__all__ = ["SPECS", "SmsFailed"]


class SmsFailed(ContractModel):
    """An SMS the notifier gave up on (after its retries, or on a permanent gateway refusal)."""

    message_id: str = Field(min_length=1, description="The notifier's id of the message.")
    event_id: str = Field(
        min_length=1, description="The CloudEvents id of the event that asked for the SMS."
    )
    event_type: str = Field(
        min_length=1,
        description=(
            "The CloudEvents type of that event, so a subscriber can tell its own events from "
            "others' without looking them up."
        ),
        examples=["jo.gov.amman.payments.bill.issued.v1"],
    )
    template: str = Field(
        min_length=1, description="The template the message was rendered from (no text)."
    )
    phone_masked: str = Field(
        min_length=1,
        description="The destination with all but the last digits hidden.",
        examples=["+96279*****67"],
    )
    status: Literal["permanent-failure", "technical-failure"] = Field(
        description=(
            "permanent-failure: the number cannot receive SMS (retrying is useless); "
            "technical-failure: the gateway kept failing until the notifier gave up."
        )
    )
    reason: str = Field(
        min_length=1,
        description="The gateway's error, for staff; never the message text.",
    )
    request_number: str | None = Field(
        default=None, description="The request the message was about, when there is one."
    )


SPECS: tuple[EventSpec, ...] = (
    EventSpec(
        routing_key="notifier.sms.failed.v1",
        data_model=SmsFailed,
        producer="notifier",
        summary="An SMS to an applicant could not be delivered; the owning service may follow up.",
    ),
)
"""Every event type the notifier publishes, registered by `contracts/__init__.py`."""
