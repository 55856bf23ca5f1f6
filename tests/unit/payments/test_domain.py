"""The bill's rules, branch by branch, on plain objects."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contracts import (
    Applicant,
    BillCancelled,
    BillExpired,
    BillIssued,
    BillPaid,
    LocalizedText,
    PaymentRequested,
    RefundApproved,
    RefundRejected,
    RefundRequested,
)
from services.common.workflow import Actor
from services.payments import domain
from services.payments.domain import (
    BILL_WORKFLOW,
    REFUND_WORKFLOW,
    Bill,
    BillStatus,
    ExceptionKind,
    Issue,
    PaymentNotice,
    PaymentRefused,
    RefundStatus,
)

NOW = datetime(2026, 11, 28, 7, 30, tzinfo=UTC)
DUE = NOW + timedelta(days=3)
PAYER = Applicant(name="ليلى أحمد", phone="+962791234567")
APPROVER = frozenset({"finance.approver"})
PAYMENTS_DIR = Path(__file__).resolve().parents[3] / "services" / "payments"


def request(**changes: object) -> PaymentRequested:
    data: dict[str, object] = {
        "payment_reference": "training:TR-2026-000045:fee",
        "request_number": "TR-2026-000045",
        "amount_fils": 100000,
        "description": LocalizedText(ar="دورة نظم المعلومات الجغرافية", en="GIS course"),
        "due_at": DUE,
        "payer": PAYER,
        "service_type": "training.gis_course",
        "owner_subject": "citizen-1",
    }
    data.update(changes)
    return PaymentRequested.model_validate(data)


def issued(**changes: object) -> Bill:
    issue = Issue(
        e_payment_number="5724000000006",
        biller_code="106",
        provider_service_type="TRAINING",
        now=NOW,
    )
    return domain.issue_bill(request(**changes), issue).bill


def notice(**changes: object) -> PaymentNotice:
    data: dict[str, object] = {
        "provider": "efawateercom",
        "provider_transaction_id": "JOE-1",
        "e_payment_number": "5724000000006",
        "biller_code": "106",
        "paid_amount_fils": 100000,
        "paid_at": NOW + timedelta(hours=1),
    }
    data.update(changes)
    return PaymentNotice.model_validate(data)


def paid() -> Bill:
    return domain.pay(issued(), notice(), NOW + timedelta(hours=1)).bill


def refund(**changes: object) -> RefundRequested:
    data: dict[str, object] = {
        "payment_reference": "training:TR-2026-000045:fee",
        "refund_reference": "training:TR-2026-000045:no_show_refund",
        "request_number": "TR-2026-000045",
        "amount_fils": 75000,
        "reason": LocalizedText(ar="عدم الحضور", en="No-show"),
        "needs_approval": True,
        "payer": PAYER,
    }
    data.update(changes)
    return RefundRequested.model_validate(data)


def refused(bill: Bill | None, the_notice: PaymentNotice, now: datetime) -> ExceptionKind:
    with pytest.raises(PaymentRefused) as caught:
        domain.pay(bill, the_notice, now)
    return caught.value.kind


# ---- issue ---------------------------------------------------------------------------------


def test_issuing_a_bill_makes_a_new_bill_and_a_bill_issued_event_for_the_sms() -> None:
    issue = Issue("5724000000006", "106", "TRAINING", NOW)
    change = domain.issue_bill(request(), issue)

    assert change.bill.status is BillStatus.NEW
    assert change.bill.owner_subject == "citizen-1"
    assert change.bill.requesting_service == "training"
    assert change.bill.expires_at == DUE + timedelta(milliseconds=1)
    [event] = change.events
    assert event.routing_key == "payments.bill.issued.v1"
    assert isinstance(event.data, BillIssued)
    assert event.data.e_payment_number == "5724000000006"
    assert event.data.amount_fils == 100000 and event.data.due_at == DUE
    assert event.data.applicant == PAYER and event.data.biller_code == "106"


def test_a_request_already_past_its_due_time_is_refused() -> None:
    with pytest.raises(domain.RuleBroken, match="already passed"):
        issued(due_at=NOW - timedelta(seconds=1))


def test_the_provider_service_type_is_the_fee_kinds_then_the_services_then_the_default() -> None:
    mapping = {"training.gis_course": "GIS", "training": "TRAINING"}
    assert domain.provider_service_type("training.gis_course", mapping, "GAM") == "GIS"
    assert domain.provider_service_type("training.other", mapping, "GAM") == "TRAINING"
    assert domain.provider_service_type("exams.exam_fee", mapping, "GAM") == "GAM"


# ---- pay -----------------------------------------------------------------------------------


def test_the_exact_amount_before_the_due_time_pays_the_bill() -> None:
    change = domain.pay(issued(), notice(fees_fils=500), NOW + timedelta(hours=1))

    assert change.bill.status is BillStatus.PAID and change.bill.expires_at is None
    assert change.bill.payment is not None and change.bill.payment.fees_fils == 500
    [event] = change.events
    assert isinstance(event.data, BillPaid)
    assert event.data.provider_transaction_id == "JOE-1"
    assert change.bill.history[-1].action == "pay"


def test_the_same_transaction_again_changes_nothing() -> None:
    change = domain.pay(paid(), notice(), NOW + timedelta(hours=2))
    assert change is None


def test_another_transaction_on_a_paid_bill_is_an_exception() -> None:
    assert refused(paid(), notice(provider_transaction_id="JOE-2"), NOW) is (
        ExceptionKind.ALREADY_PAID
    )


@pytest.mark.parametrize("amount", [99999, 100001, 0])
def test_any_other_amount_is_an_exception(amount: int) -> None:
    kind = refused(issued(), notice(paid_amount_fils=amount), NOW)
    assert kind is ExceptionKind.AMOUNT_MISMATCH


def test_an_unknown_number_or_another_billers_number_is_an_exception() -> None:
    assert refused(None, notice(), NOW) is ExceptionKind.UNKNOWN_BILL
    assert refused(issued(), notice(biller_code="999"), NOW) is ExceptionKind.UNKNOWN_BILL


def test_a_payment_after_the_due_time_is_an_exception_even_before_the_sweeper_ran() -> None:
    assert refused(issued(), notice(), DUE + timedelta(milliseconds=1)) is (
        ExceptionKind.BILL_EXPIRED
    )
    assert domain.pay(issued(), notice(), DUE).bill.status is BillStatus.PAID


def test_a_payment_on_an_expired_or_cancelled_bill_is_an_exception() -> None:
    expired = domain.expire(issued(), DUE + timedelta(seconds=1)).bill
    cancelled = domain.cancel(issued(), "withdrawn", NOW).bill
    assert refused(expired, notice(), NOW) is ExceptionKind.BILL_EXPIRED
    assert refused(cancelled, notice(), NOW) is ExceptionKind.BILL_CANCELLED


def test_a_refused_notification_flags_the_whole_amount_for_refund() -> None:
    with pytest.raises(PaymentRefused) as caught:
        domain.pay(issued(), notice(paid_amount_fils=120000), NOW)
    record = domain.refused_notification(notice(paid_amount_fils=120000), caught.value, NOW)
    assert not record.accepted and record.refund_due_fils == 120000
    assert record.key == "efawateercom:JOE-1"
    assert record.fingerprint == domain.fingerprint(notice(paid_amount_fils=120000))
    assert record.fingerprint != domain.fingerprint(notice())


# ---- expire and cancel ---------------------------------------------------------------------


def test_a_bill_expires_only_after_its_due_time() -> None:
    assert domain.expire(issued(), DUE) is None
    change = domain.expire(issued(), DUE + timedelta(milliseconds=1))
    assert change.bill.status is BillStatus.EXPIRED
    assert isinstance(change.events[0].data, BillExpired)


def test_a_paid_bill_does_not_expire() -> None:
    assert domain.expire(paid(), DUE + timedelta(days=1)) is None


def test_cancelling_a_new_bill_cancels_it_and_a_paid_one_stays_paid() -> None:
    change = domain.cancel(issued(), "the applicant withdrew", NOW)
    assert change.bill.status is BillStatus.CANCELLED
    assert isinstance(change.events[0].data, BillCancelled)
    assert change.bill.history[-1].why == "the applicant withdrew"
    assert domain.cancel(paid(), "too late", NOW) is None
    assert domain.cancel(change.bill, "again", NOW) is None


# ---- refunds -------------------------------------------------------------------------------


def test_a_refund_needing_approval_waits_without_an_event() -> None:
    change = domain.request_refund(paid(), refund(), NOW)
    assert change.events == ()
    assert change.bill.refunds[0].status is RefundStatus.PENDING_APPROVAL
    assert change.bill.refundable_fils == 25000


def test_a_refund_not_needing_approval_is_approved_at_once_by_the_system() -> None:
    change = domain.request_refund(paid(), refund(needs_approval=False), NOW)
    [event] = change.events
    assert isinstance(event.data, RefundApproved)
    assert event.data.decided_by_role == "system" and event.data.amount_fils == 75000


def test_the_same_refund_requested_again_changes_nothing() -> None:
    bill = domain.request_refund(paid(), refund(), NOW).bill
    assert domain.request_refund(bill, refund(), NOW) is None


def test_a_refund_of_an_unpaid_or_unknown_bill_is_refused() -> None:
    with pytest.raises(domain.RuleBroken, match="nothing to refund"):
        domain.request_refund(issued(), refund(), NOW)
    with pytest.raises(domain.Unknown):
        domain.request_refund(None, refund(), NOW)


def test_refunds_together_never_exceed_what_was_paid() -> None:
    with pytest.raises(domain.RuleBroken, match="exceeds"):
        domain.request_refund(paid(), refund(amount_fils=100001), NOW)
    bill = domain.request_refund(paid(), refund(), NOW).bill
    second = refund(refund_reference="training:TR-2026-000045:second", amount_fils=25001)
    with pytest.raises(domain.RuleBroken, match="exceeds"):
        domain.request_refund(bill, second, NOW)


def test_a_rejected_refund_frees_its_amount() -> None:
    bill = domain.request_refund(paid(), refund(), NOW).bill
    bill = domain.decide_refund(
        bill,
        refund().refund_reference,
        approve=False,
        actor=Actor("a", APPROVER),
        note=None,
        now=NOW,
    ).bill
    assert bill.refundable_fils == 100000


def test_a_finance_approver_approves_or_rejects_a_waiting_refund_once() -> None:
    bill = domain.request_refund(paid(), refund(), NOW).bill
    reference = refund().refund_reference

    approved = domain.decide_refund(
        bill, reference, approve=True, actor=Actor("fa-1", APPROVER), note="ok", now=NOW
    )
    rejected = domain.decide_refund(
        bill, reference, approve=False, actor=Actor("fa-1", APPROVER), note="no", now=NOW
    )

    assert isinstance(approved.events[0].data, RefundApproved)
    assert approved.events[0].data.decided_by_role == "finance.approver"
    assert isinstance(rejected.events[0].data, RefundRejected)
    assert rejected.events[0].data.reason == "no"
    with pytest.raises(domain.NotAllowedNow, match="already approved"):
        domain.decide_refund(
            approved.bill, reference, approve=False, actor=Actor("x", APPROVER), note=None, now=NOW
        )


def test_only_the_role_in_the_workflow_table_may_decide_a_refund() -> None:
    bill = domain.request_refund(paid(), refund(), NOW).bill
    with pytest.raises(domain.NotPermitted):
        domain.decide_refund(
            bill,
            refund().refund_reference,
            approve=True,
            actor=Actor("fs-1", frozenset({"finance.staff"})),
            note=None,
            now=NOW,
        )
    assert domain.roles_for(REFUND_WORKFLOW, "approve") == ("finance.approver",)


def test_deciding_an_unknown_refund_is_unknown() -> None:
    with pytest.raises(domain.Unknown):
        domain.decide_refund(
            paid(), "x:y:z", approve=True, actor=Actor("a", APPROVER), note=None, now=NOW
        )


def test_every_timeline_line_records_who_acted_and_under_which_role() -> None:
    bill = domain.request_refund(paid(), refund(), NOW).bill
    bill = domain.decide_refund(
        bill,
        refund().refund_reference,
        approve=True,
        actor=Actor("fa-1", APPROVER),
        note="ok",
        now=NOW,
    ).bill
    cancelled = domain.cancel(issued(), "withdrawn", NOW).bill
    expired = domain.expire(issued(), DUE + timedelta(seconds=1)).bill

    lines = [(line.action, line.by, line.role) for line in bill.history]
    assert lines == [
        ("issue", "training", "system"),
        ("pay", "efawateercom", "payment.provider"),
        ("refund.request", "training", "system"),
        ("refund.approve", "fa-1", "finance.approver"),
    ]
    assert bill.history[-1].source == "refund pending_approval"
    assert bill.history[-1].target == "refund approved"
    assert (cancelled.history[-1].by, cancelled.history[-1].role) == ("training", "system")
    assert (expired.history[-1].by, expired.history[-1].role) == ("system", "system")
    assert cancelled.closed_at == NOW and cancelled.history[-1].why == "withdrawn"


def test_a_move_the_state_does_not_allow_is_refused() -> None:
    with pytest.raises(domain.NotAllowedNow):
        # `moved` checks the table: a paid bill has no `expire` row.
        domain.bill.moved(paid(), BILL_WORKFLOW, "expire", Actor("x", frozenset({"system"})), NOW)


# ---- what others see -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("Layla Ahmad Haddad", "L*** A*** H***"),
        ("ليلى أحمد", "ل*** أ***"),
        ("Al", "A*"),
        ("X", "X*"),
        ("  two   spaces ", "t** s***"),
    ],
)
def test_a_payers_name_is_masked_word_by_word(name: str, masked: str) -> None:
    assert domain.mask_name(name) == masked


def test_a_new_bill_past_its_due_time_shows_expired_to_the_provider() -> None:
    assert domain.status_for_provider(issued(), NOW) is BillStatus.NEW
    assert domain.status_for_provider(issued(), DUE + timedelta(seconds=1)) is BillStatus.EXPIRED


def test_a_bill_of_another_service_type_or_biller_is_presented_as_unknown() -> None:
    bill = issued()
    ok = domain.presentable(bill, number="n", provider_service_type="TRAINING", biller_code="106")
    assert ok is bill
    for service_type, biller in (("EXAMS", "106"), ("TRAINING", "1")):
        with pytest.raises(domain.Unknown):
            domain.presentable(
                bill, number="n", provider_service_type=service_type, biller_code=biller
            )


# ---- the workflow table, the README and purity ---------------------------------------------


def test_the_readme_shows_the_state_diagrams_derived_from_the_workflow_tables() -> None:
    readme = (PAYMENTS_DIR / "README.md").read_text()
    assert domain.state_diagram(BILL_WORKFLOW) in readme
    assert domain.state_diagram(REFUND_WORKFLOW) in readme


def test_every_bill_status_is_reached_by_the_workflow() -> None:
    assert {move.target for move in BILL_WORKFLOW} == set(BillStatus)
    assert {move.target for move in REFUND_WORKFLOW} == set(RefundStatus)


@pytest.mark.parametrize(
    "module",
    [
        "domain/__init__.py",
        "domain/workflow.py",
        "domain/bill.py",
        "domain/provider.py",
        "domain/receipt.py",
        "numbers.py",
        "signatures.py",
        "reports.py",
    ],
)
def test_the_pure_modules_import_no_io(module: str) -> None:
    tree = ast.parse((PAYMENTS_DIR / module).read_text())
    imported = {
        name
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    forbidden = ("fastapi", "faststream", "pymongo", "aio_pika", "httpx", "services.common")
    pure_common = {
        "services.common.errors",
        "services.common.workflow",
        "services.common.formatting",
        "services.common.documents.model",
    }
    assert not [name for name in imported - pure_common if name.startswith(forbidden)]
