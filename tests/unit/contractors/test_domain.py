"""The renewal's transitions (pure): each returns the new request and the events it raises."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from contracts import LocalizedText, PaymentRequested, RefundRequested
from contracts.contractors import RenewalCancelled, RenewalCompleted, RenewalSubmitted
from services.contractors import domain, views
from services.contractors.domain import NotAllowedNow, NotPermitted, RuleBroken, Status
from tests.unit.contractors.builders import (
    CITIZEN,
    DUE,
    FEES,
    NOW,
    REVIEWER,
    approved,
    contractor,
    paid_with,
    permit,
    submitted,
)

REASON = LocalizedText(ar="مخالفات غير مسددة", en="Unpaid fines")


def test_submitting_raises_the_request_number_event_and_only_the_name_of_the_applicant() -> None:
    change = domain.submit(
        request_number="CP-2026-000001",
        owner=CITIZEN,
        contractor=contractor(),
        permit=permit(),
        reason="انتهاء",
        phone="+962791234567",
        lang="ar",
        now=NOW,
    )
    assert change.request.status is Status.SUBMITTED
    assert change.request.valid_to_before == date(2026, 12, 31)
    [event] = change.events
    assert event.routing_key == "contractors.renewal.submitted.v1"
    assert isinstance(event.data, RenewalSubmitted)
    assert event.data.applicant.phone == "+962791234567"
    assert event.data.permit.classification == "buildings"


def test_a_suspended_permit_is_not_renewed_and_a_reviewer_cannot_submit() -> None:
    with pytest.raises(RuleBroken):
        domain.check_renewable(permit(status="suspended"))
    with pytest.raises(NotPermitted):
        domain.submit(
            request_number="CP-2026-000001",
            owner=REVIEWER,
            contractor=contractor(),
            permit=permit(),
            reason="x",
            phone="+962791234567",
            lang="ar",
            now=NOW,
        )


def test_approval_with_a_fee_asks_payments_for_it() -> None:
    change = approved()
    assert change.request.status is Status.AWAITING_PAYMENT
    assert change.request.fee is not None and change.request.fee.amount_fils == 100_000
    keys = [event.routing_key for event in change.events]
    assert keys == ["contractors.renewal.approved.v1", "contractors.payment.requested.v1"]
    payment = change.events[1].data
    assert isinstance(payment, PaymentRequested)
    assert payment.payment_reference == "contractors:CP-2026-000123:fee"
    assert payment.due_at == DUE and payment.service_type == "contractors.permit_renewal"
    assert domain.request_number_of(payment.payment_reference) == "CP-2026-000123"
    assert domain.request_number_of("exams:EX-2026-000001:fee") is None


def test_approval_of_a_free_renewal_completes_at_once_with_the_new_validity() -> None:
    change = approved("maintenance")
    assert change.request.status is Status.COMPLETED
    assert (change.request.valid_from, change.request.valid_to) == (
        date(2027, 1, 1),
        date(2027, 12, 31),
    )
    keys = [event.routing_key for event in change.events]
    assert keys == ["contractors.renewal.approved.v1", "contractors.renewal.completed.v1"]
    assert not any(isinstance(e.data, PaymentRequested) for e in change.events)
    assert [entry.action for entry in change.request.history] == ["submit", "approve"]


def test_only_a_reviewer_decides_and_only_once() -> None:
    with pytest.raises(NotPermitted):
        domain.reject(submitted(), CITIZEN, NOW, reason=REASON)
    rejected = domain.reject(submitted(), REVIEWER, NOW, reason=REASON).request
    assert rejected.status is Status.REJECTED and rejected.rejection_reason == REASON
    assert not rejected.is_open
    with pytest.raises(NotAllowedNow):
        domain.approve(
            rejected, REVIEWER, NOW, fees=FEES, permit=permit(), payment_due_at=DUE, note=None
        )


def test_payment_completes_once_and_a_repeat_changes_nothing() -> None:
    waiting = approved().request
    done = domain.record_payment(waiting, paid_with(), permit(), NOW)
    assert done.request.status is Status.COMPLETED
    [event] = done.events
    assert isinstance(event.data, RenewalCompleted)
    assert event.data.e_payment_number == "2026000123457"
    assert (event.data.valid_from, event.data.valid_to) == (date(2027, 1, 1), date(2027, 12, 31))
    assert domain.record_payment(done.request, paid_with(), None, NOW) is None


def test_an_expired_bill_cancels_once_and_a_late_payment_is_refunded_once() -> None:
    waiting = approved().request
    cancelled = domain.cancel_unpaid(waiting, NOW, "payment_expired")
    assert cancelled.request.status is Status.CANCELLED
    assert isinstance(cancelled.events[0].data, RenewalCancelled)
    assert domain.cancel_unpaid(cancelled.request, NOW, "payment_expired") is None
    assert domain.cancel_unpaid(submitted(), NOW, "bill_cancelled") is None

    late = domain.record_payment(cancelled.request, paid_with(), None, NOW)
    [refund] = late.events
    assert isinstance(refund.data, RefundRequested) and not refund.data.needs_approval
    assert domain.record_payment(late.request, paid_with(), None, NOW) is None


def test_the_inquiry_says_the_status_and_next_step_in_both_languages() -> None:
    waiting = approved().request
    inquiry = views.inquiry(waiting)
    assert inquiry.status_label.ar == "تمت الموافقة؛ بانتظار دفع الرسوم"
    assert inquiry.next_step is not None
    assert inquiry.next_step.en == (
        "Pay the renewal fee of 100.000 JOD with the e-payment number sent to you by SMS, "
        "by 30/11/2026 23:59."
    )
    assert [line.label.en for line in inquiry.timeline] == [
        "Renewal submitted",
        "Approved; renewal fee requested",
    ]


def test_the_fee_is_data_the_most_specific_rule_wins() -> None:
    assert FEES.fee_for("buildings", "3") == 100_000
    assert FEES.fee_for("buildings", "1") == 75_000
    assert FEES.fee_for("maintenance", "5") == 0
    assert FEES.fee_for("roads", "1") == 50_000


def test_the_shipped_fee_schedule_loads() -> None:
    from services.contractors.app import load_fees

    schedule = load_fees(None)
    assert schedule.fee_for("maintenance", "1") == 0
    assert schedule.fee_for("buildings", "3") > 0


def test_the_applicants_input_is_normalised_or_refused_naming_each_field() -> None:
    key = domain.check_key(" c-10234", "p-٢٠٢٦-٠١١٢", 2026)
    assert (key.contractor_number, key.permit_number, key.permit_id) == (
        "C-10234",
        "P-2026-0112",
        "P-2026-0112|2026",
    )
    with pytest.raises(RuleBroken) as raised:
        domain.check_key("C 1!", "ب", 1800)
    assert [error.field for error in raised.value.errors] == [
        "contractor_number",
        "permit_number",
        "permit_year",
    ]
    assert domain.check_phone("0791234567") == "+962791234567"
    with pytest.raises(RuleBroken):
        domain.check_phone("0612345678")
    with pytest.raises(RuleBroken):
        domain.check_reason("  x ")


def test_the_payment_is_due_at_the_end_of_a_working_day() -> None:
    from services.common.calendar import WorkingCalendar

    due = domain.payment_due(WorkingCalendar(), NOW, 5)
    assert views.amman_time(due).endswith("23:59")
    assert due - NOW > timedelta(days=5)


def test_settings_refuse_a_fixed_code_outside_development_and_derive_a_secret() -> None:
    from pydantic import ValidationError

    from services.contractors.settings import ContractorsSettings

    with pytest.raises(ValidationError):
        ContractorsSettings(environment="test", contractors_otp_dev_code="123456")
    with pytest.raises(ValidationError):
        ContractorsSettings(environment="development", contractors_otp_dev_code="123")
    local = ContractorsSettings(environment="development", contractors_otp_dev_code="123456")
    assert local.otp_secret() and local.registry_file() is not None
    assert ContractorsSettings(environment="test").registry_file() is None
