"""The wiring holds together: every event the domain raises is in the contract registry with its
model and producer, every SMS-bearing exams event has both templates, and each queue's consumer
handles exactly what the queue is bound to."""

from __future__ import annotations

from datetime import timedelta

from contracts import REGISTRY
from services.common.clock import ManualClock
from services.common.workflow import Raised
from services.exams import consumers, domain
from services.exams.domain import Outcome
from services.exams.service import Exams
from services.notifier.catalogue import TEMPLATES_DIR
from tests.unit.exams.builders import (
    CALENDAR,
    CATALOGUE,
    CITIZEN,
    COORDINATOR,
    NOW,
    OFFICIAL,
    TRIAL,
    form,
    payment,
    seated_session,
    submitted,
)
from tests.unit.exams.test_domain import AMMAN_10_AM_SUNDAY, scheduled


def _everything_the_domain_raises() -> list[Raised]:
    trial = domain.record_payment(submitted(TRIAL), payment(amount_fils=5_000), NOW)
    attended = domain.record_attendance(trial.request, COORDINATOR, NOW, None)
    ready = domain.record_result(
        attended.request, COORDINATOR, NOW, outcome=Outcome.PASSED, score=None, note=None
    )
    official = domain.record_payment(submitted(OFFICIAL), payment(), NOW)
    session = scheduled("EX-2026-000123", "EX-2026-000124")
    told = domain.schedule(official.request, session, NOW)
    one = seated_session("EX-2026-000001")
    complete = domain.admit(one, "EX-2026-000002", paid_at=NOW, now=NOW, calendar=CALENDAR)
    assert complete.session.date_due_at is not None
    withdrawn = domain.withdraw(submitted(), CITIZEN, NOW, None)
    changes: list[domain.RequestChange | domain.SessionChange | None] = [
        domain.submit(
            domain.check_application(form(), CATALOGUE),
            CATALOGUE,
            request_number="EX-2026-000123",
            owner=CITIZEN,
            now=NOW,
            payment_due_at=NOW,
        ),
        trial,
        attended,
        ready,
        domain.record_collection(ready.request, COORDINATOR, NOW, collected_by="x y"),
        official,
        told,
        domain.record_absence(told.request, COORDINATOR, AMMAN_10_AM_SUNDAY, None),
        complete,
        domain.mark_overdue(complete.session, complete.session.date_due_at),
        domain.schedule_session(
            complete.session,
            COORDINATOR,
            NOW,
            exam_at=AMMAN_10_AM_SUNDAY,
            venue=None,
            calendar=CALENDAR,
        ),
        withdrawn,
        domain.record_payment(withdrawn.request, payment(), NOW),
        domain.expire(submitted(), NOW),
    ]
    assert all(change is not None for change in changes)
    return [raised for change in changes if change is not None for raised in change.events]


def test_every_event_the_domain_raises_is_registered_with_its_model_and_producer() -> None:
    raised = _everything_the_domain_raises()

    for event in raised:
        spec = REGISTRY.spec_for(event.routing_key)
        assert spec.producer == "exams", event.routing_key
        assert isinstance(event.data, spec.data_model), event.routing_key
    # The document events are the shared issuer's (services/common/documents), not the domain's.
    exams_events = {
        spec.routing_key
        for spec in REGISTRY
        if spec.producer == "exams" and not spec.routing_key.startswith("exams.document.")
    }
    assert exams_events == {event.routing_key for event in raised}


def test_every_exams_event_that_sends_an_sms_has_an_arabic_and_an_english_template() -> None:
    for spec in REGISTRY:
        if spec.producer == "exams" and spec.notifies_applicant:
            for lang in ("ar", "en"):
                assert (TEMPLATES_DIR / f"{spec.routing_key}.{lang}.j2").is_file()


def test_every_request_event_says_whose_request_it_is() -> None:
    for spec in REGISTRY:
        if spec.routing_key.startswith("exams.request."):
            assert {"applicant", "owner_subject"} <= set(spec.data_model.model_fields)


class _Runtime:
    """Only what `consumers()` reads: the service whose use cases the handlers call."""

    service = Exams(
        None,  # type: ignore[arg-type]  # the handlers are only looked at, never called
        CATALOGUE,
        ManualClock(NOW),
        CALENDAR,
        payment_working_days=3,
        sla_nearing=timedelta(hours=24),
    )


def test_each_queue_handles_exactly_the_events_it_is_bound_to() -> None:
    for consumer in consumers.consumers(_Runtime()):  # type: ignore[arg-type]
        assert set(consumer.binding.routing_keys) == set(consumer.handlers)
        for key in consumer.handlers:
            assert key in REGISTRY
