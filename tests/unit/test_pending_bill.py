"""Each of the five services keeps the e-payment number of its pending bill when payments issues
it (`payments.bill.issued.v1`), so its inquiry can show it while the fee waits: only for the
request's current bill, while it awaits payment, once, and with no event of its own."""

from __future__ import annotations

from typing import Any

import pytest

from services.contractors import domain as contractors
from services.courses import domain as courses
from services.exams import domain as exams
from services.licensing import domain as licensing
from services.training import domain as training
from tests.unit.contractors import builders as contractor_builders
from tests.unit.courses.test_domain import waiting as courses_waiting
from tests.unit.exams import builders as exam_builders
from tests.unit.licensing import builders as licence_builders
from tests.unit.training.test_domain import submitted as training_submitted

NUMBER = "2026000123457"


def number_of(request: Any) -> str | None:
    fee = getattr(request, "fee", None)
    if fee is not None and hasattr(fee, "e_payment_number"):
        return fee.e_payment_number  # type: ignore[no-any-return]
    return request.e_payment_number  # type: ignore[no-any-return]


def record(service: str, request: Any, reference: str) -> Any:
    """The change, or None when nothing changes."""
    if service == "exams":
        return exams.record_bill(request, reference, NUMBER)
    if service == "contractors":
        return contractors.record_bill(request, reference, NUMBER)
    if service == "licensing":
        return licensing.record_bill(request, reference, NUMBER, 33_000, licence_builders.MONDAY)
    if service == "courses":
        return courses.record_bill(request, reference, NUMBER)
    return training.record_bill(request, reference, NUMBER)


def awaiting_payment(service: str) -> tuple[Any, str]:
    """A request of `service` awaiting payment, and its bill's reference."""
    if service == "exams":
        request = exam_builders.submitted()
        return request, request.fee.payment_reference
    if service == "contractors":
        request = contractor_builders.approved().request
        assert request.fee is not None
        return request, request.fee.payment_reference
    if service == "licensing":
        request = licence_builders.approved()
        assert request.payment_reference is not None
        return request, request.payment_reference
    if service == "courses":
        reference = courses.payment_reference("CR-2026-000001")
        request = courses_waiting().model_copy(
            update={
                "status": courses.RequestStatus.AWAITING_PAYMENT,
                "payment_reference": reference,
            }
        )
        return request, reference
    reference = training.payment_reference("TR-2026-000001")
    request = training_submitted().model_copy(
        update={"status": training.Status.AWAITING_PAYMENT, "payment_reference": reference}
    )
    return request, reference


SERVICES = ["exams", "contractors", "licensing", "courses", "training"]


@pytest.mark.parametrize("service", SERVICES)
def test_the_number_of_the_pending_bill_is_kept_once_without_an_event(service: str) -> None:
    request, reference = awaiting_payment(service)
    assert number_of(request) is None
    change = record(service, request, reference)
    assert change is not None and number_of(change.request) == NUMBER
    assert not change.events
    # Once: a redelivered bill.issued changes nothing.
    assert record(service, change.request, reference) is None


@pytest.mark.parametrize("service", SERVICES)
def test_another_bill_or_a_request_not_awaiting_payment_is_left_alone(service: str) -> None:
    request, reference = awaiting_payment(service)
    assert record(service, request, reference.replace(":fee", ":other")) is None
    settled = {
        "exams": exams.RequestStatus.CANCELLED,
        "contractors": contractors.Status.CANCELLED,
        "licensing": licensing.RequestStatus.WITHDRAWN,
        "courses": courses.RequestStatus.CANCELLED,
        "training": training.Status.CANCELLED,
    }[service]
    closed = request.model_copy(update={"status": settled})
    assert record(service, closed, reference) is None
