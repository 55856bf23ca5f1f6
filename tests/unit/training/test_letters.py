"""The letters as documents, pure: which move issues, replaces or revokes which letter, with which
rows, and that a redelivered step names the same document (`once`)."""

from __future__ import annotations

from datetime import date, timedelta

from services.common.documents.model import Due
from services.training import domain, views
from services.training.domain import Kind, Status, TrainingRequest
from services.training.domain.letters import (
    APPROVAL_LETTER,
    COMPLETION_LETTER,
    KINDS,
    approval_letter,
)
from tests.unit.training.test_domain import (
    CALENDAR,
    CITIZEN,
    END,
    NOW,
    ON_START,
    REVIEWER,
    SUPERVISOR,
    billed,
    nominated,
    paid,
    submitted,
)


def rows(due: Due) -> dict[str, str]:
    return {row.label_en: row.value for row in due.rows}


def only(change: domain.Change | None) -> Due:
    assert change is not None and len(change.documents) == 1
    return change.documents[0]


def test_the_kinds_are_read_by_the_training_staff_and_mask_the_holder() -> None:
    assert [kind.name for kind in KINDS] == ["approval_letter", "completion_letter"]
    for kind in KINDS:
        assert kind.staff_roles == domain.STAFF_ROLES and kind.holder_is_person


def test_a_free_approval_issues_the_approval_letter_valid_for_the_period() -> None:
    change = domain.approve(submitted(nominated()), NOW, REVIEWER, CALENDAR)

    letter = only(change)
    assert (letter.action, letter.kind, letter.number) == (
        "issue",
        "approval_letter",
        "TR-2026-000001",
    )
    assert letter.owner == "citizen-1" and letter.holder == "سامي خالد"
    assert letter.valid_until == END and letter.issued_at == NOW
    assert change.request.approval_letter_id == letter.id
    assert views.approval_letter_id(change.request) == letter.id
    found = rows(letter)
    assert found["Department"] == "دائرة نظم المعلومات الجغرافية"
    assert found["Nominated by"] == "الجامعة الأردنية"
    assert found["Starts on"] == "06/12/2026"
    assert "Fee paid" not in found and "Course" not in found
    # No more personal data than the letter needs: no phone, no national number.
    assert all("+962" not in row.value for row in letter.rows)


def test_a_paid_course_issues_the_letter_at_payment_with_the_course_and_the_fee() -> None:
    assert billed().approval_letter_id is None
    assert domain.approve(submitted(), NOW, REVIEWER, CALENDAR).documents == ()
    change = domain.pay(billed(), "2026000123457", NOW, 200000, NOW)

    found = rows(only(change))
    assert (found["Course"], found["Fee paid"]) == ("دورة ArcGIS Pro", "200.000 JOD")
    # The same step again (a redelivery the state let through) names the same document.
    assert approval_letter(paid(), NOW).id == only(change).id
    assert domain.pay(paid(), "2026000123457", NOW, 200000, NOW) is None


def test_a_postponement_issues_a_new_version_with_the_new_dates() -> None:
    offered = domain.record_no_show(paid(), ON_START, SUPERVISOR)
    assert offered.documents == ()  # the approval stands while the applicant may postpone

    change = domain.postpone(offered.request, date(2026, 12, 20), CITIZEN, ON_START, CALENDAR)

    letter = only(change)
    assert letter.kind == "approval_letter" and letter.valid_until == date(2026, 12, 31)
    assert letter.id != paid().approval_letter_id
    assert change.request.approval_letter_id == letter.id
    found = rows(letter)
    assert found["Starts on, postponed from 06/12/2026"] == "20/12/2026"
    assert [row.label_ar for row in letter.rows][-1] == "تاريخ البدء، مؤجلاً من 06/12/2026"


def test_cancelling_an_approved_training_revokes_its_approval_letter() -> None:
    free = domain.approve(submitted(nominated()), NOW, REVIEWER, CALENDAR).request
    offered = domain.record_no_show(paid(), ON_START, SUPERVISOR).request
    postponed = domain.postpone(offered, date(2026, 12, 20), CITIZEN, ON_START, CALENDAR).request
    later = domain.day_start(date(2026, 12, 20)) + timedelta(hours=8)
    assert offered.due_at is not None
    for change in (
        domain.record_no_show(free, ON_START, SUPERVISOR),
        domain.record_no_show(postponed, later, SUPERVISOR),
        domain.on_deadline(offered, offered.due_at),
    ):
        revoked = only(change)
        assert (revoked.action, revoked.kind) == ("revoke", APPROVAL_LETTER.name)
        assert change is not None and change.request.status is Status.CANCELLED
        reason = change.request.cancel_reason
        assert reason is not None
        assert (revoked.reason_en, revoked.reason_ar) == (reason.en, reason.ar)
        assert views.approval_letter_id(change.request) is None


def test_a_cancellation_before_approval_revokes_nothing() -> None:
    assert domain.expire_payment(billed(), NOW).documents == ()  # type: ignore[union-attr]


def completed(request: TrainingRequest) -> domain.Change:
    change = domain.on_deadline(request, domain.period_end(request.application.end_date))
    assert change is not None and change.request.status is Status.COMPLETED
    return change


def test_the_end_of_a_training_issues_the_completion_letter() -> None:
    change = completed(domain.record_attendance(paid(), ON_START, SUPERVISOR).request)

    letter = only(change)
    assert (letter.kind, letter.valid_until) == (COMPLETION_LETTER.name, None)
    assert change.request.completion_letter_id == letter.id
    assert views.completion_letter_id(change.request) == letter.id
    # The approval letter stays the request's (it expires after the period on its own).
    assert views.approval_letter_id(change.request) == paid().approval_letter_id
    assert (rows(letter)["From"], rows(letter)["To"]) == ("06/12/2026", "17/12/2026")


def test_a_mission_has_an_approval_letter_and_no_completion_letter() -> None:
    mission = nominated(kind=Kind.MISSION, study_subject="النقل العام في شرق عمّان")
    approved = domain.approve(submitted(mission), NOW, REVIEWER, CALENDAR)
    found = rows(only(approved))
    assert found["Study subject"] == "النقل العام في شرق عمّان"

    change = completed(approved.request)

    assert change.documents == () and views.completion_letter_id(change.request) is None
