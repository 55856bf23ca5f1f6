"""The receipt of a paid bill (issue #17), as the domain decides it: staged with the payment and
only with it, once per bill, what it shows, and its page fits one A4 sheet with the longest values
the contract and the services allow.

The PDF's text, its QR code, who may download it and the verification page are checked through
the real service in tests/integration/payments/test_documents.py."""

from __future__ import annotations

from datetime import timedelta

from contracts import LocalizedText
from services.common.documents import Content, Due
from services.common.documents.render import direction, render_html
from services.common.workflow import Actor
from services.payments import domain
from services.payments.domain import RECEIPT, Bill, BillStatus
from services.payments.domain.receipt import DESCRIPTION_LIMIT, RLM, shortened
from tests.unit.payments.test_domain import APPROVER, NOW, issued, notice, refund, request

PAID_AT = NOW + timedelta(hours=1)


def pay(bill: Bill | None = None, **changes: object) -> domain.Change:
    change = domain.pay(bill or issued(), notice(**changes), PAID_AT + timedelta(seconds=3))
    assert change is not None
    return change


def values(due: Due) -> list[str]:
    return [row.value for row in due.rows]


def test_paying_a_bill_stages_its_receipt_in_the_same_change() -> None:
    change = pay(bank_transaction_id="BNK-7")
    [due] = change.documents

    assert (due.action, due.kind, due.number) == ("issue", "payment_receipt", "5724000000006")
    assert (due.owner, due.holder) == ("citizen-1", "ليلى أحمد")
    assert due.issued_at == PAID_AT + timedelta(seconds=3) and due.valid_until is None
    # Paid at 08:30 UTC on 28/11/2026: 11:30 in Amman.
    assert values(due) == [
        f"{RLM}دورة نظم المعلومات الجغرافية / GIS course",
        "100.000 JOD",
        "28/11/2026 11:30",
        "JOE-1",
    ]
    assert [(row.label_en, row.label_ar) for row in due.rows] == [
        ("Paid for", "البيان"),
        ("Amount paid", "المبلغ المدفوع"),
        ("Paid on", "تاريخ الدفع"),
        ("eFAWATEERcom transaction", "رقم الحركة في إي فواتيركم"),
    ]
    # The description's line reads right to left, Arabic first.
    assert direction(values(due)[0]) == "rtl"
    # The bill records where its receipt is.
    assert change.bill.receipt_document_id == due.id
    assert change.bill.receipt_verification_id == due.verification_id
    # No more of the payer than their name: no phone, no bank's transaction.
    assert not any("+962" in value or "BNK-7" in value for value in values(due))


def test_a_bill_gets_one_receipt_however_often_its_payment_is_decided() -> None:
    """Decided twice (a save that lost a race and was decided again), the receipt has the same
    id: the issuer finds the first and does nothing; the same transaction again decides
    nothing, and another one is refused."""
    first, second = pay().documents[0], pay().documents[0]
    assert first.id == second.id
    assert first.verification_id != second.verification_id  # only the first one issued counts
    paid = pay().bill
    assert domain.pay(paid, notice(), PAID_AT + timedelta(minutes=5)) is None
    try:
        domain.pay(paid, notice(provider_transaction_id="JOE-2"), PAID_AT)
    except domain.PaymentRefused as refused:
        assert refused.kind is domain.ExceptionKind.ALREADY_PAID
    else:
        raise AssertionError("a second transaction paid a paid bill")


def test_no_other_change_issues_or_revokes_a_document_not_even_a_full_refund() -> None:
    """A refund is a second movement of money, not an undoing of the payment: the receipt
    stands (the README's decision)."""
    paid = pay().bill
    made = domain.issue_bill(request(), domain.Issue("5724000000006", "106", "TRAINING", NOW))
    assert made.documents == ()
    expired = domain.expire(issued(), NOW + timedelta(days=4))
    cancelled = domain.cancel(issued(), "withdrawn", NOW)
    assert expired is not None and expired.documents == ()
    assert cancelled is not None and cancelled.documents == ()
    whole = refund(amount_fils=paid.amount_fils)
    requested = domain.request_refund(paid, whole, NOW)
    assert requested is not None and requested.documents == ()
    approved = domain.decide_refund(
        requested.bill,
        whole.refund_reference,
        approve=True,
        actor=Actor("approver-1", APPROVER),
        note=None,
        now=NOW,
    )
    assert approved.documents == () and approved.bill.refundable_fils == 0
    assert approved.bill.status is BillStatus.PAID
    at_once = domain.request_refund(paid, refund(needs_approval=False, amount_fils=1), NOW)
    assert at_once is not None and at_once.documents == ()


def test_a_bill_requested_by_staff_has_a_receipt_only_finance_staff_read() -> None:
    [due] = pay(issued(owner_subject=None)).documents
    assert due.owner == ""
    assert set(RECEIPT.staff_roles) == {"finance.staff", "finance.approver"}
    assert RECEIPT.holder_is_person  # the public page shows `ليلى أ.`


def test_an_arabic_description_starting_with_latin_still_reads_from_the_right() -> None:
    [due] = pay(issued(description=LocalizedText(ar="ICDL تجريبي", en="ICDL"))).documents
    assert values(due)[0] == f"{RLM}ICDL تجريبي / ICDL"
    assert direction(values(due)[0]) == "rtl"


def test_a_long_description_is_shortened_to_keep_the_receipt_on_one_page() -> None:
    assert shortened("رسوم  دورة\nقصيرة") == "رسوم دورة قصيرة"
    long = "a" * 150
    assert shortened(long) == "a" * (DESCRIPTION_LIMIT - 1) + "…"
    assert len(shortened(long)) == DESCRIPTION_LIMIT
    assert shortened("b" * DESCRIPTION_LIMIT) == "b" * DESCRIPTION_LIMIT


def _pages(due: Due) -> int:
    from weasyprint import HTML  # loading Pango takes a moment: only this test needs it

    content = Content(
        title_en=RECEIPT.title_en,
        title_ar=RECEIPT.title_ar,
        number=due.number,
        version=1,
        holder=due.holder,
        rows=due.rows,
        issued_at=PAID_AT,
        valid_until=None,
        verification_url="https://eservices.amman.jo/payments/v1/verify/" + "x" * 24,
    )
    return len(HTML(string=render_html(content)).render().pages)


def test_the_receipt_fits_on_one_page_with_the_longest_values() -> None:
    """The QR code is at the page's foot: a second page would leave the first without it. The
    longest: a description of 200 characters in each language (what the services send at most),
    a name of 100 (what they accept), a 20-digit e-payment number, a 64-character transaction
    id (what the provider's notification may carry) and a large amount."""
    words_ar = "رسوم تدريب نظم المعلومات الجغرافية: دورة متقدمة في تحليل البيانات المكانية "
    words_en = "GIS training fee: advanced course in the analysis of spatial data "
    bill = issued(
        description=LocalizedText(ar=(words_ar * 4)[:200], en=(words_en * 4)[:200]),
        amount_fils=9_999_999_999,
    )
    name = ("عبد الرحمن محمد عبد الله عبد الرحيم أبو الهيجاء الحسيني " * 2)[:100].strip()
    bill = bill.model_copy(
        update={
            "e_payment_number": "9" * 20,
            "payer": bill.payer.model_copy(update={"name": name}),
        }
    )
    [due] = pay(
        bill,
        e_payment_number="9" * 20,
        provider_transaction_id="T" * 64,
        paid_amount_fils=9_999_999_999,
    ).documents
    assert values(due)[1] == "9999999.999 JOD"
    assert _pages(due) == 1


def test_another_providers_transaction_is_labelled_as_the_payment_providers() -> None:
    [due] = pay(provider="card-gateway", provider_transaction_id="CG-42").documents
    last = due.rows[-1]
    assert (last.label_en, last.label_ar, last.value) == (
        "Payment provider's transaction",
        "رقم الحركة لدى مزوّد الدفع",
        "CG-42",
    )
