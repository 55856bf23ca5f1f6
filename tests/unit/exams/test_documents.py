"""The documents a candidate keeps (issue #17), as the domain decides them: the result slip with
every result, the certificate-ready notice with a pass, the notice revoked at collection; and
each rendered page fits on one A4 sheet with the longest values of the shipped catalogue.

The PDF's text, its QR code, who may download it and the verification page are checked through
the real services in tests/integration/exams/test_documents.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts import LocalizedText
from services.common.documents import Content, DocumentKind, Due
from services.common.documents.render import direction, render_html
from services.exams import catalogue, domain
from services.exams.domain import CERTIFICATE_NOTICE, RESULT_SLIP, Outcome
from services.exams.domain.documents import RLM, sat_on
from tests.unit.exams.builders import (
    CALENDAR,
    CITIZEN,
    COORDINATOR,
    NOW,
    OFFICIAL,
    TRIAL,
    paid,
    seated_session,
    submitted,
)

SAT_AT = NOW + timedelta(hours=2)
RESULT_AT = NOW + timedelta(days=1)
# Sunday 6 December 2026, 10:00 in Amman.
EXAM_AT = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)


def sat_trial() -> domain.ExamRequest:
    return domain.record_attendance(paid(submitted(TRIAL)), COORDINATOR, SAT_AT, None).request


def sat_official() -> domain.ExamRequest:
    session = domain.schedule_session(
        seated_session("EX-2026-000123", "EX-2026-000124"),
        COORDINATOR,
        NOW,
        exam_at=EXAM_AT,
        venue=None,
        calendar=CALENDAR,
    ).session
    request = paid(submitted(OFFICIAL))
    request = domain.join_session(request, session.session_number, NOW).request
    scheduled = domain.schedule(request, session, NOW)
    assert scheduled is not None
    return domain.record_attendance(scheduled.request, COORDINATOR, EXAM_AT, None).request


def result(
    request: domain.ExamRequest, outcome: Outcome, score: int | None = 92
) -> domain.RequestChange:
    return domain.record_result(
        request, COORDINATOR, RESULT_AT, outcome=outcome, score=score, note=None
    )


def values(due: Due) -> list[str]:
    return [row.value.removeprefix(RLM) for row in due.rows]


def test_a_pass_issues_the_result_slip_and_the_certificate_ready_notice() -> None:
    slip, notice = result(sat_trial(), Outcome.PASSED).documents

    for due, kind in [(slip, RESULT_SLIP), (notice, CERTIFICATE_NOTICE)]:
        assert (due.action, due.kind, due.number) == ("issue", kind.name, "EX-2026-000123")
        assert (due.owner, due.holder) == ("citizen-1", "ليلى أحمد الحداد")
        assert due.issued_at == RESULT_AT and due.valid_until is None
    assert values(slip) == [
        "امتحان ICDL تجريبي",
        "ICDL practice test",
        "ناجح بعلامة 92 من 100 في الامتحان المعقود بتاريخ 24/11/2026",
        "Passed, with a score of 92 out of 100, in the exam held on 24/11/2026",
    ]
    assert values(notice) == [
        "شهادة امتحان ICDL تجريبي جاهزة للاستلام من المحطة المعرفية - رأس العين خلال "
        "الدوام الرسمي، الأحد إلى الخميس 8:30-15:00، مع إحضار البطاقة الشخصية (الهوية) سارية "
        "المفعول",
        "The certificate for ICDL practice test is ready for collection from Knowledge "
        "Station, Ras Al-Ain during working hours, Sunday to Thursday 08:30-15:00; bring your "
        "valid Jordanian ID card",
    ]
    # Each fact in both languages, under one pair of labels.
    assert [(row.label_en, row.label_ar) for row in slip.rows] == [
        ("Exam", "الامتحان"),
        ("Exam", "الامتحان"),
        ("Result", "النتيجة"),
        ("Result", "النتيجة"),
    ]
    # No more personal data than the document's purpose: no identity number, no phone.
    for due in (slip, notice):
        assert not any("9871012345" in value or "079" in value for value in values(due))


def test_a_failure_issues_the_result_slip_only_and_a_score_is_shown_only_when_given() -> None:
    (failed,) = result(sat_trial(), Outcome.FAILED, score=None).documents

    assert failed.kind == RESULT_SLIP.name
    assert values(failed)[2:] == [
        "لم يحالفه النجاح في الامتحان المعقود بتاريخ 24/11/2026",
        "Did not pass, in the exam held on 24/11/2026",
    ]


def test_an_official_slip_names_the_granting_body_and_the_sessions_date() -> None:
    request = sat_official()
    assert sat_on(request) == EXAM_AT
    slip, _ = result(request, Outcome.PASSED, score=None).documents

    assert values(slip) == [
        "ICDL معالجة النصوص، شهادة تمنحها ICDL العربية",
        "ICDL Documents, certificate granted by ICDL Arabia",
        "ناجح في الامتحان المعقود بتاريخ 06/12/2026",
        "Passed, in the exam held on 06/12/2026",
    ]
    # An Arabic value that starts with Latin (`ICDL ...`) is still laid out right to left.
    assert direction(slip.rows[0].value) == "rtl"
    assert direction(slip.rows[1].value) == "ltr"


def test_each_step_issues_its_document_once_whatever_stages_it_again() -> None:
    request = sat_trial()
    first, again = result(request, Outcome.PASSED), result(request, Outcome.PASSED)

    # The entries' ids come from kind, number and step: a second entry finds the first's record.
    assert [due.id for due in first.documents] == [due.id for due in again.documents]
    assert len({due.id for due in first.documents}) == 2


def test_collecting_the_certificate_revokes_the_notice_it_has_done_its_job() -> None:
    ready = result(sat_trial(), Outcome.PASSED).request
    collected_at = RESULT_AT + timedelta(days=2)

    (revoked,) = domain.record_collection(
        ready, COORDINATOR, collected_at, collected_by="سامي خالد"
    ).documents

    assert (revoked.action, revoked.kind, revoked.number) == (
        "revoke",
        CERTIFICATE_NOTICE.name,
        "EX-2026-000123",
    )
    assert revoked.at == collected_at
    assert revoked.reason_en == (
        "The certificate was collected on 27/11/2026; this notice has done its job."
    )
    assert revoked.reason_ar == "استُلمت الشهادة بتاريخ 27/11/2026، فانتهى الغرض من هذا الإشعار."
    # Who collected it (a delegate's name) is not for the public page.
    assert "سامي" not in revoked.reason_ar + revoked.reason_en


def test_no_other_step_issues_or_revokes_a_document() -> None:
    request = paid(submitted(TRIAL))
    assert domain.record_attendance(request, COORDINATOR, NOW, None).documents == ()
    assert domain.withdraw(submitted(TRIAL), CITIZEN, NOW, None).documents == ()


def _pages(due: Due, kind_title: tuple[str, str]) -> int:
    from weasyprint import HTML  # loading Pango takes a moment: only this test needs it

    content = Content(
        title_en=kind_title[0],
        title_ar=kind_title[1],
        number=due.number,
        version=1,
        holder=due.holder,
        rows=due.rows,
        issued_at=RESULT_AT,
        valid_until=None,
        verification_url="https://eservices.amman.jo/exams/v1/verify/" + "x" * 24,
    )
    return len(HTML(string=render_html(content)).render().pages)


def test_every_document_fits_on_one_page_with_the_longest_values_of_the_catalogue() -> None:
    """The QR code is at the page's foot: a second page would leave the first without it."""
    shipped = catalogue.load(catalogue.DEFAULT_FILE)

    def longest(texts: list[LocalizedText]) -> LocalizedText:
        return LocalizedText(
            ar=max((t.ar for t in texts), key=len), en=max((t.en for t in texts), key=len)
        )

    exam = longest([e.name for e in shipped.exams])
    body = longest([e.granting_body for e in shipped.exams if e.granting_body])
    request = sat_official()
    request = request.model_copy(
        update={
            "exam": request.exam.model_copy(update={"name": exam, "granting_body": body}),
            "centre": request.centre.model_copy(
                update={
                    "name": longest([c.name for c in shipped.centres]),
                    "working_hours": longest([c.working_hours for c in shipped.centres]),
                }
            ),
            "id_type": domain.IdType.PERSONAL_NUMBER,  # the longer documents to bring
            "applicant": request.applicant.model_copy(
                update={"name": "عبد الرحمن محمد عبد الله أبو الهيجاء"}
            ),
        }
    )
    slip, notice = result(request, Outcome.PASSED, score=100).documents
    assert _pages(slip, (RESULT_SLIP.title_en, RESULT_SLIP.title_ar)) == 1
    assert _pages(notice, (CERTIFICATE_NOTICE.title_en, CERTIFICATE_NOTICE.title_ar)) == 1


@pytest.mark.parametrize("kind", [RESULT_SLIP, CERTIFICATE_NOTICE])
def test_the_kinds_are_read_by_coordinators_and_mask_the_candidates_name(
    kind: DocumentKind,
) -> None:
    assert kind in domain.KINDS
    assert kind.staff_roles == (domain.COORDINATOR,)
    assert kind.holder_is_person  # the public page shows `ليلى أ. ح.`
