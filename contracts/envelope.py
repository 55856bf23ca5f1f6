"""The CloudEvents 1.0 envelope (structured JSON mode) every event on `amman.events` travels in.

One event = one AMQP message whose body is the JSON below, with content type
``application/cloudevents+json``; the routing key is the event type without :data:`TYPE_PREFIX`.
:func:`new_event` builds an envelope for a registered event type and :func:`parse_event` turns a
message body back into the envelope and its typed data, refusing anything that is not part of
the contract.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.common import UtcDatetime
from contracts.personal import minimised
from contracts.registry import REGISTRY, EventRegistry

__all__ = [
    "COMMAND_SCHEMA_BASE",
    "CONTENT_TYPE",
    "SCHEMA_BASE",
    "TYPE_PREFIX",
    "CloudEvent",
    "commandschema_of",
    "dataschema_of",
    "event_type_of",
    "new_event",
    "parse_event",
    "routing_key_of",
]

CONTENT_TYPE = "application/cloudevents+json"
TYPE_PREFIX = "jo.gov.amman."
SCHEMA_BASE = "https://schemas.amman.jo/events/"
COMMAND_SCHEMA_BASE = "https://schemas.amman.jo/commands/"

_SOURCE_PATTERN = r"^/services/[a-z]+(?:_[a-z]+)*$"
# CloudEvents 1.0: extension attribute names are lowercase ASCII letters and digits only.
_EXTENSION_NAME = re.compile(r"\A[a-z0-9]+\Z")


def routing_key_of(event_type: str) -> str:
    """``jo.gov.amman.exams.payment.requested.v1`` -> ``exams.payment.requested.v1``.

    Raises ValueError if the type does not start with :data:`TYPE_PREFIX`.
    """
    if not event_type.startswith(TYPE_PREFIX) or len(event_type) == len(TYPE_PREFIX):
        raise ValueError(f"event type {event_type!r} does not start with {TYPE_PREFIX!r}")
    return event_type.removeprefix(TYPE_PREFIX)


def event_type_of(routing_key: str) -> str:
    """``exams.payment.requested.v1`` -> ``jo.gov.amman.exams.payment.requested.v1``."""
    return TYPE_PREFIX + routing_key


def dataschema_of(routing_key: str) -> str:
    """The URL of the JSON Schema of an event type's data (its ``$id`` and ``dataschema``)."""
    return f"{SCHEMA_BASE}{routing_key}.json"


def commandschema_of(command_type: str) -> str:
    """The URL of the JSON Schema of a command's data (commands are not events: own folder)."""
    return f"{COMMAND_SCHEMA_BASE}{command_type}.json"


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event in structured JSON mode (application/cloudevents+json).

    Attributes not named here are CloudEvents extensions (lowercase letters and digits, scalar
    values): they are kept, not refused, because a later producer may add some.
    """

    # extra="allow": extensions are part of the event and must survive a parse / re-publish.
    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = Field(default="1.0", description="CloudEvents version.")
    id: str = Field(
        min_length=1,
        description="Unique per event; a redelivered event keeps its id (consumers dedupe on it).",
    )
    source: str = Field(
        pattern=_SOURCE_PATTERN,
        description="The producing service, as /services/<name>.",
        examples=["/services/payments"],
    )
    type: str = Field(
        pattern="^" + re.escape(TYPE_PREFIX) + ".+$",
        description="jo.gov.amman. followed by the routing key.",
        examples=["jo.gov.amman.payments.bill.issued.v1"],
    )
    subject: str | None = Field(
        default=None,
        min_length=1,
        description="What the event is about, normally the human request number.",
        examples=["EX-2026-000123"],
    )
    time: UtcDatetime = Field(description="When it happened (RFC 3339, UTC).")
    datacontenttype: Literal["application/json"] = Field(
        default="application/json", description="Media type of data."
    )
    dataschema: str | None = Field(
        default=None, description="URL of the JSON Schema that data conforms to."
    )
    traceparent: str | None = Field(
        default=None,
        description="W3C trace-context traceparent of the span that produced the event.",
    )
    data: dict[str, Any] = Field(description="The event's data, as its data schema describes.")

    @model_validator(mode="after")
    def _extensions_are_cloudevents_attributes(self) -> CloudEvent:
        for name, value in (self.model_extra or {}).items():
            if not _EXTENSION_NAME.match(name):
                raise ValueError(
                    f"extension attribute {name!r}: CloudEvents names are lowercase letters "
                    "and digits only"
                )
            # The CloudEvents type system has no objects, arrays or floats.
            if value is not None and not isinstance(value, str | int | bool):
                raise ValueError(f"extension attribute {name!r} must be a string, integer or bool")
        return self

    @property
    def routing_key(self) -> str:
        """The AMQP routing key: :attr:`type` without :data:`TYPE_PREFIX`."""
        return routing_key_of(self.type)

    def to_json(self) -> bytes:
        """The message body: compact UTF-8 JSON, without the optional attributes that are unset.

        Only top-level nulls are left out (CloudEvents treats an absent attribute and a null one
        alike); nulls inside ``data`` are the producer's and stay.
        """
        document = {
            name: value for name, value in self.model_dump(mode="json").items() if value is not None
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def new_event(
    routing_key: str,
    data: BaseModel,
    *,
    source_service: str,
    subject: str | None,
    time: datetime,
    traceparent: str | None = None,
    event_id: str | None = None,
    registry: EventRegistry | None = None,
) -> CloudEvent:
    """Build the envelope of a registered event type.

    Raises UnknownEventType if the routing key is not registered, TypeError if ``data`` is not
    an instance of the registered model, and ValueError if ``source_service`` is not the
    registered producer or ``time`` is naive.
    """
    spec = (registry if registry is not None else REGISTRY).spec_for(routing_key)
    if not isinstance(data, spec.data_model):
        raise TypeError(
            f"{routing_key} carries {spec.data_model.__qualname__}, not {type(data).__qualname__}"
        )
    if source_service != spec.producer:
        # Only the owner of an event type publishes it: subscribers trust `source`.
        raise ValueError(f"{routing_key} is produced by {spec.producer!r}, not {source_service!r}")
    if time.tzinfo is None or time.utcoffset() is None:
        raise ValueError("the event time must be timezone-aware")
    return CloudEvent(
        id=event_id if event_id is not None else uuid.uuid4().hex,
        source=f"/services/{source_service}",
        type=event_type_of(routing_key),
        subject=subject,
        time=time,
        dataschema=dataschema_of(routing_key),
        traceparent=traceparent,
        # Only the personal data a consumer of this type needs travels in clear (personal.py).
        data=minimised(spec, data).model_dump(mode="json"),
    )


def parse_event(
    body: bytes | str | Mapping[str, Any], registry: EventRegistry | None = None
) -> tuple[CloudEvent, BaseModel]:
    """Validate a message body: the envelope, then the data with its registered model.

    Raises pydantic.ValidationError (bad JSON, bad envelope or bad data), UnknownEventType (a
    type not in the registry), or ValueError. ValidationError is a ValueError, so a consumer
    dead-letters on ``except (ValueError, UnknownEventType)``: redelivering such a message can
    never succeed.
    """
    if isinstance(body, bytes | str):
        event = CloudEvent.model_validate_json(body)
    else:
        event = CloudEvent.model_validate(dict(body))
    registry = registry if registry is not None else REGISTRY
    data = registry.parse_data(event.routing_key, event.data)
    return event, data
