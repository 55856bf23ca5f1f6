"""The notifier's two queues: the domain events that have an SMS template, and the command.

- `notifier.events`, bound to `amman.events` with exactly the event types of the catalogue's
  event templates;
- `notifier.commands`, bound to `amman.commands` with `notifier.sms.send`: one-time codes and
  other texts no event describes (secrets never travel on the shared exchange).

Each handler only records the message; the sender sends it. A message that can never be
recorded (no template, a value missing, too long) is dead-lettered with the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from contracts import REGISTRY, CloudEvent
from contracts.notifier import COMMAND_SPECS, SEND_SMS_COMMAND, SEND_SMS_ROUTING_KEY
from services.common.broker import COMMANDS, QueueBinding
from services.common.consumer import EventConsumer, Handler, Reject
from services.notifier.catalogue import TemplateError, UnknownTemplate
from services.notifier.service import Notifier, NotifierError

EVENTS_QUEUE = "notifier.events"
COMMANDS_QUEUE = "notifier.commands"

# The events registry and the notifier's command, which travels as a CloudEvent too.
COMMAND_REGISTRY = REGISTRY.copy()
for _spec in COMMAND_SPECS:
    COMMAND_REGISTRY.register(_spec)
COMMAND_REGISTRY.freeze()


def _rejecting(record: Callable[[CloudEvent, Any], Awaitable[None]]) -> Handler:
    async def handle(event: CloudEvent, data: Any) -> None:
        try:
            await record(event, data)
        except (NotifierError, TemplateError, UnknownTemplate) as error:
            raise Reject(str(error)) from error

    return handle


def consumers(notifier: Notifier) -> list[EventConsumer]:
    on_event = _rejecting(notifier.record_event)
    event_types = notifier.catalogue.event_types()
    return [
        EventConsumer(
            QueueBinding(EVENTS_QUEUE, event_types), dict.fromkeys(event_types, on_event)
        ),
        EventConsumer(
            QueueBinding(COMMANDS_QUEUE, [SEND_SMS_ROUTING_KEY], exchange=COMMANDS),
            {SEND_SMS_COMMAND: _rejecting(notifier.record_command)},
            registry=COMMAND_REGISTRY,
        ),
    ]
