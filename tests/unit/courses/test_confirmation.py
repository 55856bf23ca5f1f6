"""The enrolment confirmation on plain values: which changes issue it, what it shows, and the new
version a new date brings. No database, no renderer."""

from __future__ import annotations

from datetime import timedelta

from services.common.documents.model import Due
from services.courses import domain
from services.courses.domain import ENROLMENT_CONFIRMATION, CourseStatus, RequestStatus
from tests.unit.courses.test_domain import (
    ADMIN,
    APPLICANT,
    CITIZEN,
    NOW,
    PREREQUISITE,
    STAFF,
    START,
    TESTER,
    course,
    proof,
    waiting,
)

PAID = 30_000


def only_document(change: domain.Change | None) -> Due:
    assert change is not None
    [due] = change.documents
    return due


def shown(due: Due) -> dict[str, str]:
    return {row.label_en: row.value for row in due.rows}


def test_6_1_the_approval_of_a_free_request_issues_its_confirmation() -> None:
    confirmed = course(status=CourseStatus.CONFIRMED)

    change = domain.sync_request(waiting(), confirmed, False, NOW)

    due = only_document(change)
    assert (due.action, due.kind, due.number) == (
        "issue",
        "enrolment_confirmation",
        "CR-2026-000001",
    )
    assert (due.owner, due.holder, due.issued_at) == ("citizen-1", "ليلى أحمد", NOW)
    assert due.valid_until is None
    # 03/12/2026 09:00 UTC is noon in Amman (UTC+3).
    assert shown(due) == {
        "Course": "بايثون / Python",
        "Starts on": "03/12/2026 12:00",
        "Schedule": "الأحد / Sunday",
        "Place": "ماركا / Marka",
    }
    assert {row.label_ar for row in due.rows} >= {"الدورة", "موعد البدء", "المكان"}
    assert change is not None and change.request.confirmed_schedule_version == 1


def test_the_confirmation_carries_no_personal_data_beyond_the_holders_name() -> None:
    due = only_document(
        domain.sync_request(waiting(), course(status=CourseStatus.CONFIRMED), False, NOW)
    )

    body = due.to_entry()["body"]
    assert APPLICANT.national_id is not None
    assert APPLICANT.national_id not in body and APPLICANT.phone not in body


def test_the_same_step_decided_twice_names_one_document() -> None:
    confirmed = course(status=CourseStatus.CONFIRMED)

    first = only_document(domain.sync_request(waiting(), confirmed, False, NOW))
    again = only_document(domain.sync_request(waiting(), confirmed, False, NOW + timedelta(1)))

    # The entry's id is derived from the kind, number and step: the issuer does it once.
    assert first.id == again.id
    assert first.verification_id != again.verification_id


def test_a_request_billed_awaiting_its_test_or_refused_has_no_confirmation() -> None:
    paid_course = course(status=CourseStatus.CONFIRMED, fee_fils=PAID)
    testing_course = course(status=CourseStatus.CONFIRMED, prerequisite=PREREQUISITE)

    billed = domain.decide(waiting(), paid_course, False, NOW)
    testing = domain.decide(waiting(), testing_course, False, NOW)
    refused = domain.record_placement_result(testing.request, testing_course, False, NOW, TESTER)

    assert billed.documents == testing.documents == refused.documents == ()
    assert billed.request.confirmed_schedule_version is None


def test_6_3_1_a_pass_on_a_free_course_confirms_and_on_a_paid_one_bills() -> None:
    free = course(status=CourseStatus.CONFIRMED, prerequisite=PREREQUISITE)
    paid = course(status=CourseStatus.CONFIRMED, prerequisite=PREREQUISITE, fee_fils=PAID)

    passed_free = domain.record_placement_result(
        domain.decide(waiting(), free, False, NOW).request, free, True, NOW, TESTER
    )
    passed_paid = domain.record_placement_result(
        domain.decide(waiting(), paid, False, NOW).request, paid, True, NOW, TESTER
    )

    assert only_document(passed_free).number == "CR-2026-000001"
    assert passed_paid.documents == ()


def test_an_accepted_proof_of_a_request_awaiting_its_test_confirms_a_free_course() -> None:
    needs = course(status=CourseStatus.CONFIRMED, prerequisite=PREREQUISITE)
    testing = domain.decide(waiting(), needs, False, NOW).request
    attached = domain.attach_proof(testing, needs, proof(), NOW, CITIZEN).request

    accepted = domain.review_proof(attached, needs, True, NOW, STAFF)

    assert accepted.request.status is RequestStatus.APPROVED
    assert only_document(accepted).kind == ENROLMENT_CONFIRMATION.name


def test_7_4_the_fee_paid_confirms_with_the_amount_once() -> None:
    confirmed = course(status=CourseStatus.CONFIRMED, fee_fils=PAID)
    billed = domain.decide(waiting(), confirmed, False, NOW).request

    change = domain.pay(billed, confirmed, "2026000123457", NOW, PAID, NOW)

    due = only_document(change)
    assert shown(due)["Fee paid"] == "30.000 JOD"
    assert [row.label_ar for row in due.rows][-1] == "الرسوم المدفوعة"
    assert change is not None
    assert domain.pay(change.request, confirmed, "2026000123457", NOW, PAID, NOW) is None


def test_a_new_date_after_the_confirmation_issues_a_new_version_once() -> None:
    confirmed = course(status=CourseStatus.CONFIRMED)
    booked = domain.sync_request(waiting(), confirmed, False, NOW)
    assert booked is not None
    later = START + timedelta(days=7)
    moved = domain.reschedule(confirmed, later, NOW, ADMIN, "hall unavailable")

    change = domain.sync_request(booked.request, moved, False, NOW)

    assert change is not None
    assert [event.routing_key for event in change.events] == ["courses.request.rescheduled.v1"]
    due = only_document(change)
    assert shown(due)["Starts on"] == "10/12/2026 12:00"
    assert due.id != only_document(booked).id  # a new version, not the first one again
    assert change.request.confirmed_schedule_version == 2
    assert domain.sync_request(change.request, moved, False, NOW) is None


def test_a_request_decided_after_the_new_date_gets_one_confirmation_showing_it() -> None:
    moved = domain.reschedule(
        course(status=CourseStatus.CONFIRMED), START + timedelta(days=7), NOW, ADMIN, None
    )

    change = domain.sync_request(waiting(), moved, False, NOW)

    assert change is not None
    assert [event.routing_key for event in change.events] == [
        "courses.request.approved.v1",
        "courses.request.rescheduled.v1",
    ]
    assert shown(only_document(change))["Starts on"] == "10/12/2026 12:00"


def test_a_fee_paid_as_the_date_moved_is_confirmed_again_with_the_new_date() -> None:
    confirmed = course(status=CourseStatus.CONFIRMED, fee_fils=PAID)
    billed = domain.decide(waiting(), confirmed, False, NOW).request
    # The payment was decided on the course as it stood before the new date was saved.
    paid = domain.pay(billed, confirmed, "1", NOW, PAID, NOW)
    assert paid is not None
    moved = domain.reschedule(confirmed, START + timedelta(days=7), NOW, ADMIN, None)

    change = domain.sync_request(paid.request, moved, False, NOW)

    due = only_document(change)
    assert shown(due)["Starts on"] == "10/12/2026 12:00"
    assert shown(due)["Fee paid"] == "30.000 JOD"


def test_a_cancelled_or_completed_request_issues_nothing() -> None:
    confirmed = course(status=CourseStatus.CONFIRMED, fee_fils=PAID)
    billed = domain.decide(waiting(), confirmed, False, NOW).request
    started = domain.on_start(confirmed, START, 14)
    assert started is not None
    cancelled = domain.sync_request(billed, started, False, START)
    free = course(status=CourseStatus.CONFIRMED)
    booked = domain.decide(waiting(), free, False, NOW).request
    held = domain.mark_held(free, START, ADMIN, "https://eval.amman.jo/1")
    completed = domain.sync_request(booked, held, False, START)

    assert cancelled is not None and cancelled.documents == ()
    assert completed is not None and completed.documents == ()
