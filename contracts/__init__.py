"""The event contracts of the Greater Amman Municipality e-services.

The envelope (CloudEvents 1.0), one pydantic model per event's data, and the registry of event
types, from which the JSON Schemas, the AsyncAPI document and the README's event table are
generated (``python -m contracts.generate``). Depends on nothing in ``services/``.

Importing this package fills :data:`REGISTRY` from the contract modules' ``SPECS`` and freezes
it; nothing else registers into it.
"""

from __future__ import annotations

from contracts import (
    contractors,
    courses,
    documents,
    exams,
    licensing,
    notifier,
    payments,
    training,
)
from contracts.common import (
    Applicant,
    ContractModel,
    Currency,
    Fils,
    Language,
    LocalizedText,
    Reference,
    UtcDatetime,
    reference,
    reference_parts,
)
from contracts.envelope import (
    CONTENT_TYPE,
    SCHEMA_BASE,
    TYPE_PREFIX,
    CloudEvent,
    dataschema_of,
    event_type_of,
    new_event,
    parse_event,
    routing_key_of,
)
from contracts.notifier import SmsFailed
from contracts.payments import (
    REQUESTING_SERVICES,
    BillCancelled,
    BillExpired,
    BillIssued,
    BillPaid,
    PaymentCancelled,
    PaymentRequested,
    RefundApproved,
    RefundRejected,
    RefundRequested,
)
from contracts.registry import (
    REGISTRY,
    ROUTING_KEY_RE,
    EventRegistry,
    EventSpec,
    UnknownEventType,
)

# A new contract module (e.g. contracts/exams.py) adds its SPECS here; a unit test checks that
# every module's SPECS is registered.
CONTRACT_MODULES = (
    payments,
    notifier,
    licensing,
    contractors,
    courses,
    training,
    exams,
    documents,
)

for _module in CONTRACT_MODULES:
    for _spec in _module.SPECS:
        REGISTRY.register(_spec)
REGISTRY.freeze()
del _module, _spec

__all__ = [
    "CONTENT_TYPE",
    "CONTRACT_MODULES",
    "REGISTRY",
    "REQUESTING_SERVICES",
    "ROUTING_KEY_RE",
    "SCHEMA_BASE",
    "TYPE_PREFIX",
    "Applicant",
    "BillCancelled",
    "BillExpired",
    "BillIssued",
    "BillPaid",
    "CloudEvent",
    "ContractModel",
    "Currency",
    "EventRegistry",
    "EventSpec",
    "Fils",
    "Language",
    "LocalizedText",
    "PaymentCancelled",
    "PaymentRequested",
    "Reference",
    "RefundApproved",
    "RefundRejected",
    "RefundRequested",
    "SmsFailed",
    "UnknownEventType",
    "UtcDatetime",
    "dataschema_of",
    "event_type_of",
    "new_event",
    "parse_event",
    "reference",
    "reference_parts",
    "routing_key_of",
]
