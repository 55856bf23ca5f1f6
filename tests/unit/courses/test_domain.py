"""The rules of seed 002 on plain values: no database, no broker."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contracts import REGISTRY, Applicant, LocalizedText, PaymentRequested
from services.common.errors import NotPermitted
from services.courses import domain
from services.courses.domain import (
    COURSE_WORKFLOW,
    REQUEST_WORKFLOW,
    Actor,
    Course,
    CourseRequest,
    CourseStatus,
    NotAllowedNow,
    Prerequisite,
    RequestStatus,
    RuleBroken,
)

COURSES_DIR = Path(__file__).resolve().parents[3] / "services" / "courses"
DOMAIN_MODULES = sorted((COURSES_DIR / "domain").glob("*.py"))
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
START = NOW + timedelta(days=10)
APPLICANT = Applicant(name="ليلى أحمد", phone="+962791234567", national_id="9901234567")
PREREQUISITE = Prerequisite(
    subject_code="computer-basics",
    subject=LocalizedText(ar="أساسيات الحاسوب", en="computer basics"),
    placement_test_url="https://tests.amman.jo/p/computer-basics",
)


def course(
    *, fee_fils: int = 0, prerequisite: Prerequisite | None = None, minimum: int = 2,
    capacity: int = 5, status: CourseStatus = CourseStatus.OPEN,
) -> Course:  # fmt: skip
    return Course(
        code="CO-2026-000001",
        title=LocalizedText(ar="بايثون", en="Python"),
        fee_fils=fee_fils,
        prerequisite=prerequisite,
        minimum=minimum,
        capacity=capacity,
        starts_at=START,
        schedule=LocalizedText(ar="الأحد", en="Sunday"),
        place=LocalizedText(ar="ماركا", en="Marka"),
        status=status,
        start_due_at=START,
    )


CITIZEN = Actor("citizen-1", frozenset({"citizen"}))
ADMIN = Actor("admin-1", frozenset({"courses.admin"}))
STAFF = Actor("staff-1", frozenset({"courses.staff"}))
TESTER_ROLE = "courses.placement_tester"
TESTER = Actor("testing-system", frozenset({TESTER_ROLE}))


def waiting(number: str = "CR-2026-000001", owner: str = "citizen-1") -> CourseRequest:
    return domain.submit(
        number, Actor(owner, frozenset({"citizen"})), course(), APPLICANT, NOW
    ).request


def keys(change: domain.Change | None) -> list[str]:
    assert change is not None
    return [event.routing_key for event in change.events]


def enrolled(course: Course, number: str, owner: str) -> Course:
    seated = domain.enrol(course, number, owner, NOW)
    assert seated is not None
    return seated


# ---- waiting for the minimum -----------------------------------------------------------------


def test_enrolments_below_the_minimum_leave_the_course_open_and_decide_nothing() -> None:
    seated = enrolled(course(minimum=2), "CR-1", "citizen-1")

    assert seated.status is CourseStatus.OPEN
    assert seated.seats_taken == 1 and seated.sync_at is None
    assert domain.sync_request(waiting(), seated, False, NOW) is None


def test_the_enrolment_that_reaches_the_minimum_confirms_the_course_and_asks_for_a_sync() -> None:
    first = enrolled(course(minimum=2), "CR-1", "citizen-1")

    second = enrolled(first, "CR-2", "citizen-2")

    assert second.status is CourseStatus.CONFIRMED
    assert second.sync_at == NOW and second.enrolled == ("CR-1", "CR-2")
    assert [(e.action, e.by, e.role, e.why) for e in second.history] == [
        ("reach_minimum", "system", "system", "CR-2")
    ]


def test_a_request_holding_its_seat_is_not_seated_twice() -> None:
    once = enrolled(course(), "CR-1", "citizen-1")

    assert domain.enrol(once, "CR-1", "citizen-1", NOW) is None


def test_a_full_course_takes_no_more_requests() -> None:
    full = course(minimum=1, capacity=1, status=CourseStatus.CONFIRMED)
    full = enrolled(full, "CR-1", "citizen-1")

    with pytest.raises(NotAllowedNow, match="full"):
        domain.enrol(full, "CR-2", "citizen-2", NOW)


def test_one_active_request_per_citizen_and_course() -> None:
    once = enrolled(course(), "CR-1", "citizen-1")

    with pytest.raises(NotAllowedNow):
        domain.enrol(once, "CR-2", "citizen-1", NOW)


# ---- the branches (seed 002, 6.x and 7.x) ----------------------------------------------------


def test_6_1_free_without_prerequisite_is_approved() -> None:
    confirmed = course(status=CourseStatus.CONFIRMED)

    change = domain.sync_request(waiting(), confirmed, False, NOW)

    assert keys(change) == ["courses.request.approved.v1"]
    assert change is not None and change.request.status is RequestStatus.APPROVED


def test_6_2_free_with_a_recorded_pass_is_approved() -> None:
    confirmed = course(status=CourseStatus.CONFIRMED, prerequisite=PREREQUISITE)

    assert keys(domain.sync_request(waiting(), confirmed, True, NOW)) == [
        "courses.request.approved.v1"
    ]


def test_6_3_without_a_pass_the_placement_test_is_required() -> None:
    confirmed = course(status=CourseStatus.CONFIRMED, prerequisite=PREREQUISITE)

    change = domain.sync_request(waiting(), confirmed, False, NOW)

    assert keys(change) == ["courses.request.placement_test_required.v1"]
    assert change is not None and change.request.status is RequestStatus.AWAITING_TEST


@pytest.mark.parametrize(
    ("fee", "expected", "status"),
    [
        (0, "courses.request.approved.v1", RequestStatus.APPROVED),
        (20_000, "courses.payment.requested.v1", RequestStatus.AWAITING_PAYMENT),
    ],
)
def test_6_3_1_and_7_3_1_a_pass_approves_or_bills_and_is_remembered(
    fee: int, expected: str, status: RequestStatus
) -> None:
    confirmed = course(status=CourseStatus.CONFIRMED, prerequisite=PREREQUISITE, fee_fils=fee)
    testing = domain.decide(waiting(), confirmed, False, NOW).request

    change = domain.record_placement_result(testing, confirmed, True, NOW, TESTER)

    assert keys(change) == [expected]
    assert change.request.status is status and change.records_pass
    last = change.request.history[-1]
    assert (last.target, last.by, last.role) == (status, "testing-system", TESTER_ROLE)


def test_only_a_role_of_the_workflow_table_records_a_placement_result() -> None:
    confirmed = course(status=CourseStatus.CONFIRMED, prerequisite=PREREQUISITE)
    testing = domain.decide(waiting(), confirmed, False, NOW).request

    with pytest.raises(NotPermitted):
        domain.record_placement_result(testing, confirmed, True, NOW, CITIZEN)


def test_6_3_2_and_7_3_2_a_fail_is_refused_and_gives_the_seat_back() -> None:
    confirmed = course(status=CourseStatus.CONFIRMED, prerequisite=PREREQUISITE)
    testing = domain.decide(waiting(), confirmed, False, NOW).request

    change = domain.record_placement_result(testing, confirmed, False, NOW, TESTER)

    assert keys(change) == ["courses.request.refused.v1"]
    assert change.request.status is RequestStatus.REFUSED and change.releases_seat
    with pytest.raises(NotAllowedNow):
        domain.record_placement_result(change.request, confirmed, True, NOW, TESTER)


def test_7_1_paid_course_asks_payments_for_the_fee_due_at_the_start() -> None:
    confirmed = course(status=CourseStatus.CONFIRMED, fee_fils=30_000)

    change = domain.sync_request(waiting(), confirmed, False, NOW)

    assert change is not None
    ((raised),) = change.events
    payment = raised.data
    assert raised.routing_key == "courses.payment.requested.v1"
    assert isinstance(payment, PaymentRequested)
    assert payment.amount_fils == 30_000 and payment.due_at == START
    assert payment.payment_reference == "courses:CR-2026-000001:fee"
    assert payment.owner_subject == "citizen-1"


def test_7_4_payment_confirms_the_booking_once() -> None:
    confirmed = course(status=CourseStatus.CONFIRMED, fee_fils=30_000)
    billed = domain.decide(waiting(), confirmed, False, NOW).request

    change = domain.pay(billed, confirmed, "2026000123457", NOW, 30_000, NOW)

    assert keys(change) == ["courses.request.paid.v1"]
    assert change is not None and change.request.status is RequestStatus.APPROVED
    assert domain.pay(change.request, confirmed, "2026000123457", NOW, 30_000, NOW) is None


def test_a_payment_after_the_cancellation_is_refunded_once() -> None:
    confirmed = course(status=CourseStatus.CONFIRMED, fee_fils=30_000)
    billed = domain.decide(waiting(), confirmed, False, NOW).request
    cancelled = domain.cancel(billed, confirmed, NOW, bill_withdrawn=False)
    assert cancelled is not None

    refund = domain.pay(cancelled.request, confirmed, "1", NOW, 30_000, NOW)

    assert keys(refund) == ["courses.refund.requested.v1"]
    assert refund is not None
    assert domain.pay(refund.request, confirmed, "1", NOW, 30_000, NOW) is None


# ---- time: the start, rescheduling, held -----------------------------------------------------


def test_note_1_unpaid_at_the_start_is_cancelled_and_the_bill_withdrawn() -> None:
    confirmed = course(status=CourseStatus.CONFIRMED, fee_fils=30_000)
    billed = domain.decide(waiting(), confirmed, False, NOW).request
    started = domain.on_start(confirmed, START, 14)
    assert started is not None

    change = domain.sync_request(billed, started, False, START)

    assert keys(change) == ["courses.request.cancelled.v1", "courses.payment.cancelled.v1"]
    assert change is not None and change.releases_seat


def test_note_2_the_start_without_the_minimum_postpones_by_the_rule() -> None:
    postponed = domain.on_start(course(), START + timedelta(minutes=1), 14)

    assert postponed is not None
    assert postponed.starts_at == START + timedelta(days=14)
    assert postponed.start_due_at == postponed.starts_at
    assert postponed.schedule_version == 2 and postponed.sync_at is not None
    sync = domain.sync_request(waiting(), postponed, False, START)
    assert keys(sync) == ["courses.request.rescheduled.v1"]
    assert sync is not None
    assert domain.sync_request(sync.request, postponed, False, START) is None


def test_a_second_sweep_of_the_start_finds_nothing_to_do() -> None:
    confirmed = course(status=CourseStatus.CONFIRMED)
    started = domain.on_start(confirmed, START, 14)
    postponed = domain.on_start(course(), START, 14)
    assert started is not None and postponed is not None

    assert domain.on_start(started, START, 14) is None
    assert domain.on_start(postponed, START, 14) is None
    assert domain.on_start(confirmed, START - timedelta(minutes=1), 14) is None


def test_a_late_sweep_postpones_past_now() -> None:
    assert domain.postponed_start(START, START + timedelta(days=20), 14) == START + timedelta(28)


def test_staff_cannot_reschedule_into_the_past() -> None:
    with pytest.raises(RuleBroken):
        domain.reschedule(course(), NOW - timedelta(days=1), NOW, ADMIN, None)


def test_8_held_sends_the_evaluation_link_to_booked_participants_only() -> None:
    confirmed = course(status=CourseStatus.CONFIRMED)
    booked = domain.decide(waiting(), confirmed, False, NOW).request
    held = domain.mark_held(confirmed, START, ADMIN, "https://eval.amman.jo/1")

    change = domain.sync_request(booked, held, False, START)

    assert keys(change) == ["courses.request.evaluation_requested.v1"]
    assert change is not None and change.request.status is RequestStatus.COMPLETED
    with pytest.raises(NotAllowedNow):
        domain.mark_held(confirmed, NOW, ADMIN, "https://eval.amman.jo/1")


# ---- proof of prior knowledge ----------------------------------------------------------------


def proof() -> domain.Proof:
    return domain.Proof(
        file_id="f1", content_type="application/pdf", size=10, filename="c.pdf", uploaded_at=NOW
    )


def test_an_accepted_proof_meets_the_prerequisite_at_the_decision() -> None:
    needs = course(prerequisite=PREREQUISITE)
    attached = domain.attach_proof(waiting(), needs, proof(), NOW, CITIZEN).request
    accepted = domain.review_proof(attached, needs, True, NOW, STAFF)
    confirmed = needs.model_copy(update={"status": CourseStatus.CONFIRMED})

    assert accepted.records_pass and accepted.request.status is RequestStatus.WAITING
    assert keys(domain.sync_request(accepted.request, confirmed, False, NOW)) == [
        "courses.request.approved.v1"
    ]


def test_a_rejected_proof_leaves_the_placement_test_as_the_way_in() -> None:
    needs = course(prerequisite=PREREQUISITE, status=CourseStatus.CONFIRMED)
    testing = domain.decide(waiting(), needs, False, NOW).request
    attached = domain.attach_proof(testing, needs, proof(), NOW, CITIZEN).request

    rejected = domain.review_proof(attached, needs, False, NOW, STAFF)

    assert rejected.request.status is RequestStatus.AWAITING_TEST and not rejected.events
    with pytest.raises(NotAllowedNow):
        domain.review_proof(rejected.request, needs, True, NOW, STAFF)
    with pytest.raises(RuleBroken):
        domain.attach_proof(waiting(), course(), proof(), NOW, CITIZEN)


# ---- the tables, the contract, the README, purity --------------------------------------------


def test_every_status_is_reached_by_the_workflows() -> None:
    assert {move.target for move in REQUEST_WORKFLOW} == set(RequestStatus)
    assert {move.target for move in COURSE_WORKFLOW} == set(CourseStatus)


def test_every_event_the_domain_publishes_is_registered() -> None:
    published = {
        "courses.request.submitted.v1",
        "courses.payment.requested.v1",
        "courses.payment.cancelled.v1",
        "courses.refund.requested.v1",
    } | {spec.routing_key for spec in REGISTRY if spec.producer == "courses"}
    literals = {
        node.value
        for path in DOMAIN_MODULES
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant)
    }
    for key in published:
        assert key in REGISTRY
    for literal in literals:
        if isinstance(literal, str) and literal.startswith("courses.") and literal.endswith(".v1"):
            assert literal in REGISTRY, literal


def test_the_readme_shows_the_state_diagrams_derived_from_the_workflow_tables() -> None:
    readme = (COURSES_DIR / "README.md").read_text()
    assert domain.state_diagram(REQUEST_WORKFLOW) in readme
    assert domain.state_diagram(COURSE_WORKFLOW) in readme


# ---- what the bill events meet in normal running: nothing to do, never a refusal -------------


def billed(fee: int = 30_000) -> tuple[Course, CourseRequest]:
    confirmed = course(status=CourseStatus.CONFIRMED, fee_fils=fee)
    return confirmed, domain.decide(waiting(), confirmed, False, NOW).request


def test_the_bill_is_recorded_once_and_only_the_current_one() -> None:
    _, request = billed()
    reference = request.payment_reference
    assert reference is not None

    recorded = domain.record_bill(request, reference, "2026000123457")

    assert recorded is not None and not recorded.events
    assert recorded.request.e_payment_number == "2026000123457"
    assert domain.record_bill(recorded.request, reference, "2026000999999") is None
    assert domain.record_bill(request, "courses:CR-2026-000009:fee", "2026000999999") is None


def test_a_bill_ending_after_the_payment_or_the_cancellation_changes_nothing() -> None:
    confirmed, request = billed()
    paid = domain.pay(request, confirmed, "2026000123457", NOW, 30_000, NOW)
    cancelled = domain.cancel(request, confirmed, NOW, bill_withdrawn=True)
    assert paid is not None and cancelled is not None

    assert domain.cancel(paid.request, confirmed, NOW, bill_withdrawn=True) is None
    assert domain.cancel(cancelled.request, confirmed, NOW, bill_withdrawn=True) is None
    assert keys(cancelled) == ["courses.request.cancelled.v1"]  # the bill is gone already


# ---- the timeline ----------------------------------------------------------------------------


def test_each_timeline_line_names_the_actor_and_the_role_they_acted_under() -> None:
    confirmed = course(status=CourseStatus.CONFIRMED, fee_fils=30_000)
    request = domain.decide(waiting(), confirmed, False, NOW).request
    paid = domain.pay(request, confirmed, "2026000123457", NOW, 30_000, NOW)
    assert paid is not None

    assert [(e.action, e.by, e.role) for e in paid.request.history] == [
        ("submit", "citizen-1", "citizen"),
        ("request_payment", "system", "system"),
        ("pay", "payments", "system"),
    ]
    with pytest.raises(NotPermitted):
        domain.submit("CR-2026-000002", STAFF, confirmed, APPLICANT, NOW)


def test_a_request_stored_before_the_timeline_had_roles_still_reads() -> None:
    stored = waiting().model_dump()
    stored["history"] = [
        {"at": NOW, "action": "submit", "source": None, "target": "waiting", "by": "citizen-1",
         "reason": None},
        {"at": NOW, "action": "require_test", "source": "waiting", "target": "awaiting_test",
         "by": "system", "reason": None},
        {"at": NOW, "action": "cancel_untested", "source": "awaiting_test",
         "target": "cancelled", "by": "system", "reason": "no test before the start"},
    ]  # fmt: skip

    request = CourseRequest.model_validate(stored)

    assert [(e.by, e.role, e.why) for e in request.history] == [
        ("citizen-1", "citizen", None),
        ("system", "system", None),
        ("system", "system", "no test before the start"),
    ]
