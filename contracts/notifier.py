"""The notifier's own event (an SMS it could not deliver) and its one command (send an SMS).

Services that must react to an unreachable applicant (staff call them instead) bind
``notifier.sms.failed.v1``. The event never carries the message text: SMS can hold personal
details, and the shared exchange is read by many systems.

A service that must send an SMS no event describes, above all a one-time code, sends the command
:class:`SendSms` to the direct exchange ``amman.commands`` with the routing key
``notifier.sms.send`` (never on ``amman.events``: secrets do not travel on the shared exchange).
The body is a CloudEvent of type ``jo.gov.amman.notifier.sms.send.v1`` built by
:func:`send_sms_command`. Commands are not events: they are listed in :data:`COMMAND_SPECS`, not
in the event registry, and their JSON Schema is generated beside the events'.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from contracts.common import ContractModel, Language, UtcDatetime
from contracts.envelope import CloudEvent, commandschema_of, event_type_of
from contracts.registry import EventSpec

__all__ = [
    "COMMAND_SPECS",
    "SEND_SMS_COMMAND",
    "SEND_SMS_ROUTING_KEY",
    "SPECS",
    "SendSms",
    "SmsFailed",
    "send_sms_command",
]


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


# ---- the command -----------------------------------------------------------------------------

SEND_SMS_ROUTING_KEY = "notifier.sms.send"
"""The routing key of the command on the direct exchange ``amman.commands``."""

SEND_SMS_COMMAND = "notifier.sms.send.v1"
"""The command's versioned type: its CloudEvents ``type`` is ``jo.gov.amman.`` + this."""


class SendSms(ContractModel):
    """Send one SMS: a ready text, or a template of the notifier's catalogue with its values."""

    message_id: str = Field(
        pattern=r"^[a-z]+(?:_[a-z]+)*:\S+$",
        max_length=200,
        description=(
            "The sender's unique key for this SMS, prefixed with the sending service's name; "
            "the same key sent again sends nothing new."
        ),
        examples=["contractors:CP-2026-000123:verification:1"],
    )
    phone: str = Field(
        min_length=1,
        max_length=40,
        description="Jordanian mobile number, E.164 preferred; local forms (07XXXXXXXX) accepted.",
        examples=["+962791234567"],
    )
    lang: Language = Field(default="ar", description="Language of the template: ar or en.")
    text: str | None = Field(
        default=None,
        min_length=1,
        max_length=480,
        description="The text to send, already in the recipient's language (or use template).",
    )
    template: str | None = Field(
        default=None,
        pattern=r"^[a-z_]+$",
        description="A command template of the notifier's catalogue (or use text).",
        examples=["one_time_code"],
    )
    values: dict[str, str] = Field(
        default_factory=dict, description='The template\'s values, e.g. {"code": "482913"}.'
    )
    sealed_values: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "The template's secret values (e.g. a one-time code), sealed for the notifier: a "
            "libsodium sealed box (crypto_box_seal, X25519 + XSalsa20-Poly1305) of the UTF-8 JSON "
            "object of the values, for the notifier's public code key, in standard base64. Only "
            "the notifier can open it; they are merged over `values`. A sensitive command carries "
            "its secret values only here, never in `values`."
        ),
    )
    sensitive: bool = Field(
        default=False,
        description=(
            "True for a secret (a one-time code): the notifier stores and logs the message with "
            "its values (or its whole text) masked, and keeps the clear text only sealed until "
            "it is sent."
        ),
    )
    request_number: str | None = Field(
        default=None, min_length=1, description="The request the SMS is about, if any."
    )
    owner_subject: str | None = Field(
        default=None,
        min_length=1,
        description="The `sub` of the citizen the SMS is for, so that they can see it.",
    )
    expires_at: UtcDatetime | None = Field(
        default=None,
        description="Do not send after this instant (an expired one-time code is useless).",
    )

    @model_validator(mode="after")
    def _text_or_template(self) -> SendSms:
        if (self.text is None) == (self.template is None):
            raise ValueError("give exactly one of text or template")
        if self.text is not None and (self.values or self.sealed_values is not None):
            raise ValueError("values go with a template, not with a text")
        return self


COMMAND_SPECS: tuple[EventSpec, ...] = (
    EventSpec(
        routing_key=SEND_SMS_COMMAND,
        data_model=SendSms,
        producer="notifier",
        summary=(
            "A command to the notifier (any service may send it, on amman.commands with the "
            "routing key notifier.sms.send): send one SMS, e.g. a one-time code."
        ),
    ),
)
"""The commands the notifier accepts: JSON Schemas are generated for them, not registered."""


def send_sms_command(
    command: SendSms,
    *,
    source_service: str,
    time: datetime,
    traceparent: str | None = None,
) -> CloudEvent:
    """The envelope of a :class:`SendSms` command sent by ``source_service``.

    Publish ``.to_json()`` to ``amman.commands`` with the routing key
    :data:`SEND_SMS_ROUTING_KEY`, mandatory and persistent (``BrokerPublisher.send_command``).
    """
    if time.tzinfo is None or time.utcoffset() is None:
        raise ValueError("the command time must be timezone-aware")
    return CloudEvent(
        id=uuid.uuid4().hex,
        source=f"/services/{source_service}",
        type=event_type_of(SEND_SMS_COMMAND),
        subject=command.request_number,
        time=time,
        dataschema=commandschema_of(SEND_SMS_COMMAND),
        traceparent=traceparent,
        data=command.model_dump(mode="json"),
    )
