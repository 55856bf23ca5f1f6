"""What the payment provider and the people see of a bill, and the reconciliation record of a
provider's payment notification. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from services.common.errors import Unknown
from services.payments.domain.bill import Bill, PaymentNotice, PaymentRefused, Record
from services.payments.domain.workflow import BillStatus, ExceptionKind


def mask_name(name: str) -> str:
    """Each word's first letter and stars: enough for a payer to recognise, not to identify."""
    return " ".join(word[0] + "*" * min(max(len(word) - 1, 1), 3) for word in name.split())


def presentable(
    bill: Bill | None, *, number: str, provider_service_type: str | None, biller_code: str | None
) -> Bill:
    """The bill a provider asks about, if it is ours and of the service type it names.

    A mismatch answers exactly like a missing number, so an inquiry cannot learn more."""
    if (
        bill is None
        or (
            provider_service_type is not None
            and provider_service_type != bill.provider_service_type
        )
        or (biller_code is not None and biller_code != bill.biller_code)
    ):
        raise Unknown(f"no bill has the number {number}", f"لا توجد فاتورة بالرقم {number}")
    return bill


def status_for_provider(bill: Bill, now: datetime) -> BillStatus:
    """What a bill inquiry answers: a new bill past its due time is already expired to a payer,
    even if the sweeper has not recorded it yet."""
    if bill.status is BillStatus.NEW and now > bill.due_at:
        return BillStatus.EXPIRED
    return bill.status


class Notification(Record):
    """A provider's payment notification and what we answered: the reconciliation record."""

    notice: PaymentNotice
    received_at: datetime
    # What the notice said, hashed at receipt: the same transaction id with other content is not
    # a repetition but a conflict.
    fingerprint: str
    accepted: bool
    exception: ExceptionKind | None = None
    detail: str | None = None
    detail_ar: str | None = None
    # Money we received that we must give back (the whole amount of a refused payment).
    refund_due_fils: int = 0

    @property
    def key(self) -> str:
        return self.notice.key


def fingerprint(notice: PaymentNotice) -> str:
    return hashlib.sha256(notice.model_dump_json().encode()).hexdigest()


def accepted_notification(notice: PaymentNotice, now: datetime) -> Notification:
    return Notification(
        notice=notice,
        received_at=now,
        fingerprint=fingerprint(notice),
        accepted=True,
    )


def refused_notification(
    notice: PaymentNotice, refused: PaymentRefused, now: datetime
) -> Notification:
    return Notification(
        notice=notice,
        received_at=now,
        fingerprint=fingerprint(notice),
        accepted=False,
        exception=refused.kind,
        detail=refused.detail,
        detail_ar=refused.detail_ar,
        refund_due_fils=notice.paid_amount_fils,
    )
