"""Every SMS of the training service, as the notifier renders it from the events the domain
raises: the exact Arabic text of each branch, English beside it (GSM-7), and every branch within
3 segments with the longest realistic values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from contracts import ContractModel, LocalizedText
from services.training import domain
from services.training.domain import Change, Kind
from tests.unit.sms_checks import (
    PREFIX,
    assert_english_gsm_7,
    assert_fits,
    longest,
    render,
    sms_event,
)
from tests.unit.training.test_domain import (
    CALENDAR,
    CITIZEN,
    NOTE,
    NOW,
    ON_START,
    REVIEWER,
    SUPERVISOR,
    billed,
    nominated,
    paid,
    submitted,
)

N = "TR-2026-000001"
MISSION = nominated(kind=Kind.MISSION, study_subject="traffic in east Amman")


def _second_no_show() -> Change:
    offered = domain.record_no_show(paid(), ON_START, SUPERVISOR).request
    moved = domain.postpone(offered, date(2026, 12, 20), CITIZEN, ON_START, CALENDAR).request
    return domain.record_no_show(
        moved, domain.day_start(date(2026, 12, 20)) + timedelta(hours=8), SUPERVISOR
    )


def _completed(application: object) -> Change | None:
    approved = domain.approve(submitted(application), NOW, REVIEWER, CALENDAR).request  # type: ignore[arg-type]
    return domain.complete(approved, domain.period_end(approved.application.end_date))


BRANCHES: dict[str, tuple[Callable[[], Change | None], str]] = {
    "1 submitted": (
        lambda: domain.submit(
            N,
            CITIZEN,
            submitted().applicant,
            submitted().application,
            submitted().attachment,
            NOW,
            CALENDAR,
        ),
        f"تم قبول طلبكم للتدريب مبدئياً، ورقم الطلب {N}. يمكنكم متابعته من شاشة الاستعلام عن "
        "الطلب على www.amman.jo",
    ),
    "2 attachments to correct": (
        lambda: domain.flag_attachments(submitted(), NOTE, NOW, REVIEWER, CALENDAR),
        f"يرجى تصويب مرفقات الطلب {N} (الكتاب غير مختوم) خلال 3 أيام عمل قبل 25/11/2026 23:59 من "
        "شاشة الاستعلام على www.amman.jo وإلا يُلغى الطلب.",
    ),
    "2 not corrected: cancelled": (
        lambda: domain.expire_correction(
            domain.flag_attachments(submitted(), NOTE, NOW, REVIEWER, CALENDAR).request, NOW
        ),
        f"أُلغي طلبكم {N}، والسبب: لم تُصوَّب المرفقات خلال المدة المحددة.",
    ),
    "3 not paid: cancelled": (
        lambda: domain.expire_payment(billed(), NOW),
        f"أُلغي طلبكم {N}، والسبب: لم تُدفع الرسوم خلال المدة المحددة.",
    ),
    "4 rejected": (
        lambda: domain.reject(
            submitted(), LocalizedText(ar="لا يوجد شاغر في الدائرة", en="no vacancy"), NOW, REVIEWER
        ),
        f"نعتذر، لم تتم الموافقة على طلبكم {N}. المبررات: لا يوجد شاغر في الدائرة.",
    ),
    "5 approved, free": (
        lambda: domain.approve(submitted(nominated()), NOW, REVIEWER, CALENDAR),
        f"تمت الموافقة على طلبكم {N}. يمكنكم طباعة كتاب الموافقة من شاشة الاستعلام عن الطلب على "
        "www.amman.jo. يبدأ التدريب في 06/12/2026.",
    ),
    "5 approved, paid": (
        lambda: domain.pay(billed(), "2026000123457", NOW, 200000, NOW),
        f"تمت الموافقة على طلبكم {N} بعد دفع الرسوم. يمكنكم طباعة كتاب الموافقة من شاشة "
        "الاستعلام عن الطلب على www.amman.jo. يبدأ التدريب في 06/12/2026.",
    ),
    "6 no-show: postponement offered": (
        lambda: domain.record_no_show(paid(), ON_START, SUPERVISOR),
        f"لم تحضروا لمباشرة التدريب (الطلب {N}). يمكنكم تأجيله لمرة واحدة فقط إلى موعد لا "
        "يتجاوز 06/01/2027 من شاشة الاستعلام على www.amman.jo",
    ),
    "6 postponed": (
        lambda: domain.postpone(
            domain.record_no_show(paid(), ON_START, SUPERVISOR).request,
            date(2026, 12, 20),
            CITIZEN,
            ON_START,
            CALENDAR,
        ),
        f"تم تأجيل التدريب للطلب {N}، ويبدأ في 20/12/2026 وينتهي في 31/12/2026. لا يمكن التأجيل "
        "مرة أخرى.",
    ),
    "6 second no-show: 25 % withheld": (
        _second_no_show,
        f"أُلغي طلبكم {N}، والسبب: عدم الحضور في موعد التدريب الجديد بعد التأجيل. خُصم 25% من "
        "الرسوم (50.000 دينار)، واسترداد 150.000 دينار بانتظار موافقة الإدارة العليا.",
    ),
    "6 no new date chosen: 25 % withheld": (
        lambda: domain.expire_postponement(
            domain.record_no_show(paid(), ON_START, SUPERVISOR).request, ON_START
        ),
        f"أُلغي طلبكم {N}، والسبب: لم يُختر موعد جديد للتدريب خلال شهر من الموعد الفائت. خُصم "
        "25% من الرسوم (50.000 دينار)، واسترداد 150.000 دينار بانتظار موافقة الإدارة العليا.",
    ),
    "6 no-show at free training": (
        lambda: domain.record_no_show(
            domain.approve(submitted(nominated()), NOW, REVIEWER, CALENDAR).request,
            ON_START,
            SUPERVISOR,
        ),
        f"أُلغي طلبكم {N}، والسبب: عدم الحضور لمباشرة التدريب.",
    ),
    "7 training over": (
        lambda: _completed(nominated()),
        f"انتهى التدريب للطلب {N}. كتاب انتهاء التدريب وتقرير التقييم جاهزان: اطبعوا الكتاب من "
        "شاشة الاستعلام على www.amman.jo واحضروا لاستلام التقرير باليد.",
    ),
    "7 mission over": (
        lambda: _completed(MISSION),
        f"انتهت المهمة للطلب {N}. يرجى تسليم نسخة ورقية وإلكترونية من الدراسة بعد إنهائها وصدور "
        "نتائجها.",
    ),
}


def _sms_event(change: Change | None) -> tuple[str, ContractModel]:
    assert change is not None
    return sms_event(change.events)


@pytest.mark.parametrize("branch", list(BRANCHES))
def test_the_arabic_sms_of_each_branch(branch: str) -> None:
    make, expected = BRANCHES[branch]
    key, data = _sms_event(make())

    assert render(key, "ar", data) == PREFIX + expected


@pytest.mark.parametrize("branch", list(BRANCHES))
def test_the_english_sms_of_each_branch_is_gsm_7(branch: str) -> None:
    key, data = _sms_event(BRANCHES[branch][0]())

    assert_english_gsm_7(key, data, N)


LONG_AR = "دائرة نظم المعلومات الجغرافية التابعة لأمانة عمّان الكبرى في مبنى الأمانة الرئيسي"
LONG_EN = (
    "Geographic Information Systems Department of the Greater Amman Municipality, main building"
)


@pytest.mark.parametrize("branch", list(BRANCHES))
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_every_sms_fits_three_segments_with_the_longest_values(branch: str, lang: str) -> None:
    key, data = _sms_event(BRANCHES[branch][0]())

    text = render(key, lang, longest(data, LONG_AR, LONG_EN, request_number="TR-2026-999999"))

    assert_fits(text, filled=False)
