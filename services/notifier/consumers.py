"""The notifier's two queues: the domain events that have an SMS template, and the command.

- `notifier.events`, bound to `amman.events` with exactly the event types of the catalogue's
  event templates, each handled by `enveloped_handler(ContractModel, record_event)`: one use
  case serves every event type (it reads the template by the envelope's type);
- `notifier.commands`, bound to `amman.commands` (a direct exchange) with `notifier.sms.send`:
  the routing key senders publish the command with. Its handler is registered under the
  envelope's type, `notifier.sms.send.v1` (what the consumer looks handlers up by). One-time
  codes and other texts no event describes (secrets never travel on the shared exchange). The
  command has its own registry (the events' and the command's specs).

Each handler only records the message; the sender sends it. Both are idempotent by the
message's own key, so neither uses the consumer's inbox (`idempotent=True`: its check and record
would be two more database commands per SMS): a message's id is its event's id (or the sender's
`message_id`) with its template, and recording it again is an insert its unique `_id` refuses
(`MessageStore.add`), which changes nothing. A message that can never be
recorded (no template, a value missing, too long) is refused by the use case (`NotifierError`, a
`RuleBroken`) and dead-lettered with the reason, the platform's one policy.
"""

from __future__ import annotations

from contracts import REGISTRY, ContractModel
from contracts.notifier import COMMAND_SPECS, SEND_SMS_COMMAND, SEND_SMS_ROUTING_KEY, SendSms
from services.common.broker import COMMANDS, QueueBinding
from services.common.consumer import EventConsumer, Handler, enveloped_handler
from services.common.runtime import Runtime
from services.notifier import catalogue
from services.notifier.service import Notifier

EVENTS_QUEUE = "notifier.events"
COMMANDS_QUEUE = "notifier.commands"

# The events registry and the notifier's command, which travels as a CloudEvent too.
COMMAND_REGISTRY = REGISTRY.copy()
for _spec in COMMAND_SPECS:
    COMMAND_REGISTRY.register(_spec)
COMMAND_REGISTRY.freeze()


def consumers(runtime: Runtime) -> list[EventConsumer]:
    notifier: Notifier = runtime.service
    # The event types with a template: what the catalogue (templates/) declares.
    event_types = catalogue.load().event_types()
    on_event: Handler = enveloped_handler(ContractModel, notifier.record_event, idempotent=True)
    return [
        EventConsumer(
            QueueBinding(EVENTS_QUEUE, event_types), dict.fromkeys(event_types, on_event)
        ),
        EventConsumer(
            QueueBinding(COMMANDS_QUEUE, [SEND_SMS_ROUTING_KEY], exchange=COMMANDS),
            {
                SEND_SMS_COMMAND: enveloped_handler(
                    SendSms, notifier.record_command, idempotent=True
                )
            },
            registry=COMMAND_REGISTRY,
        ),
    ]
