"""A request whose fee is not paid (the seed is silent): the bill expires -> the request is
cancelled and the applicant told by SMS; the applicant withdraws it -> the bill is cancelled and
the applicant told once. Every payments event delivered again changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.common.formatting import amman_time
from tests.integration.exams.conftest import Published, StartPlatform

pytestmark = pytest.mark.integration

PREFIX = "أمانة عمّان الكبرى: "


async def test_an_expired_bill_cancels_the_request_with_an_sms(
    start_platform: StartPlatform, published: Published
) -> None:
    platform = await start_platform()
    request = await platform.submit(platform.citizen())
    number = request["request_number"]
    due_at = datetime.fromisoformat(request["fee"]["due_at"])
    await platform.sms(number, 1)  # the e-payment number

    # Nobody pays: just after the due time payments expires the bill, exams cancels the request.
    await platform.move_clock(due_at + timedelta(minutes=1))
    cancelled = await platform.reaches(number, "cancelled")
    assert cancelled["timeline"][-1]["label"]["en"] == "Cancelled: the fee was not paid in time"
    assert cancelled["next_step"]["ar"] == "يمكنكم تقديم طلب جديد عبر www.amman.jo."
    texts = await platform.sms(number, 2)
    assert texts[1] == PREFIX + (
        f"أُلغي الطلب {number} (امتحان ICDL تجريبي) لعدم دفع الرسوم قبل {amman_time(due_at)}. "
        "يمكنكم تقديم طلب جديد عبر www.amman.jo"
    )
    assert amman_time(due_at).endswith("23:59")

    # payments.bill.expired.v1 delivered again, and published again under a new id: nothing.
    expired = await published.one("payments.bill.expired.v1", number)
    await platform.deliver_again(expired)
    await platform.deliver_again(expired, new_id=True)
    await platform.consumed("exams.payments", 4)  # issued, expired, twice again
    again = await platform.inquiry(number)
    assert again["version"] == cancelled["version"]
    assert len(await platform.sms(number, 2)) == 2
    assert len(published.of("exams.request.cancelled.v1", number)) == 1


async def test_withdrawing_an_unpaid_request_cancels_its_bill_and_tells_the_applicant_once(
    start_platform: StartPlatform, published: Published
) -> None:
    platform = await start_platform()
    citizen = platform.citizen()
    number = (await platform.submit(citizen, lang="en"))["request_number"]
    await platform.sms(number, 1)

    response = await platform.call(
        "POST", f"/v1/requests/{number}/withdrawal", citizen, {"note": "I booked elsewhere"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["timeline"][-1]["why"] == "I booked elsewhere"
    # (bill.issued, which only records the e-payment number, came before the withdrawal or
    # changes nothing after it)
    withdrawn = (await platform.inquiry(number))["version"]

    # exams asked payments to cancel the bill; payments confirms; nothing more happens.
    cancelled_bill = await published.one("payments.bill.cancelled.v1", number)
    await platform.deliver_again(cancelled_bill, new_id=True)
    await platform.consumed("exams.payments", 3)  # issued, cancelled, once again
    assert (await platform.sms(number, 2))[1] == (
        f"Greater Amman Municipality: request {number} (ICDL practice test) is cancelled as you "
        "asked, and its e-payment number is no longer valid."
    )
    assert len(await platform.sms(number, 2)) == 2
    assert (await platform.inquiry(number))["version"] == withdrawn

    # The bill can no longer be paid; withdrawing again is a conflict.
    assert (await platform.pay(number)).status_code == 410
    again = await platform.call("POST", f"/v1/requests/{number}/withdrawal", citizen, {})
    assert again.status_code == 409
    assert again.json()["type"] == "https://api.amman.jo/problems/conflict"
