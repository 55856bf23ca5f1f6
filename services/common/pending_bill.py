"""The pending bill's e-payment number, recorded in one conditional write.

Each of the five municipal services keeps the e-payment number payments issued for a request's
fee (`payments.bill.issued.v1`), so its inquiry can show it while the fee waits. Its domain's
`record_bill` is the rule: only while the request awaits payment, only for its current bill (the
same payment reference), once, and with no event or timeline line. That rule is a filter, so the
services record the number with one conditional update (`record_pending_bill`) instead of a read,
a decision and a versioned save: one database command for every citizen request instead of two
(courses: three, as its change loop also reads the course).

The write raises the request's `version`, as a versioned save does: a person's change decided
over the request read just before is refused (`StaleVersion`) and decided again over the new
state, so it cannot write the number away.

When the write matches nothing, the service goes the usual way (`change`: read, decide, save)
with the domain's rule: that is a redelivery (the number is there already), a bill of an older
fee or of a request that moved on (nothing to do), or a bill naming no request of the service,
which must still be dead-lettered with its reason. The fast path and the domain agree: each
service's store test checks the write against the same cases as the domain's unit test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.common.mongo import Collection

# Every service stores its requests' state in `status`, with this value while the fee waits.
STATUS = "status"
AWAITING_PAYMENT = "awaiting_payment"


@dataclass(frozen=True)
class PendingBillFields:
    """Where a service's request document keeps its bill: the payment reference and the
    e-payment number (dotted paths, e.g. `fee.payment_reference`)."""

    reference: str
    number: str


async def record_pending_bill(
    collection: Collection,
    key: str,
    fields: PendingBillFields,
    *,
    reference: str,
    e_payment_number: str,
    also: Mapping[str, Any] | None = None,
) -> bool:
    """Set the number (and `also`, fields stored with it) on request `key` if it awaits payment
    of the bill `reference` and holds no number yet; True if it did. See the module docstring."""
    result = await collection.update_one(
        {
            "_id": key,
            STATUS: AWAITING_PAYMENT,
            fields.reference: reference,
            fields.number: None,
        },
        {"$set": {fields.number: e_payment_number, **(also or {})}, "$inc": {"version": 1}},
    )
    return result.matched_count == 1
