"""The training domain, pure: the application's rules and fees, every transition and its events,
deadlines, the postponement rules, the 25 % withheld, and redeliveries that change nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from contracts import Applicant, LocalizedText
from services.common.calendar import WorkingCalendar
from services.common.errors import NotAllowedNow, RuleBroken
from services.common.workflow import Actor
from services.training import domain, views
from services.training.domain import (
    Action,
    ApplicantType,
    ApplicationForm,
    Attachment,
    CertificateType,
    InstitutionType,
    InvalidApplication,
    Kind,
    Status,
    TrainingRequest,
)
from services.training.settings import load_catalogue

CALENDAR = WorkingCalendar()
CATALOGUE = load_catalogue()
CITIZEN = Actor("citizen-1", frozenset({"citizen"}))
REVIEWER = Actor("reviewer-1", frozenset({domain.REVIEWER}))
SUPERVISOR = Actor("supervisor-1", frozenset({domain.SUPERVISOR}))
# Sunday 22 November 2026, 09:00 in Amman.
NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
APPLICANT = Applicant(name="سامي خالد", phone="+962791234567", lang="ar")
START = date(2026, 12, 6)  # a Sunday
END = date(2026, 12, 17)
NOTE = LocalizedText(ar="الكتاب غير مختوم", en="the letter is not stamped")


def form(**changes: object) -> ApplicationForm:
    base = ApplicationForm(
        kind=Kind.TRAINING,
        applicant_type=ApplicantType.INDIVIDUAL,
        department_code="gis",
        start_date=START,
        end_date=END,
        certificate_type=CertificateType.BACHELOR,
        course_code="arcgis_pro",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def nominated(**changes: object) -> ApplicationForm:
    base: dict[str, object] = {
        "applicant_type": ApplicantType.NOMINATED,
        "certificate_type": None,
        "course_code": None,
        "institution_type": InstitutionType.UNIVERSITY,
        "institution_name": "الجامعة الأردنية",
    }
    return form(**{**base, **changes})


def attachment(kind: domain.AttachmentKind = "certificate") -> Attachment:
    return Attachment(
        file_id="f1", kind=kind, content_type="application/pdf", size=10, filename="a.pdf",
        uploaded_at=NOW,
    )  # fmt: skip


def submitted(application_form: ApplicationForm | None = None) -> TrainingRequest:
    app = domain.check_application(application_form or form(), CATALOGUE, NOW)
    change = domain.submit(
        "TR-2026-000001", CITIZEN, APPLICANT, app, attachment(app.attachment_kind), NOW,
        CALENDAR,
    )  # fmt: skip
    return change.request


def keys(change: domain.Change | None) -> list[str]:
    assert change is not None
    return [event.routing_key for event in change.events]


# ---- the application and its fees ------------------------------------------------------------


@pytest.mark.parametrize(
    ("course", "hours", "fee"),
    [("beginner", 30, 100000), ("specialised", 15, 100000), ("arcgis_pro", 30, 200000),
     ("gis_data_qa_qc", 24, 200000)],
)  # fmt: skip
def test_an_individual_in_gis_pays_the_chosen_course(course: str, hours: int, fee: int) -> None:
    app = domain.check_application(form(course_code=course), CATALOGUE, NOW)

    assert app.course is not None and (app.course.hours, app.fee_fils) == (hours, fee)
    assert app.attachment_kind == "certificate"


def test_students_missions_and_other_departments_are_free() -> None:
    student = domain.check_application(nominated(), CATALOGUE, NOW)
    other = domain.check_application(
        form(department_code="planning", course_code=None), CATALOGUE, NOW
    )
    mission = domain.check_application(
        form(kind=Kind.MISSION, course_code=None, study_subject="traffic"), CATALOGUE, NOW
    )

    assert student.fee_fils == other.fee_fils == mission.fee_fils == 0
    assert student.attachment_kind == "official_letter"


def test_the_catalogue_lists_the_gis_department_and_its_four_courses() -> None:
    gis = CATALOGUE.department("gis")
    assert gis is not None and gis.name.ar == "دائرة نظم المعلومات الجغرافية"
    assert [c.code for c in CATALOGUE.gis_courses] == [
        "beginner", "specialised", "arcgis_pro", "gis_data_qa_qc",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("bad", "fields"),
    [
        (form(course_code=None), {"course_code"}),
        (form(course_code="python"), {"course_code"}),
        (nominated(course_code="beginner"), {"course_code"}),
        (form(certificate_type=None), {"certificate_type"}),
        (nominated(institution_type=None, institution_name=None),
         {"institution_type", "institution_name"}),
        (form(department_code="parks", course_code=None), {"department_code"}),
        (form(kind=Kind.MISSION, course_code=None), {"study_subject"}),
        (form(study_subject="x y z"), {"study_subject"}),
        (form(start_date=date(2026, 11, 22)), {"start_date"}),
        (form(end_date=START - timedelta(days=1)), {"end_date"}),
        (form(end_date=START + timedelta(days=200)), {"end_date"}),
        (form(start_date=date(2028, 1, 2), end_date=date(2028, 1, 3)), {"start_date"}),
    ],
)  # fmt: skip
def test_bad_applications_name_every_bad_field(bad: ApplicationForm, fields: set[str]) -> None:
    with pytest.raises(InvalidApplication) as raised:
        domain.check_application(bad, CATALOGUE, NOW)

    assert {error.field for error in raised.value.errors} == fields
    assert all(error.message_ar for error in raised.value.errors)


# ---- the review ------------------------------------------------------------------------------


def test_submission_starts_the_review_sla_and_tells_the_applicant() -> None:
    request = submitted()

    assert request.status is Status.UNDER_REVIEW
    # Five working days after Sunday 22 Nov: the end of Sunday 29 Nov (Fri and Sat off).
    assert request.review_due_at == datetime(2026, 11, 29, 21, 0, tzinfo=UTC)
    assert request.history[0].action == Action.SUBMIT


def test_the_wrong_attachment_kind_is_refused() -> None:
    app = domain.check_application(nominated(), CATALOGUE, NOW)
    with pytest.raises(RuleBroken):
        domain.submit("TR-1", CITIZEN, APPLICANT, app, attachment("certificate"), NOW, CALENDAR)


def test_attachments_flagged_then_corrected_in_time_go_back_to_review() -> None:
    flagged = domain.flag_attachments(submitted(), NOTE, NOW, REVIEWER, CALENDAR)

    assert keys(flagged) == ["training.request.attachments_rejected.v1"]
    request = flagged.request
    assert request.status is Status.AWAITING_CORRECTION
    # Three working days: Mon, Tue, Wed -> the end of Wednesday 25 Nov in Amman.
    assert request.due_at == datetime(2026, 11, 25, 20, 59, 59, tzinfo=UTC)
    corrected = domain.correct_attachments(
        request, attachment(), CITIZEN, NOW + timedelta(days=1), CALENDAR
    )
    assert corrected.request.status is Status.UNDER_REVIEW and corrected.events == ()
    assert corrected.request.due_at is None


def test_attachments_not_corrected_cancel_once() -> None:
    request = domain.flag_attachments(submitted(), NOTE, NOW, REVIEWER, CALENDAR).request
    assert request.due_at is not None
    late = request.due_at

    with pytest.raises(NotAllowedNow):
        domain.correct_attachments(request, attachment(), CITIZEN, late, CALENDAR)
    assert domain.on_deadline(request, late - timedelta(seconds=1)) is None
    cancelled = domain.on_deadline(request, late)

    assert keys(cancelled) == ["training.request.cancelled.v1"]
    assert cancelled is not None and cancelled.request.status is Status.CANCELLED
    assert domain.on_deadline(cancelled.request, late) is None


def test_approving_a_paid_course_requests_the_fee_due_in_three_working_days() -> None:
    change = domain.approve(submitted(), NOW, REVIEWER, CALENDAR)

    assert keys(change) == ["training.payment.requested.v1"]
    payment = change.events[0].data
    assert payment.amount_fils == 200000  # type: ignore[attr-defined]
    assert payment.payment_reference == "training:TR-2026-000001:fee"  # type: ignore[attr-defined]
    assert payment.due_at == datetime(2026, 11, 25, 20, 59, 59, tzinfo=UTC)  # type: ignore[attr-defined]
    assert change.request.status is Status.AWAITING_PAYMENT and change.request.due_at is None


def test_approving_a_free_request_sets_the_period_end() -> None:
    change = domain.approve(submitted(nominated()), NOW, REVIEWER, CALENDAR)

    assert keys(change) == ["training.request.approved.v1"]
    assert change.request.status is Status.APPROVED
    assert change.request.due_at == domain.period_end(END)


def test_rejection_carries_the_reasons() -> None:
    reasons = LocalizedText(ar="لا يوجد شاغر", en="no vacancy")
    change = domain.reject(submitted(), reasons, NOW, REVIEWER)

    assert keys(change) == ["training.request.rejected.v1"]
    assert change.request.rejection_reasons == reasons
    with pytest.raises(NotAllowedNow):
        domain.approve(change.request, NOW, REVIEWER, CALENDAR)


# ---- the fee ---------------------------------------------------------------------------------


def billed() -> TrainingRequest:
    return domain.approve(submitted(), NOW, REVIEWER, CALENDAR).request


def test_payment_approves_once() -> None:
    paid = domain.pay(billed(), "2026000123457", NOW, 200000, NOW)

    assert keys(paid) == ["training.request.approved.v1"]
    assert paid is not None and paid.request.status is Status.APPROVED
    assert domain.pay(paid.request, "2026000123457", NOW, 200000, NOW) is None
    assert domain.expire_payment(paid.request, NOW) is None


def test_expiry_cancels_once_and_a_late_payment_is_refunded_once() -> None:
    cancelled = domain.expire_payment(billed(), NOW)

    assert keys(cancelled) == ["training.request.cancelled.v1"]
    assert cancelled is not None and domain.expire_payment(cancelled.request, NOW) is None
    refund = domain.pay(cancelled.request, "2026000123457", NOW, 200000, NOW)
    assert keys(refund) == ["training.refund.requested.v1"]
    assert refund is not None and refund.events[0].data.needs_approval is False  # type: ignore[attr-defined]
    assert domain.pay(refund.request, "2026000123457", NOW, 200000, NOW) is None


# ---- attendance, postponement, the end -------------------------------------------------------


ON_START = domain.day_start(START) + timedelta(hours=8)


def paid() -> TrainingRequest:
    change = domain.pay(billed(), "2026000123457", NOW, 200000, NOW)
    assert change is not None
    return change.request


def test_attendance_is_recorded_from_the_start_date_only() -> None:
    with pytest.raises(NotAllowedNow):
        domain.record_no_show(paid(), ON_START - timedelta(days=1), SUPERVISOR)
    attended = domain.record_attendance(paid(), ON_START, SUPERVISOR)
    assert attended.request.status is Status.ATTENDING and attended.events == ()


def test_a_first_no_show_at_paid_training_offers_one_postponement_within_a_month() -> None:
    offered = domain.record_no_show(paid(), ON_START, SUPERVISOR)

    assert keys(offered) == ["training.request.postponement_offered.v1"]
    request = offered.request
    assert request.latest_start_date == date(2027, 1, 6)
    assert request.due_at == domain.day_start(date(2027, 1, 6))
    for bad in (date(2027, 1, 7), START, date(2026, 12, 11)):  # too late, missed day, a Friday
        with pytest.raises(RuleBroken) as raised:
            domain.postpone(request, bad, CITIZEN, ON_START, CALENDAR)
        assert raised.value.field == "start_date"
    postponed = domain.postpone(request, date(2026, 12, 20), CITIZEN, ON_START, CALENDAR)
    assert keys(postponed) == ["training.request.postponed.v1"]
    moved = postponed.request
    assert (moved.application.start_date, moved.application.end_date) == (
        date(2026, 12, 20), date(2026, 12, 31),
    )  # fmt: skip
    assert moved.original_start_date == START and moved.due_at == domain.period_end(
        date(2026, 12, 31)
    )
    with pytest.raises(NotAllowedNow) as twice:
        domain.postpone(moved, date(2026, 12, 21), CITIZEN, ON_START, CALENDAR)
    assert twice.value.field == "start_date"


def test_a_no_show_at_the_new_date_withholds_25_percent_and_asks_approval_for_75() -> None:
    offered = domain.record_no_show(paid(), ON_START, SUPERVISOR).request
    postponed = domain.postpone(offered, date(2026, 12, 20), CITIZEN, ON_START, CALENDAR).request

    cancelled = domain.record_no_show(
        postponed, domain.day_start(date(2026, 12, 20)) + timedelta(hours=8), SUPERVISOR
    )

    assert keys(cancelled) == ["training.request.cancelled.v1", "training.refund.requested.v1"]
    event, refund = (raised.data for raised in cancelled.events)
    assert (event.withheld_fils, event.refund_fils) == (50000, 150000)  # type: ignore[attr-defined]
    assert event.refund_needs_approval is True  # type: ignore[attr-defined]
    assert refund.amount_fils == 150000 and refund.needs_approval is True  # type: ignore[attr-defined]
    assert refund.refund_reference == "training:TR-2026-000001:no_show_refund"  # type: ignore[attr-defined]
    assert cancelled.request.refund_status == "pending_approval"
    decided = domain.refund_decided(cancelled.request, refund.refund_reference, True)  # type: ignore[attr-defined]
    assert decided is not None and decided.request.refund_status == "approved"
    assert decided.events == ()
    assert domain.refund_decided(decided.request, refund.refund_reference, True) is None  # type: ignore[attr-defined]


def test_no_new_date_chosen_counts_as_the_second_no_show() -> None:
    offered = domain.record_no_show(paid(), ON_START, SUPERVISOR).request
    assert offered.due_at is not None

    cancelled = domain.on_deadline(offered, offered.due_at)

    assert keys(cancelled) == ["training.request.cancelled.v1", "training.refund.requested.v1"]


def test_a_no_show_at_free_training_cancels_without_money() -> None:
    approved = domain.approve(submitted(nominated()), NOW, REVIEWER, CALENDAR).request

    cancelled = domain.record_no_show(approved, ON_START, SUPERVISOR)

    assert keys(cancelled) == ["training.request.cancelled.v1"]
    assert cancelled.request.refund_fils == cancelled.request.withheld_fils == 0


def test_a_mission_records_no_attendance_and_ends_with_the_period() -> None:
    mission = nominated(kind=Kind.MISSION, study_subject="traffic in east Amman")
    approved = domain.approve(submitted(mission), NOW, REVIEWER, CALENDAR).request
    with pytest.raises(RuleBroken):
        domain.record_attendance(approved, ON_START, SUPERVISOR)
    end = domain.period_end(END)

    assert domain.on_deadline(approved, end - timedelta(seconds=1)) is None
    completed = domain.on_deadline(approved, end)

    assert keys(completed) == ["training.request.completed.v1"]
    assert completed is not None and completed.request.status is Status.COMPLETED
    assert domain.on_deadline(completed.request, end) is None


def test_add_months_clamps_to_the_last_day() -> None:
    assert domain.add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert domain.add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)


def test_every_state_has_labels_and_every_step_a_known_state() -> None:
    for step in domain.WORKFLOW:
        assert step.target in domain.STATES
        assert step.source is None or step.source in domain.STATES
        assert step.label_ar and step.label_en and step.roles
    assert domain.roles_for(Action.APPROVE) == (domain.REVIEWER,)
    assert domain.roles_for(Action.RECORD_NO_SHOW) == (domain.SUPERVISOR,)


def test_the_inquiry_tells_the_next_step_in_both_languages() -> None:
    request = domain.flag_attachments(submitted(), NOTE, NOW, REVIEWER, CALENDAR).request

    found = views.inquiry(request, NOW, CALENDAR)

    assert found.next_step is not None
    assert "الكتاب غير مختوم" in found.next_step.ar
    assert "the letter is not stamped" in found.next_step.en
    assert found.deadline == request.due_at


def test_a_rejected_refund_is_remembered_once() -> None:
    offered = domain.record_no_show(paid(), ON_START, SUPERVISOR).request
    assert offered.due_at is not None
    cancelled = domain.on_deadline(offered, offered.due_at)
    assert cancelled is not None
    reference = cancelled.request.refund_reference
    assert reference == "training:TR-2026-000001:no_show_refund"

    rejected = domain.refund_decided(cancelled.request, reference, False)

    assert rejected is not None and rejected.request.refund_status == "rejected"
    assert domain.refund_decided(rejected.request, reference, False) is None
    assert domain.refund_decided(rejected.request, "training:TR-2026-000001:other", True) is None


def test_the_domain_does_no_io() -> None:
    import ast
    from pathlib import Path

    package = Path(domain.__file__).parent
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name
        for path in package.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not imported & {"pymongo", "gridfs", "httpx", "fastapi", "aio_pika", "faststream"}
