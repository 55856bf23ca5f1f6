"""Every SMS of the contractors service, as the notifier renders it from the events the domain
raises: the exact Arabic text of each branch, English beside it, within 3 segments with the
longest values."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from contracts import REGISTRY, ContractModel, LocalizedText
from services.contractors import domain
from services.contractors.domain import Change
from tests.unit.contractors.builders import (
    NOW,
    REVIEWER,
    approved,
    paid_with,
    permit,
    submitted,
)
from tests.unit.sms_checks import PREFIX, assert_english_gsm_7, assert_fits, render, sms_event

REASON = LocalizedText(ar="التصريح عليه مخالفات غير مسددة", en="The permit has unpaid fines")


def _submitted() -> Change:
    request = submitted()
    return domain.submit(
        request_number=request.request_number,
        owner=domain.Actor(request.owner_subject, frozenset({domain.CITIZEN})),
        contractor=domain.Contractor(
            number="C-10234",
            name=request.permit.contractor_name,
            classification="buildings",
            category="3",
        ),
        permit=permit(),
        reason="x x x",
        phone="+962791234567",
        lang="ar",
        now=NOW,
    )


BRANCHES: dict[str, tuple[Callable[[], Change], str]] = {
    "submitted: the request number": (
        _submitted,
        "تم استلام طلب تجديد تصريح المقاول رقم P-2026-0112 لسنة 2026، ورقم الطلب CP-2026-000123. "
        "سيصلكم قرار المراجعة برسالة نصية.",
    ),
    "rejected: the reason": (
        lambda: domain.reject(submitted(), REVIEWER, NOW, reason=REASON),
        "نعتذر، رُفض طلب تجديد تصريح المقاول CP-2026-000123. السبب: التصريح عليه مخالفات غير مسددة",
    ),
    "paid: the new validity": (
        lambda: domain.record_payment(approved().request, paid_with(), permit(), NOW),
        "تم تجديد تصريح المقاول رقم P-2026-0112 (الطلب CP-2026-000123)، وهو ساري المفعول من "
        "01/01/2027 حتى 31/12/2027.",
    ),
    "free: the new validity at once": (
        lambda: approved("maintenance"),
        "تم تجديد تصريح المقاول رقم P-2026-0112 (الطلب CP-2026-000123)، وهو ساري المفعول من "
        "01/01/2027 حتى 31/12/2027.",
    ),
    "the bill expired": (
        lambda: domain.cancel_unpaid(approved().request, NOW, "payment_expired"),
        "أُلغي طلب تجديد تصريح المقاول CP-2026-000123 لعدم دفع الرسوم قبل 30/11/2026 23:59. "
        "يمكنكم تقديم طلب تجديد جديد عبر www.amman.jo",
    ),
    "the bill was cancelled": (
        lambda: domain.cancel_unpaid(approved().request, NOW, "bill_cancelled"),
        "أُلغي طلب تجديد تصريح المقاول CP-2026-000123 لإلغاء فاتورة رسومه. يمكنكم تقديم طلب "
        "تجديد جديد عبر www.amman.jo",
    ),
}


def _sms_event(change: Change) -> tuple[str, ContractModel]:
    return sms_event(change.events)


@pytest.mark.parametrize("branch", list(BRANCHES))
def test_the_arabic_sms_of_each_branch(branch: str) -> None:
    make, expected = BRANCHES[branch]
    key, data = _sms_event(make())
    assert render(key, "ar", data) == PREFIX + expected


@pytest.mark.parametrize("branch", list(BRANCHES))
def test_the_english_sms_of_each_branch_is_gsm_7(branch: str) -> None:
    key, data = _sms_event(BRANCHES[branch][0]())
    assert_english_gsm_7(key, data, "CP-2026-000123")


def test_an_approval_sends_no_sms_of_its_own() -> None:
    # With a fee the e-payment number (payments.bill.issued.v1) is the SMS; free, the completion.
    for change in (approved(), approved("maintenance")):
        spec = REGISTRY.spec_for(change.events[0].routing_key)
        assert change.events[0].routing_key == "contractors.renewal.approved.v1"
        assert not spec.notifies_applicant


LONG_AR = (
    "التصريح موقوف بقرار من لجنة تصنيف المقاولين إلى حين تسوية المخالفات المسجلة على المؤسسة " * 3
)
LONG_EN = (
    "The permit is suspended by the contractors classification committee until fines are settled "
    * 3
)


@pytest.mark.parametrize("lang", ["ar", "en"])
@pytest.mark.parametrize("branch", list(BRANCHES))
def test_every_branch_fits_3_segments_with_the_longest_values(branch: str, lang: str) -> None:
    key, data = _sms_event(BRANCHES[branch][0]())
    long_permit = data.permit.model_copy(  # type: ignore[attr-defined]
        update={"permit_number": "P" * 30, "contractor_number": "C" * 30}
    )
    changes: dict[str, object] = {"request_number": "CP-2026-999999", "permit": long_permit}
    if isinstance(getattr(data, "reason", None), LocalizedText):
        changes["reason"] = LocalizedText(ar=LONG_AR[:500], en=LONG_EN[:500])
    assert_fits(render(key, lang, data.model_copy(update=changes)))
