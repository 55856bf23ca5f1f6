"""The provider's payment notifications: signed, idempotent, exact, and never lost."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.payments.conftest import settle, stale

pytestmark = pytest.mark.integration

PAID = "payments.bill.paid.v1"


async def test_the_same_notification_twice_pays_the_bill_once(
    payments: Any, provider: Any, published: Any, request_payment: Any
) -> None:
    event, issued = await request_payment(amount_fils=25000)
    number, reference = issued["e_payment_number"], event.data["payment_reference"]
    body = provider.notification(number, 25000, transaction_id="JOE-TRX-0001")

    first = await provider.call("/payment-notifications", body)
    second = await provider.call("/payment-notifications", body)

    assert first.status_code == second.status_code == 200, first.text
    assert first.json() == second.json()
    assert first.json()["Status"] == "accepted"
    paid = await published.one(PAID, reference)
    await payments.drained()
    await settle()
    assert len(published.of(PAID, reference)) == 1
    assert paid["e_payment_number"] == number and paid["amount_fils"] == 25000
    assert paid["provider"] == "efawateercom"
    assert paid["provider_transaction_id"] == "JOE-TRX-0001"
    bill = await payments.database["bills"].find_one({"_id": number})
    assert bill["status"] == "paid"
    assert bill["payment"]["bank_transaction_id"].startswith("BNK")
    assert bill["payment"]["access_channel"] == "Internet"
    assert bill["payment"]["paid_amount_fils"] == 25000


async def test_ten_concurrent_notifications_for_one_bill_publish_exactly_one_paid_event(
    payments: Any, provider: Any, published: Any, request_payment: Any
) -> None:
    event, issued = await request_payment()
    number, reference = issued["e_payment_number"], event.data["payment_reference"]
    body = provider.notification(number, 25000, transaction_id="JOE-TRX-RACE")

    answers = await asyncio.gather(
        *(provider.call("/payment-notifications", body) for _ in range(10))
    )

    assert [answer.status_code for answer in answers] == [200] * 10
    await published.one(PAID, reference)
    await payments.drained()
    await settle()
    assert len(published.of(PAID, reference)) == 1


async def test_ten_different_transactions_for_one_bill_one_pays_the_rest_are_exceptions(
    payments: Any, provider: Any, published: Any, request_payment: Any
) -> None:
    event, issued = await request_payment()
    number, reference = issued["e_payment_number"], event.data["payment_reference"]

    answers = await asyncio.gather(
        *(provider.pay(number, 25000, trx=f"JOE-TRX-{n}") for n in range(10))
    )

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [409] * 9
    refused = [answer.json() for answer in answers if answer.status_code == 409]
    assert {problem["error_code"] for problem in refused} == {"already-paid"}
    await published.one(PAID, reference)
    await payments.drained()
    await settle()
    assert len(published.of(PAID, reference)) == 1
    exceptions = payments.database["payment_notifications"]
    assert await exceptions.count_documents({"accepted": False}) == 9


async def test_an_unsigned_a_badly_signed_or_a_stale_notification_is_401_and_changes_nothing(
    payments: Any, provider: Any, request_payment: Any
) -> None:
    _, issued = await request_payment()
    number = issued["e_payment_number"]
    body = provider.notification(number, 25000)

    unsigned = await provider.call("/payment-notifications", body, headers={})
    bad = await provider.call("/payment-notifications", body, secret=b"someone-else")
    old = await provider.call("/payment-notifications", body, timestamp=stale())
    tampered = await provider.call("/payment-notifications", body.replace(b'"25.000"', b'"25.001"'))
    tampered_sent = await provider.call(
        "/payment-notifications",
        body.replace(b'"25.000"', b'"2.500"'),
        headers=_signed_for(provider, body),
    )

    for answer in (unsigned, bad, old, tampered_sent):
        assert answer.status_code == 401, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"].endswith("/unauthorized")
    assert tampered.status_code == 422  # correctly signed, but the amount is wrong
    assert "stale" not in bad.text and "secret" not in bad.text.lower()
    bill = await payments.database["bills"].find_one({"_id": number})
    assert bill["status"] == "new"


def _signed_for(provider: Any, body: bytes) -> dict[str, str]:
    from services.payments import simulator

    return simulator.signed_headers(body, provider.secret)


async def test_a_wrong_amount_is_recorded_as_an_exception_and_the_bill_is_unchanged(
    payments: Any, provider: Any, published: Any, request_payment: Any, token_for: Any
) -> None:
    event, issued = await request_payment(amount_fils=25000)
    number, reference = issued["e_payment_number"], event.data["payment_reference"]

    body = provider.notification(number, 20000, transaction_id="JOE-TRX-SHORT")
    answer = await provider.call("/payment-notifications", body)
    repeated = await provider.call("/payment-notifications", body)

    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["error_code"] == "amount-mismatch"
    assert problem["refund_due_fils"] == 20000
    assert problem["exception_id"] == "efawateercom:JOE-TRX-SHORT"
    assert "25000" in problem["detail"] and "20000" in problem["detail"]
    assert repeated.json() == problem
    bill = await payments.database["bills"].find_one({"_id": number})
    assert bill["status"] == "new" and bill.get("payment") is None
    finance = token_for("finance-1", "finance.staff")
    listed = (await payments.get("/v1/payment-exceptions", finance)).json()
    assert [item["id"] for item in listed["items"]] == ["efawateercom:JOE-TRX-SHORT"]
    assert listed["items"][0]["kind"] == "amount-mismatch"
    assert listed["items"][0]["refund_due_fils"] == 20000
    assert listed["items"][0]["bank_transaction_id"].startswith("BNK")
    await payments.drained()
    await settle()
    assert published.of(PAID, reference) == []


async def test_a_payment_for_an_unknown_number_is_recorded_as_an_exception(
    payments: Any, provider: Any
) -> None:
    answer = await provider.pay("1000000000005", 5000, trx="JOE-TRX-LOST")

    assert answer.status_code == 404, answer.text
    assert answer.json()["error_code"] == "unknown-bill"
    record = await payments.database["payment_notifications"].find_one(
        {"_id": "efawateercom:JOE-TRX-LOST"}
    )
    assert record["accepted"] is False and record["refund_due_fils"] == 5000


async def test_the_same_transaction_id_with_other_details_is_a_conflict(
    payments: Any, provider: Any, request_payment: Any
) -> None:
    _, issued = await request_payment()
    number = issued["e_payment_number"]
    assert (await provider.pay(number, 25000, trx="JOE-TRX-X")).status_code == 200

    other = await provider.pay(number, 30000, trx="JOE-TRX-X")

    assert other.status_code == 409
    assert "different details" in other.json()["detail"]
