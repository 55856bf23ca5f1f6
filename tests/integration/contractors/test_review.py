"""The rest of the renewal (the card stops at step 2): review, fee, payment and completion.

- rejected with a reason -> SMS with the reason (Arabic, and English for an English request);
- approved with a fee -> payments' SMS with the e-payment number -> paid -> SMS with the new
  validity, written to the registry; every payments event delivered again changes nothing;
- approved with no fee -> completed at once, SMS with the new validity;
- the bill expires unpaid -> cancelled, SMS; the permit can be renewed again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.contractors.domain import amman_date, new_validity
from services.contractors.views import amman_time
from tests.integration.conftest import eventually
from tests.integration.contractors.conftest import (
    FREE,
    PAID,
    PREFIX,
    Published,
    StartPlatform,
)

pytestmark = pytest.mark.integration


def _day(text: str) -> str:
    year, month, day = text.split("-")
    return f"{day}/{month}/{year}"


async def test_a_rejection_tells_the_applicant_why(start_platform: StartPlatform) -> None:
    platform = await start_platform(payments=False)
    request = await platform.renewal(platform.citizen())
    number = request["request_number"]

    pending = await platform.call("GET", "/v1/requests?status=submitted", platform.reviewer())
    assert [item["request_number"] for item in pending.json()["items"]] == [number]

    reason = {
        "ar": "التصريح عليه مخالفات غير مسددة",
        "en": "The permit has unpaid fines",
    }
    rejected = await platform.decide(number, "rejection", {"reason": reason})
    assert rejected["status"] == "rejected"
    assert rejected["rejection_reason"] == reason
    assert rejected["next_step"]["en"] == "You may submit a new renewal at www.amman.jo."
    texts = await platform.sms(number, 2)
    assert texts[1] == PREFIX + (
        f"نعتذر، رُفض طلب تجديد تصريح المقاول {number}. السبب: التصريح عليه مخالفات غير مسددة"
    )
    # Decided once: a second decision is a conflict; the permit is free for a new renewal.
    again = await platform.call("POST", f"/v1/requests/{number}/approval", platform.reviewer(), {})
    assert again.status_code == 409, again.text

    english = await platform.renewal(platform.citizen(), lang="en")
    await platform.decide(english["request_number"], "rejection", {"reason": reason})
    texts = await platform.sms(english["request_number"], 2)
    assert texts[0] == (
        "Greater Amman Municipality: your renewal request for contractor permit P-2026-0112 "
        f"(2026) was received; request number {english['request_number']}. The review "
        "decision will follow by SMS."
    )
    assert texts[1] == (
        "Greater Amman Municipality: contractor permit renewal request "
        f"{english['request_number']} was rejected. Reason: The permit has unpaid fines"
    )


async def test_approved_with_a_fee_paid_renews_the_permit_and_redelivery_changes_nothing(
    start_platform: StartPlatform, published: Published
) -> None:
    platform = await start_platform()
    citizen = platform.citizen()
    number = (await platform.renewal(citizen))["request_number"]

    approved = await platform.decide(number, "approval", {"note": "documents checked"})
    assert approved["status"] == "awaiting_payment"
    assert approved["fee"]["amount_fils"] == 100_000
    due = datetime.fromisoformat(approved["fee"]["due_at"])
    assert approved["next_step"]["ar"] == (
        "ادفع رسوم التجديد (100.000 دينار) باستخدام رقم الدفع الإلكتروني المرسل إليك برسالة "
        f"نصية قبل {amman_time(due)}."
    )
    awaiting = await platform.call(
        "GET", "/v1/requests?status=awaiting_payment", platform.reviewer()
    )
    assert [item["request_number"] for item in awaiting.json()["items"]] == [number]
    texts = await platform.sms(number, 2)
    assert "رقم الدفع الإلكتروني" in texts[1] and "100.000" in texts[1], texts[1]

    paid = await platform.pay(number)
    assert paid.status_code == 200, paid.text
    completed = await platform.reaches(number, "completed")
    start, end = new_validity(
        datetime.fromisoformat("2026-12-31").date(), amman_date(platform.now())
    )
    assert (completed["valid_from"], completed["valid_to"]) == (start.isoformat(), end.isoformat())
    assert completed["fee"]["e_payment_number"]
    texts = await platform.sms(number, 3)
    assert len(texts) == 3  # the approval's SMS is the bill's: no second one
    assert texts[2] == PREFIX + (
        f"تم تجديد تصريح المقاول رقم P-2026-0112 (الطلب {number})، وهو ساري المفعول من "
        f"{_day(start.isoformat())} حتى {_day(end.isoformat())}."
    )
    permit = await platform.permit("C-10234", "P-2026-0112")
    assert (permit["valid_from"], permit["valid_to"]) == (start.isoformat(), end.isoformat())
    assert permit["last_renewal"] == number
    # The citizen sees it too, with its timeline in both languages.
    mine = await platform.inquiry(number, citizen)
    assert [line["label"]["ar"] for line in mine["timeline"]] == [
        "تم تقديم طلب التجديد",
        "تمت الموافقة وطلب دفع رسوم التجديد",
        "تم دفع الرسوم وتجديد التصريح",
    ]
    assert mine["timeline"][1]["by"] is None  # staff names are for staff
    assert mine["next_step"]["en"] == (
        f"The permit is valid from {_day(start.isoformat())} to {_day(end.isoformat())}."
    )

    # payments.bill.paid.v1 delivered again, and again under a new id: nothing changes.
    bill_paid = await published.one("payments.bill.paid.v1", number)
    await platform.deliver_again(bill_paid)
    await platform.deliver_again(bill_paid, new_id=True)
    await platform.consumed("contractors.payments", 4)  # issued, the outcome, 2 again
    assert (await platform.inquiry(number))["version"] == completed["version"]
    assert (await platform.permit("C-10234", "P-2026-0112"))["valid_to"] == end.isoformat()
    assert len(await platform.sms(number, 3)) == 3
    assert len(published.of("contractors.renewal.completed.v1", number)) == 1


async def test_approved_with_no_fee_completes_at_once(start_platform: StartPlatform) -> None:
    platform = await start_platform(payments=False)
    number = (await platform.renewal(platform.citizen(), FREE))["request_number"]

    done = await platform.decide(number, "approval")
    assert done["status"] == "completed" and done["fee_fils"] == 0 and done["fee"] is None
    # Lapsed on 2026-05-31: one year from today.
    start, end = new_validity(
        datetime.fromisoformat("2026-05-31").date(), amman_date(platform.now())
    )
    assert (done["valid_from"], done["valid_to"]) == (start.isoformat(), end.isoformat())
    assert done["timeline"][-1]["label"]["en"] == "Approved; renewed (no fee)"
    texts = await platform.sms(number, 2)
    assert texts[1] == PREFIX + (
        f"تم تجديد تصريح المقاول رقم P-2025-1201 (الطلب {number})، وهو ساري المفعول من "
        f"{_day(start.isoformat())} حتى {_day(end.isoformat())}."
    )
    permit = await platform.permit("C-30555", "P-2025-1201")
    assert (permit["valid_from"], permit["valid_to"]) == (start.isoformat(), end.isoformat())
    assert permit["last_renewal"] == number


async def test_an_unpaid_bill_expires_and_cancels_the_renewal(
    start_platform: StartPlatform, published: Published
) -> None:
    platform = await start_platform()
    number = (await platform.renewal(platform.citizen()))["request_number"]
    approved = await platform.decide(number, "approval")
    due = datetime.fromisoformat(approved["fee"]["due_at"])
    await platform.sms(number, 2)  # the e-payment number

    await platform.move_clock(due + timedelta(minutes=1))
    cancelled = await platform.reaches(number, "cancelled")
    assert cancelled["timeline"][-1]["label"]["ar"] == "أُلغي الطلب لعدم دفع الرسوم في الموعد المحدد"
    texts = await platform.sms(number, 3)
    assert texts[2] == PREFIX + (
        f"أُلغي طلب تجديد تصريح المقاول {number} لعدم دفع الرسوم قبل {amman_time(due)}. "
        "يمكنكم تقديم طلب تجديد جديد عبر www.amman.jo"
    )
    before = await platform.permit("C-10234", "P-2026-0112")
    assert before["valid_to"] == "2026-12-31" and before["last_renewal"] is None

    expired = await published.one("payments.bill.expired.v1", number)
    await platform.deliver_again(expired)
    await platform.deliver_again(expired, new_id=True)
    await platform.consumed("contractors.payments", 4)  # issued, the outcome, 2 again
    assert (await platform.inquiry(number))["version"] == cancelled["version"]
    assert len(await platform.sms(number, 3)) == 3
    assert len(published.of("contractors.renewal.cancelled.v1", number)) == 1

    # The permit may be renewed again.
    again = await platform.renewal(platform.citizen())
    assert again["request_number"] != number
    assert PAID["permit_number"] == again["permit"]["permit_number"]


async def test_a_registry_write_lost_in_a_crash_is_finished_by_the_sweeper(
    start_platform: StartPlatform,
) -> None:
    platform = await start_platform(payments=False)
    number = (await platform.renewal(platform.citizen(), FREE))["request_number"]
    done = await platform.decide(number, "approval")
    # As if the process died between storing the completed renewal and writing the permit.
    await platform.database["permits"].update_one(
        {"_id": "P-2025-1201|2025"},
        {
            "$set": {"valid_from": "2025-06-01", "valid_to": "2026-05-31"},
            "$unset": {"last_renewal": ""},
        },
    )
    await platform.database["requests"].update_one(
        {"_id": number}, {"$set": {"registry_due_at": platform.now() - timedelta(seconds=1)}}
    )

    async def rewritten() -> bool:
        permit = await platform.permit("C-30555", "P-2025-1201")
        return bool(permit["last_renewal"] == number)

    await eventually(rewritten, message="the sweeper rewrote the permit")
    permit = await platform.permit("C-30555", "P-2025-1201")
    assert (permit["valid_from"], permit["valid_to"]) == (done["valid_from"], done["valid_to"])
    stored = await platform.database["requests"].find_one({"_id": number})
    assert "registry_due_at" not in stored
