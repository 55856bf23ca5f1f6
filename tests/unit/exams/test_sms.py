"""Every SMS of the exams service, as the notifier renders it from the events the domain raises:
the exact Arabic text of each branch, English beside it, and every branch within 3 segments
with the longest realistic values."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from contracts import ContractModel
from services.exams import domain
from services.exams.domain import Outcome, RequestChange
from tests.unit.exams.builders import (
    CITIZEN,
    COORDINATOR,
    NOW,
    OFFICIAL,
    TRIAL,
    paid,
    payment,
    submitted,
)
from tests.unit.exams.test_domain import AMMAN_10_AM_SUNDAY, sat, scheduled
from tests.unit.sms_checks import (
    PREFIX,
    assert_english_gsm_7,
    assert_fits,
    longest,
    render,
    sms_event,
)


def _scheduled_request() -> domain.ExamRequest:
    session = scheduled("EX-2026-000123", "EX-2026-000124")
    change = domain.schedule(paid(submitted(OFFICIAL)), session, NOW)
    assert change is not None
    return change.request


def _result(outcome: Outcome, score: int | None) -> RequestChange:
    return domain.record_result(
        sat(paid(submitted(TRIAL))), COORDINATOR, NOW, outcome=outcome, score=score, note=None
    )


BRANCHES: dict[str, tuple[Callable[[], RequestChange | None], str]] = {
    "2 paid, trial: come any time": (
        lambda: domain.record_payment(submitted(TRIAL), payment(amount_fils=5_000), NOW),
        "تم دفع رسوم الطلب EX-2026-000123 (امتحان ICDL تجريبي). يمكنكم الحضور لعقد الامتحان "
        "التجريبي في أي وقت خلال الدوام الرسمي في المحطة المعرفية - رأس العين.",
    ),
    "3 paid, official: wait for the session": (
        lambda: domain.record_payment(submitted(OFFICIAL), payment(), NOW),
        "تم دفع رسوم الطلب EX-2026-000123 (ICDL معالجة النصوص). سيُحدد موعد الامتحان خلال "
        "أسبوع عمل من اكتمال الحد الأدنى للمتقدمين (2) ويصلكم برسالة نصية.",
    ),
    "3 date set: date, place, documents": (
        lambda: domain.schedule(
            paid(submitted(OFFICIAL)), scheduled("EX-2026-000123", "EX-2026-000124"), NOW
        ),
        "موعد امتحان الطلب EX-2026-000123 (ICDL معالجة النصوص) في 06/12/2026 10:00 في المحطة "
        "المعرفية - رأس العين. يرجى إحضار البطاقة الشخصية (الهوية) سارية المفعول.",
    ),
    "3 absent on the date": (
        lambda: domain.record_absence(_scheduled_request(), COORDINATOR, AMMAN_10_AM_SUNDAY, None),
        "سُجّل غيابكم عن امتحان الطلب EX-2026-000123 (ICDL معالجة النصوص) في 06/12/2026 10:00. "
        "للتقدم مجدداً يرجى تقديم طلب جديد عبر www.amman.jo",
    ),
    "4 passed: certificate ready": (
        lambda: _result(Outcome.PASSED, 88),
        "مبارك نجاحكم في امتحان الطلب EX-2026-000123 (امتحان ICDL تجريبي). الشهادة جاهزة للاستلام "
        "من المحطة المعرفية - رأس العين خلال الدوام الرسمي مع إثبات الشخصية.",
    ),
    "4 failed, with a mark": (
        lambda: _result(Outcome.FAILED, 41),
        "نعتذر، لم يحالفكم النجاح في امتحان الطلب EX-2026-000123 (امتحان ICDL تجريبي)، العلامة 41 "
        "من 100. يمكنكم التقدم مجدداً بطلب جديد عبر www.amman.jo",
    ),
    "4 failed, no mark": (
        lambda: _result(Outcome.FAILED, None),
        "نعتذر، لم يحالفكم النجاح في امتحان الطلب EX-2026-000123 (امتحان ICDL تجريبي). يمكنكم "
        "التقدم مجدداً بطلب جديد عبر www.amman.jo",
    ),
    "unpaid: the bill expired": (
        lambda: domain.expire(submitted(), NOW),
        "أُلغي الطلب EX-2026-000123 (امتحان ICDL تجريبي) لعدم دفع الرسوم قبل 29/11/2026 23:59. "
        "يمكنكم تقديم طلب جديد عبر www.amman.jo",
    ),
    "withdrawn by the applicant": (
        lambda: domain.withdraw(submitted(), CITIZEN, NOW, None),
        "تم إلغاء الطلب EX-2026-000123 (امتحان ICDL تجريبي) بناءً على طلبكم، وأُلغي رقم الدفع "
        "الإلكتروني الخاص به.",
    ),
    "the bill was cancelled": (
        lambda: domain.bill_cancelled(submitted(), NOW),
        "أُلغي الطلب EX-2026-000123 (امتحان ICDL تجريبي) لإلغاء فاتورة رسومه. يمكنكم تقديم طلب "
        "جديد عبر www.amman.jo",
    ),
}


def _sms_event(change: RequestChange | None) -> tuple[str, ContractModel]:
    assert change is not None
    return sms_event(change.events)


@pytest.mark.parametrize("branch", list(BRANCHES))
def test_the_arabic_sms_of_each_branch(branch: str) -> None:
    make, expected = BRANCHES[branch]
    key, data = _sms_event(make())

    assert render(key, "ar", data) == PREFIX + expected


@pytest.mark.parametrize("branch", list(BRANCHES))
def test_the_english_sms_of_each_branch_says_the_same_in_gsm_7(branch: str) -> None:
    key, data = _sms_event(BRANCHES[branch][0]())

    assert_english_gsm_7(key, data, "EX-2026-000123")


LONG_AR = "المحطة المعرفية التابعة لأمانة عمّان الكبرى في مجمع الملك الحسين للأعمال - الطابق الثالث"
LONG_EN = "Greater Amman Municipality Knowledge Station at King Hussein Business Park, third floor"


def _longest(data: ContractModel) -> ContractModel:
    """The event with every bilingual text and the name at their longest."""
    name: dict[str, object] = (
        {"applicant": data.applicant.model_copy(update={"name": "عبد الرحمن " * 8})}  # type: ignore[attr-defined]
        if hasattr(data, "applicant")
        else {}
    )
    return longest(data, LONG_AR, LONG_EN, request_number="EX-2026-999999", **name)


@pytest.mark.parametrize("lang", ["ar", "en"])
@pytest.mark.parametrize("branch", list(BRANCHES))
def test_every_branch_fits_3_segments_with_the_longest_values(branch: str, lang: str) -> None:
    key, data = _sms_event(BRANCHES[branch][0]())

    assert_fits(render(key, lang, _longest(data)))
