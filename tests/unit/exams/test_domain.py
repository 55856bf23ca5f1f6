"""The seed's branches (004, steps 1-4) and the decisions taken where it is silent, on plain
objects: each test takes a request or a session, applies what happened, and checks the new state
and the events it raised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts import LocalizedText, PaymentCancelled, PaymentRequested, RefundRequested
from contracts.exams import (
    ExamRequestCancelled,
    ExamRequestPaid,
    ExamRequestScheduled,
    ExamResultRecorded,
    ExamSessionMinimumReached,
    ExamSessionOverdue,
    ExamSessionScheduled,
)
from services.common.errors import NotAllowedNow, NotPermitted, RuleBroken
from services.exams import domain, views
from services.exams.domain import Outcome, RequestStatus, SessionStatus
from tests.unit.exams.builders import (
    CALENDAR,
    CATALOGUE,
    CITIZEN,
    COORDINATOR,
    NOW,
    OFFICIAL,
    TRIAL,
    form,
    paid,
    payment,
    seated_session,
    submitted,
)

AMMAN_10_AM_SUNDAY = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)


def keys(change: domain.RequestChange | domain.SessionChange) -> list[str]:
    return [raised.routing_key for raised in change.events]


def scheduled(*numbers: str, exam_at: datetime = AMMAN_10_AM_SUNDAY) -> domain.ExamSession:
    return domain.schedule_session(
        seated_session(*numbers),
        COORDINATOR,
        NOW,
        exam_at=exam_at,
        venue=None,
        calendar=CALENDAR,
    ).session


def sat(request: domain.ExamRequest) -> domain.ExamRequest:
    return domain.record_attendance(request, COORDINATOR, NOW, None).request


# ---- 1. confirmed -> the fee is asked of payments ----------------------------------------------


def test_1_confirmed_request_asks_payments_for_the_fee_of_its_subject() -> None:
    application = domain.check_application(form(), CATALOGUE)
    change = domain.submit(
        application,
        CATALOGUE,
        request_number="EX-2026-000123",
        owner=CITIZEN,
        now=NOW,
        payment_due_at=domain.payment_due(CALENDAR, NOW, 3),
    )

    assert change.request.status is RequestStatus.AWAITING_PAYMENT
    assert keys(change) == ["exams.request.submitted.v1", "exams.payment.requested.v1"]
    bill = change.events[1].data
    assert isinstance(bill, PaymentRequested)
    assert bill.payment_reference == "exams:EX-2026-000123:fee"
    assert bill.amount_fils == 5_000  # the trial subject's fee
    assert bill.owner_subject == "citizen-1"
    assert bill.payer.phone == "+962791234567"
    assert bill.description.ar == "رسوم امتحان ICDL تجريبي"
    assert bill.description.en == "ICDL practice test fee"
    # Tuesday 24 November + 3 working days = Sunday 29 November, payable to its last second.
    assert bill.due_at == datetime(2026, 11, 29, 20, 59, 59, tzinfo=UTC)


def test_1_only_a_citizen_confirms_a_request() -> None:
    application = domain.check_application(form(), CATALOGUE)

    with pytest.raises(NotPermitted):
        domain.submit(
            application,
            CATALOGUE,
            request_number="EX-2026-000123",
            owner=COORDINATOR,
            now=NOW,
            payment_due_at=NOW + timedelta(days=3),
        )


# ---- 2. paid, trial exam -> come any time during working hours --------------------------------


def test_2_paid_trial_exam_invites_the_candidate_any_time_during_working_hours() -> None:
    change = domain.record_payment(submitted(TRIAL), payment(amount_fils=5_000), NOW)

    assert change.request.status is RequestStatus.READY_TO_SIT
    assert change.request.fee.e_payment_number == "2026000123457"
    assert keys(change) == ["exams.request.paid.v1"]
    event = change.events[0].data
    assert isinstance(event, ExamRequestPaid)
    assert event.exam.type == "trial"
    assert event.centre.name.en == "Knowledge Station, Ras Al-Ain"
    assert event.session_minimum is None


def test_2_trial_attendance_then_result_any_day() -> None:
    request = sat(paid(submitted(TRIAL)))

    assert request.status is RequestStatus.AWAITING_RESULT


# ---- 3. paid, official exam -> session, minimum, date within one working week -----------------


def test_3_paid_official_exam_waits_for_the_session_minimum() -> None:
    change = domain.record_payment(submitted(OFFICIAL), payment(), NOW)

    assert change.request.status is RequestStatus.AWAITING_SESSION
    assert change.request.needs_a_session
    event = change.events[0].data
    assert isinstance(event, ExamRequestPaid)
    assert event.session_minimum == 2


def test_3_joining_the_session_is_recorded_once() -> None:
    request = paid(submitted(OFFICIAL))
    joined = domain.join_session(request, "ES-2026-000012", NOW)

    assert joined.request.session_number == "ES-2026-000012"
    assert not joined.request.needs_a_session
    assert domain.join_session(joined.request, "ES-2026-000012", NOW) is None


def test_3_the_session_waits_until_its_minimum_of_paid_candidates() -> None:
    session = seated_session("EX-2026-000001")

    assert session.status is SessionStatus.OPEN
    assert session.date_due_at is None


def test_3_reaching_the_minimum_starts_one_working_week_for_the_date() -> None:
    one = seated_session("EX-2026-000001")
    change = domain.admit(one, "EX-2026-000002", paid_at=NOW, now=NOW, calendar=CALENDAR)

    assert change.session.status is SessionStatus.AWAITING_DATE
    # Tuesday 24 November + 5 working days = Tuesday 1 December, to its end (Amman).
    assert change.session.date_due_at == datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
    assert keys(change) == ["exams.session.minimum_reached.v1"]
    event = change.events[0].data
    assert isinstance(event, ExamSessionMinimumReached)
    assert (event.minimum, event.candidates) == (2, 2)


def test_3_one_working_week_skips_the_weekend_and_eid_al_adha() -> None:
    # Thursday 21 May 2026, 10:00 in Amman: then Friday and Saturday, Independence Day (25 May),
    # Arafah and Eid al-Adha (26-29 May), another weekend: the fifth working day is 3 June.
    thursday = datetime(2026, 5, 21, 7, 0, tzinfo=UTC)
    session = seated_session("EX-2026-000001", at=thursday)
    change = domain.admit(
        session, "EX-2026-000002", paid_at=thursday, now=thursday, calendar=CALENDAR
    )

    assert change.session.date_due_at == datetime(2026, 6, 3, 21, 0, tzinfo=UTC)


def test_3_the_week_counts_from_the_later_of_payment_and_minimum() -> None:
    one = seated_session("EX-2026-000001")
    # The provider's payment time is a day after our clock (a clock running late): the later wins.
    paid_later = NOW + timedelta(days=1)
    change = domain.admit(one, "EX-2026-000002", paid_at=paid_later, now=NOW, calendar=CALENDAR)

    assert change.session.minimum_reached_at == paid_later
    assert change.session.date_due_at == datetime(2026, 12, 2, 21, 0, tzinfo=UTC)


def test_3_late_candidates_join_until_the_seats_are_taken_or_the_date_is_set() -> None:
    full = seated_session("EX-2026-000001", "EX-2026-000002", "EX-2026-000003")

    assert not full.is_accepting
    with pytest.raises(NotAllowedNow):
        domain.admit(full, "EX-2026-000004", paid_at=NOW, now=NOW, calendar=CALENDAR)
    assert not scheduled("EX-2026-000001", "EX-2026-000002").is_accepting


def test_3_a_session_cannot_be_scheduled_before_its_minimum() -> None:
    with pytest.raises(NotAllowedNow):
        domain.schedule_session(
            seated_session("EX-2026-000001"),
            COORDINATOR,
            NOW,
            exam_at=AMMAN_10_AM_SUNDAY,
            venue=None,
            calendar=CALENDAR,
        )


def test_3_only_a_coordinator_sets_the_date() -> None:
    with pytest.raises(NotPermitted):
        domain.schedule_session(
            seated_session("EX-2026-000001", "EX-2026-000002"),
            CITIZEN,
            NOW,
            exam_at=AMMAN_10_AM_SUNDAY,
            venue=None,
            calendar=CALENDAR,
        )


@pytest.mark.parametrize(
    ("exam_at", "why"),
    [
        (NOW - timedelta(hours=1), "future_datetime"),
        (datetime(2026, 12, 4, 7, 0, tzinfo=UTC), "working_day"),  # a Friday
        (datetime(2026, 12, 25, 7, 0, tzinfo=UTC), "working_day"),  # Christmas, a Friday too
        (datetime(2027, 5, 25, 7, 0, tzinfo=UTC), "working_day"),  # Independence Day, a Tuesday
    ],
)
def test_3_the_date_is_a_future_working_day(exam_at: datetime, why: str) -> None:
    session = seated_session("EX-2026-000001", "EX-2026-000002")

    with pytest.raises(RuleBroken) as refused:
        domain.schedule_session(
            session, COORDINATOR, NOW, exam_at=exam_at, venue=None, calendar=CALENDAR
        )
    assert [(error.field, error.type) for error in refused.value.errors] == [("exam_at", why)]


def test_3_date_set_tells_each_candidate_the_date_place_and_documents() -> None:
    session = domain.schedule_session(
        seated_session("EX-2026-000001", "EX-2026-000002"),
        COORDINATOR,
        NOW,
        exam_at=AMMAN_10_AM_SUNDAY,
        venue=LocalizedText(ar="قاعة 3", en="Hall 3"),
        calendar=CALENDAR,
    )
    assert session.session.status is SessionStatus.SCHEDULED
    announced = session.events[0].data
    assert isinstance(announced, ExamSessionScheduled)
    assert announced.candidates == ["EX-2026-000001", "EX-2026-000002"]

    request = paid(submitted(OFFICIAL, number="EX-2026-000001"))
    change = domain.schedule(request, session.session, NOW)

    assert change.request.status is RequestStatus.SCHEDULED
    assert change.request.session_number == "ES-2026-000012"  # even before join_session
    event = change.events[0].data
    assert isinstance(event, ExamRequestScheduled)
    assert event.exam_at == AMMAN_10_AM_SUNDAY
    assert event.venue.en == "Hall 3"
    assert event.documents.ar == "البطاقة الشخصية (الهوية) سارية المفعول"


def test_3_a_resident_is_asked_for_a_passport_or_residence_card() -> None:
    application = domain.check_application(
        form(id_type=domain.IdType.PERSONAL_NUMBER, id_number="ab12345"), CATALOGUE
    )

    assert application.applicant.national_id == "AB12345"
    assert domain.documents_for(application.id_type).en == "your valid passport or residence card"


def test_3_a_session_without_a_date_after_one_working_week_is_marked_overdue_once() -> None:
    session = seated_session("EX-2026-000001", "EX-2026-000002")
    assert session.date_due_at is not None
    just_before = session.date_due_at - timedelta(seconds=1)

    assert domain.mark_overdue(session, just_before) is None
    change = domain.mark_overdue(session, session.date_due_at)
    assert change.session.overdue_since == session.date_due_at
    assert change.session.overdue_check_at is None  # the sweeper looks no more
    assert isinstance(change.events[0].data, ExamSessionOverdue)
    assert domain.mark_overdue(change.session, session.date_due_at + timedelta(days=1)) is None


def test_3_a_date_set_late_says_so() -> None:
    session = seated_session("EX-2026-000001", "EX-2026-000002")
    assert session.date_due_at is not None
    late = session.date_due_at + timedelta(days=1)
    change = domain.schedule_session(
        session,
        COORDINATOR,
        late,
        exam_at=late + timedelta(days=7),
        venue=None,
        calendar=CALENDAR,
    )

    event = change.events[0].data
    assert isinstance(event, ExamSessionScheduled)
    assert event.was_overdue


def test_3_official_attendance_is_recorded_on_or_after_the_exam_day() -> None:
    session = scheduled("EX-2026-000123", "EX-2026-000124")
    request = domain.schedule(paid(submitted(OFFICIAL)), session, NOW).request

    with pytest.raises(RuleBroken):
        domain.record_attendance(request, COORDINATOR, NOW, None)
    on_the_day = AMMAN_10_AM_SUNDAY - timedelta(hours=2)
    assert (
        domain.record_attendance(request, COORDINATOR, on_the_day, None).request.status
        is RequestStatus.AWAITING_RESULT
    )


def test_3_absence_is_recorded_once_the_exam_started() -> None:
    session = scheduled("EX-2026-000123", "EX-2026-000124")
    request = domain.schedule(paid(submitted(OFFICIAL)), session, NOW).request

    with pytest.raises(RuleBroken):
        domain.record_absence(request, COORDINATOR, AMMAN_10_AM_SUNDAY - timedelta(minutes=1), None)
    change = domain.record_absence(request, COORDINATOR, AMMAN_10_AM_SUNDAY, "did not come")
    assert change.request.status is RequestStatus.ABSENT
    assert keys(change) == ["exams.request.absence_recorded.v1"]


# ---- 4. exam held, results reviewed ----------------------------------------------------------


def test_4_passed_makes_the_certificate_ready_for_collection() -> None:
    change = domain.record_result(
        sat(paid(submitted(TRIAL))), COORDINATOR, NOW, outcome=Outcome.PASSED, score=88, note=None
    )

    assert change.request.status is RequestStatus.CERTIFICATE_READY
    event = change.events[0].data
    assert isinstance(event, ExamResultRecorded)
    assert (event.outcome, event.score) == ("passed", 88)
    assert event.centre.name.ar == "المحطة المعرفية - رأس العين"


def test_4_failed_is_told_to_the_candidate_too() -> None:
    change = domain.record_result(
        sat(paid(submitted(TRIAL))), COORDINATOR, NOW, outcome=Outcome.FAILED, score=41, note=None
    )

    assert change.request.status is RequestStatus.FAILED
    assert keys(change) == ["exams.request.result_recorded.v1"]


def test_4_collecting_the_certificate_completes_the_request() -> None:
    ready = domain.record_result(
        sat(paid(submitted(TRIAL))), COORDINATOR, NOW, outcome=Outcome.PASSED, score=None, note=None
    ).request
    change = domain.record_collection(ready, COORDINATOR, NOW, collected_by="ليلى أحمد الحداد")

    assert change.request.status is RequestStatus.CERTIFICATE_COLLECTED
    assert keys(change) == ["exams.request.certificate_collected.v1"]
    with pytest.raises(NotAllowedNow):
        domain.record_collection(change.request, COORDINATOR, NOW, collected_by="again")


def test_4_a_result_needs_the_exam_to_have_been_sat() -> None:
    with pytest.raises(NotAllowedNow):
        domain.record_result(
            paid(submitted(TRIAL)), COORDINATOR, NOW, outcome=Outcome.PASSED, score=None, note=None
        )


@pytest.mark.parametrize(
    "act",
    [
        lambda r: domain.record_attendance(r, CITIZEN, NOW, None),
        lambda r: domain.record_result(
            sat(r), CITIZEN, NOW, outcome=Outcome.PASSED, score=None, note=None
        ),
    ],
)
def test_only_coordinators_record_attendance_and_results(act: object) -> None:
    with pytest.raises(NotPermitted):
        act(paid(submitted(TRIAL)))  # type: ignore[operator]


# ---- unpaid, withdrawn, paid late (the seed is silent) -----------------------------------


def test_an_expired_bill_cancels_the_request_and_tells_the_applicant() -> None:
    change = domain.expire(submitted(), NOW)

    assert change.request.status is RequestStatus.CANCELLED
    event = change.events[0].data
    assert isinstance(event, ExamRequestCancelled)
    assert event.cause == "payment_expired"


def test_withdrawing_an_unpaid_request_cancels_its_bill() -> None:
    change = domain.withdraw(submitted(), CITIZEN, NOW, "changed my mind")

    assert change.request.status is RequestStatus.CANCELLED
    assert keys(change) == ["exams.request.cancelled.v1", "exams.payment.cancelled.v1"]
    assert isinstance(change.events[1].data, PaymentCancelled)
    # payments then confirms with payments.bill.cancelled.v1: nothing more happens.
    assert domain.bill_cancelled(change.request, NOW) is None


def test_a_paid_request_cannot_be_withdrawn() -> None:
    with pytest.raises(NotAllowedNow):
        domain.withdraw(paid(submitted()), CITIZEN, NOW, None)


def test_a_payment_arriving_after_withdrawal_is_refunded_once() -> None:
    withdrawn = domain.withdraw(submitted(), CITIZEN, NOW, None).request
    change = domain.record_payment(withdrawn, payment(amount_fils=5_000), NOW)

    assert change.request.status is RequestStatus.CANCELLED
    refund = change.events[0].data
    assert isinstance(refund, RefundRequested)
    assert (refund.amount_fils, refund.needs_approval) == (5_000, False)
    assert domain.record_payment(change.request, payment(amount_fils=5_000), NOW) is None


# ---- every event applied twice changes nothing ---------------------------------------------


def test_every_event_applied_twice_changes_nothing() -> None:
    once = paid(submitted(OFFICIAL))
    assert domain.record_payment(once, payment(), NOW) is None
    assert domain.expire(once, NOW) is None

    expired = domain.expire(submitted(), NOW).request
    assert domain.expire(expired, NOW) is None

    session = scheduled("EX-2026-000123", "EX-2026-000124")
    told = domain.schedule(once, session, NOW).request
    assert domain.schedule(told, session, NOW) is None

    seated = seated_session("EX-2026-000001")
    assert domain.admit(seated, "EX-2026-000001", paid_at=NOW, now=NOW, calendar=CALENDAR) is None


# ---- the timeline and the inquiry -------------------------------------------------------


def test_the_timeline_records_who_in_what_role_when_from_what_to_what_and_why() -> None:
    request = domain.withdraw(submitted(), CITIZEN, NOW, "changed my mind").request

    assert [(e.action, e.source, e.target, e.by, e.role, e.why) for e in request.history] == [
        ("submit", None, "awaiting_payment", "citizen-1", "citizen", None),
        ("withdraw", "awaiting_payment", "cancelled", "citizen-1", "citizen", "changed my mind"),
    ]


def test_the_inquiry_shows_status_next_step_deadline_and_timeline_in_both_languages() -> None:
    inquiry = views.inquiry(submitted(), None, NOW)

    assert inquiry.status_label.ar == "بانتظار دفع الرسوم"
    assert inquiry.next_step is not None
    assert "5.000 JOD" in inquiry.next_step.en and "29/11/2026 23:59" in inquiry.next_step.en
    assert "5.000 دينار" in inquiry.next_step.ar
    assert inquiry.deadline is not None
    assert inquiry.deadline.at == datetime(2026, 11, 29, 20, 59, 59, tzinfo=UTC)
    assert [line.label.en for line in inquiry.timeline] == ["Request confirmed; fee requested"]
    assert inquiry.timeline[0].target_label.ar == "بانتظار دفع الرسوم"


def test_the_inquiry_of_an_official_request_shows_the_session_deadline() -> None:
    session = seated_session("EX-2026-000123", "EX-2026-000124")
    request = paid(submitted(OFFICIAL))
    inquiry = views.inquiry(request, session, session.date_due_at or NOW)

    assert inquiry.deadline is not None
    assert inquiry.deadline.at == datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
    assert inquiry.deadline.is_overdue
    assert inquiry.next_step is not None and "2 paid candidates" in inquiry.next_step.en


def test_a_session_tells_the_coordinator_what_to_do_next() -> None:
    next_step = views.session_next_step(seated_session("EX-2026-000001", "EX-2026-000002"))

    assert next_step is not None
    assert next_step.en == "Agree a date with ICDL Arabia and set it by 01/12/2026 23:59."


def test_our_fee_references_and_no_one_elses() -> None:
    assert domain.request_number_of("exams:EX-2026-000123:fee") == "EX-2026-000123"
    assert domain.request_number_of("courses:CR-2026-000123:fee") is None
    assert domain.request_number_of("exams:EX-2026-000123:late_payment_refund") is None
