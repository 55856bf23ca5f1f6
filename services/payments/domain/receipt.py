"""The receipt of a paid bill (issue #17): the document a payer keeps, issued with the payment.

Pure: `pay` returns the `Due` entry with its change (as it returns `bill.paid`), and the store
stages it in the bill's own versioned write (`services/common/documents`). One receipt per bill:
its number is the bill's **e-payment number**, and it is issued `once` by the step that pays the
bill (`paid`), so a redelivered or repeated provider notification, which the rule already answers
with nothing, could not issue a second one either.

A receipt is never revoked. A refund, even of the whole amount, is a second movement of money
recorded on the bill (and in the day's reconciliation), not an undoing of the payment: the
receipt keeps attesting what happened, that the amount was paid on that day by that
transaction. A bill is paid at most once, so no receipt is ever replaced either.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from services.common.documents.model import DocumentKind, Due, Row, issue
from services.common.formatting import amman_time, format_jod
from services.payments.domain.workflow import FINANCE_READERS

if TYPE_CHECKING:  # the receipt only reads the bill
    from services.payments.domain.bill import Bill, Payment

# The payer is a person's name (the applicant of the request): masked on the public page.
RECEIPT = DocumentKind(
    "payment_receipt",
    "Payment receipt",
    "إيصال دفع",
    staff_roles=FINANCE_READERS,
    holder_is_person=True,
)
# The step whose document this is: staged twice, issued once.
PAID = "paid"
# Each language of the bill's description shown on the receipt, at most (the contract sets no
# limit; the requesting services send up to 200): with the other rows, the longest name (100
# characters) and a 64-character transaction id, the page stays one A4 sheet with its QR code.
DESCRIPTION_LIMIT = 120
# The label of the provider's transaction id, by provider (in the label, not beside the id: a
# 64-character id alone fills its line).
TRANSACTION_LABELS = {"efawateercom": ("eFAWATEERcom transaction", "رقم الحركة في إي فواتيركم")}
OTHER_PROVIDER = ("Payment provider's transaction", "رقم الحركة لدى مزوّد الدفع")
# U+200F RIGHT-TO-LEFT MARK: the description's line is Arabic first, read from the right even
# when the Arabic text starts with a Latin word (`رسوم ICDL ...`); invisible, and text
# extraction drops it.
RLM = "\u200f"


def shortened(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """`text`, or its first `limit - 1` characters and an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def receipt_rows(bill: Bill, payment: Payment) -> list[Row]:
    """What the receipt attests, besides its number (the e-payment number), the payer (its
    holder) and its issue date: what the bill was for, in both languages on one line (a row per
    language does not fit one page), the amount paid, when it was paid (Amman) and the
    provider's transaction. Nothing else of the payer: no phone, no identity number."""
    description = bill.description
    rows = [
        Row(
            "Paid for",
            "البيان",
            f"{RLM}{shortened(description.ar)} / {shortened(description.en)}",
        ),
        Row("Amount paid", "المبلغ المدفوع", f"{format_jod(payment.paid_amount_fils)} JOD"),
        Row("Paid on", "تاريخ الدفع", amman_time(payment.paid_at)),
    ]
    if payment.provider_transaction_id:
        label_en, label_ar = TRANSACTION_LABELS.get(payment.provider, OTHER_PROVIDER)
        rows.append(Row(label_en, label_ar, payment.provider_transaction_id))
    return rows


def paid_receipt(bill: Bill, payment: Payment, now: datetime) -> Due:
    """The receipt of `bill`, paid by `payment`: its owner is the bill's (a bill requested by
    staff on someone's behalf has none, and only finance staff read its receipt)."""
    return issue(
        RECEIPT,
        bill.e_payment_number,
        owner=bill.owner_subject or "",
        holder=bill.payer.name,
        rows=receipt_rows(bill, payment),
        issued_at=now,
        once=PAID,
    )
