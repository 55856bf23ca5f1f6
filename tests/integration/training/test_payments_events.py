"""The payments events, as training's consumer hands them to its use cases, on a real database:
what normal running brings is a no-op (another service's bill, a redelivery, a refund decision
for a refund this request never asked for), and only an event that should not have come is
refused, which the consumer dead-letters with the reason (`typed_handler`'s policy). The whole
path through the broker to `training.payments.dlq` is in `test_redelivery.py`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import (
    Applicant,
    BillExpired,
    BillIssued,
    BillPaid,
    LocalizedText,
    RefundApproved,
    new_event,
)
from services.common.calendar import WorkingCalendar
from services.common.change import ChangedMeanwhile
from services.common.clock import SystemClock
from services.common.consumer import Handler, Reject
from services.common.documents import DocumentsSpec, DocumentStore
from services.common.outbox import Outbox
from services.common.workflow import Actor
from services.training.consumers import handlers
from services.training.domain import ApplicantType, ApplicationForm, CertificateType, Kind
from services.training.domain.letters import KINDS
from services.training.service import Training
from services.training.settings import load_catalogue
from services.training.store import REQUESTS, TrainingStore

pytestmark = pytest.mark.integration

CALENDAR = WorkingCalendar()
PDF = b"%PDF-1.7\n" + b"a copy of the certificate " * 40
APPLICANT = Applicant(name="سامي خالد", phone="+962791234567", lang="ar")
CITIZEN = Actor("citizen-events", frozenset({"citizen"}))
REVIEWER = Actor("reviewer-events", frozenset({"training.reviewer"}))


@pytest.fixture
async def training(mongo: Any, database_name: str) -> AsyncIterator[Training]:
    db, outbox, clock = mongo[database_name], Outbox(), SystemClock()
    # The letters' store (no issuer runs here: the staged letters wait in the requests).
    spec = DocumentsSpec(kinds=list(KINDS), collections=[REQUESTS])
    letters = DocumentStore(db, "training", spec, clock, outbox, "http://127.0.0.1:8013")
    yield Training(
        TrainingStore(db, outbox, letters),
        load_catalogue(),
        clock,
        CALENDAR,
        5 * 1024 * 1024,
    )


async def submitted(training: Training) -> str:
    """An individual's GIS training, under review."""
    start = CALENDAR.next_working_day(datetime.now(UTC).date() + timedelta(days=14))
    form = ApplicationForm(
        kind=Kind.TRAINING,
        applicant_type=ApplicantType.INDIVIDUAL,
        department_code="gis",
        start_date=start,
        end_date=start + timedelta(days=13),
        certificate_type=CertificateType.BACHELOR,
        course_code="arcgis_pro",
    )
    request = await training.submit(CITIZEN, APPLICANT, form, "bachelor.pdf", PDF)
    return request.number


async def awaiting_payment(training: Training) -> str:
    """An individual's GIS training, approved: its fee awaits payment."""
    number = await submitted(training)
    approved = await training.approve(number, None, REVIEWER)
    assert approved.status == "awaiting_payment"
    return number


async def deliver(training: Training, key: str, data: Any) -> None:
    handler: Handler = handlers(training)[key]
    event = new_event(
        key, data, source_service="payments", subject=data.request_number, time=datetime.now(UTC)
    )
    await handler(event, data)


def issued(reference: str, number: str) -> BillIssued:
    return BillIssued(
        payment_reference=reference,
        request_number=number,
        e_payment_number="2026000123457",
        amount_fils=200000,
        due_at=datetime.now(UTC) + timedelta(days=3),
        description=LocalizedText(ar="رسوم", en="fee"),
        applicant=APPLICANT,
    )


def paid(reference: str, number: str) -> BillPaid:
    return BillPaid(
        payment_reference=reference,
        request_number=number,
        e_payment_number="2026000123457",
        amount_fils=200000,
        paid_at=datetime.now(UTC),
        applicant=APPLICANT,
    )


async def test_another_services_bill_and_a_redelivery_change_nothing(training: Training) -> None:
    number = await awaiting_payment(training)
    before = await training.request(number)

    # Another service's bills and refunds come on the same queue: not ours, nothing happens.
    await deliver(training, "payments.bill.paid.v1", paid(f"exams:{number}:fee", number))
    await deliver(training, "payments.bill.issued.v1", issued(f"exams:{number}:fee", number))
    assert await training.request(number) == before

    await deliver(training, "payments.bill.issued.v1", issued(f"training:{number}:fee", number))
    await deliver(training, "payments.bill.paid.v1", paid(f"training:{number}:fee", number))
    approved = await training.request(number)
    assert approved.status == "approved" and approved.version == before.version + 2
    assert [(e.action, e.by, e.role) for e in approved.history][-1] == ("pay", "payments", "system")

    # Delivered again (or published twice): the state guards every effect.
    await deliver(training, "payments.bill.issued.v1", issued(f"training:{number}:fee", number))
    await deliver(training, "payments.bill.paid.v1", paid(f"training:{number}:fee", number))
    expired = BillExpired(
        payment_reference=f"training:{number}:fee",
        request_number=number,
        e_payment_number="2026000123457",
        at=datetime.now(UTC),
        applicant=APPLICANT,
    )
    await deliver(training, "payments.bill.expired.v1", expired)
    assert await training.request(number) == approved


async def test_a_refund_decision_this_request_did_not_ask_for_changes_nothing(
    training: Training,
) -> None:
    number = await awaiting_payment(training)
    before = await training.request(number)
    decision = RefundApproved(
        refund_reference=f"training:{number}:no_show_refund",
        payment_reference=f"training:{number}:fee",
        request_number=number,
        amount_fils=150000,
        decided_by_role="finance.approver",
        applicant=APPLICANT,
    )

    await deliver(training, "payments.refund.approved.v1", decision)

    assert await training.request(number) == before


async def test_an_event_that_should_not_have_come_is_refused_with_the_reason(
    training: Training,
) -> None:
    number = await awaiting_payment(training)
    nobody = f"TR-2026-{uuid.uuid4().int % 10**6:06d}"

    with pytest.raises(Reject, match="No such request"):
        await deliver(training, "payments.bill.paid.v1", paid(f"training:{nobody}:fee", nobody))
    with pytest.raises(Reject, match=f"not of the request {number}"):
        await deliver(training, "payments.bill.paid.v1", paid(f"training:{nobody}:fee", number))
    assert (await training.request(number)).status == "awaiting_payment"


def another_writer_first(training: Training) -> list[int]:
    """Make the next save lose its race: another writer changes the request just before it."""
    real_save = training.store.save
    clashes: list[int] = []

    async def save(before: Any, after: Any, events: Any, documents: Any = ()) -> Any:
        if not clashes:
            clashes.append(before.version)
            meanwhile = before.model_copy(update={"attachment_note": None})
            await real_save(before, meanwhile, [])
        return await real_save(before, after, events, documents)

    training.store.save = save  # type: ignore[method-assign]
    return clashes


async def test_a_person_who_loses_a_race_is_told_to_reload_an_event_decides_again(
    training: Training,
) -> None:
    number = await submitted(training)
    another_writer_first(training)

    # The reviewer decided on what they saw: one attempt, then 409 (ChangedMeanwhile).
    with pytest.raises(ChangedMeanwhile):
        await training.reject(number, LocalizedText(ar="لا شاغر", en="no vacancy"), REVIEWER)
    assert (await training.request(number)).status == "under_review"
    await training.approve(number, None, REVIEWER)

    # An event's effect is applied whatever happened meanwhile: decided again, saved once.
    clashes = another_writer_first(training)
    before = await training.request(number)
    await deliver(training, "payments.bill.paid.v1", paid(f"training:{number}:fee", number))
    after = await training.request(number)
    assert clashes == [before.version]
    assert after.status == "approved" and after.version == before.version + 2
    # The approval letter, staged once, by the save that won (the lost one wrote nothing).
    stored = await training.store.requests.find_one({"_id": number})
    assert stored is not None and len(stored["documents_due"]) == 1
    assert stored["documents_due"][0]["id"] == after.approval_letter_id
