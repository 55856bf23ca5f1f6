"""Bills from payment requests, who may see them, and what the provider's inquiry shows."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.payments.numbers import is_valid
from tests.integration.conftest import eventually
from tests.integration.helpers import dead_letters, publish_raw
from tests.integration.payments.conftest import PAYER, payment_requested, publish, settle

pytestmark = pytest.mark.integration


async def test_a_payment_requested_twice_issues_one_bill_and_one_bill_issued(
    payments: Any, published: Any, amqp: Any
) -> None:
    event = payment_requested(amount_fils=25000)
    reference = event.data["payment_reference"]
    again = payment_requested().model_copy(update={"data": event.data})  # a new event id

    await publish(amqp, event)
    await publish(amqp, event)  # redelivered
    await publish(amqp, again)  # the service asked again

    issued = await published.one("payments.bill.issued.v1", reference)
    await payments.consumed(3)
    await payments.drained()
    await settle()
    assert len(published.of("payments.bill.issued.v1", reference)) == 1
    assert await payments.database["bills"].count_documents({"payment_reference": reference}) == 1
    number = issued["e_payment_number"]
    assert len(number) == 13 and is_valid(number)
    assert issued["amount_fils"] == 25000 and issued["currency"] == "JOD"
    assert issued["due_at"] == event.data["due_at"]
    assert issued["applicant"]["phone"] == PAYER.phone
    assert issued["applicant"]["lang"] == "ar"
    assert issued["biller_code"] == "106"


async def test_a_malformed_payment_requested_goes_to_the_dead_letter_queue(
    payments: Any, amqp: Any, request_payment: Any
) -> None:
    body = json.loads(payment_requested().to_json())
    del body["data"]["amount_fils"]

    await publish_raw(amqp, json.dumps(body).encode(), routing_key="exams.payment.requested.v1")
    await request_payment()  # the next one is still served

    dead: list[Any] = []

    async def one_dead() -> bool:
        dead.extend(await dead_letters(amqp, payments.queue))
        return len(dead) == 1

    await eventually(one_dead, message="the malformed request dead-lettered")
    reason = str(dead[0].headers["x-dead-letter-reason"])
    assert reason.startswith("malformed: ValidationError") and "amount_fils" in reason


async def test_a_citizen_sees_their_own_bills_and_not_another_citizens(
    payments: Any, request_payment: Any, token_for: Any
) -> None:
    _, mine = await request_payment(owner="citizen-a")
    _, theirs = await request_payment(owner="citizen-b")
    _, for_staff_made = await request_payment(owner=None)
    me = token_for("citizen-a", "citizen")

    listed = (await payments.get("/v1/bills", me)).json()
    own = await payments.get(f"/v1/bills/{mine['e_payment_number']}", me)
    other = await payments.get(f"/v1/bills/{theirs['e_payment_number']}", me)
    unowned = await payments.get(f"/v1/bills/{for_staff_made['e_payment_number']}", me)
    missing = await payments.get("/v1/bills/1000000000005", me)

    assert [bill["e_payment_number"] for bill in listed["items"]] == [mine["e_payment_number"]]
    assert own.status_code == 200
    assert own.json()["status"] == "new"
    assert own.json()["next_step"]["en"].startswith("Pay with e-payment number")
    assert other.status_code == unowned.status_code == 404
    assert other.json()["type"] == missing.json()["type"]
    assert other.json()["detail"].replace(theirs["e_payment_number"], "N") == missing.json()[
        "detail"
    ].replace("1000000000005", "N")


async def test_the_provider_inquiry_shows_the_bill_and_masks_the_payers_name(
    provider: Any, request_payment: Any
) -> None:
    _, issued = await request_payment(amount_fils=100500)
    number = issued["e_payment_number"]

    answer = await provider.inquire(number, service_type="EXAMS")
    wrong_type = await provider.inquire(number, service_type="COURSES")
    bad_check_digit = await provider.inquire(number[:-1] + str((int(number[-1]) + 1) % 10))

    assert answer.status_code == 200, answer.text
    bill = answer.json()
    assert bill["BillingNo"] == number
    assert bill["BillStatus"] == "new"
    assert bill["DueAmount"] == "100.500" == bill["Lower"] == bill["Upper"]
    assert bill["AllowPart"] is False
    assert bill["ServiceType"] == "EXAMS"
    assert bill["PayerName"] == "L*** A*** H***"
    assert PAYER.name not in answer.text and "Layla" not in answer.text
    assert wrong_type.status_code == bad_check_digit.status_code == 404
