"""Drawing e-payment numbers against the real database: collisions, redeliveries, crashes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import PaymentRequested
from services.common.clock import ManualClock
from services.common.mongo import ensure_indexes
from services.common.outbox import Outbox
from services.payments.numbers import check_digit
from services.payments.service import Payments
from services.payments.settings import PaymentsSettings
from services.payments.store import INDEXES, BillStore, payment_key
from tests.integration.payments.conftest import payment_requested

pytestmark = pytest.mark.integration


def number(body: str) -> str:
    return body + check_digit(body)


def request() -> PaymentRequested:
    return PaymentRequested.model_validate(payment_requested().data)


@pytest.fixture
async def store(mongo: Any, database_name: str) -> BillStore:
    await ensure_indexes(mongo[database_name], INDEXES)
    return BillStore(mongo[database_name], Outbox())


def payments(store: BillStore, *drawn: str) -> Payments:
    return Payments(
        store,
        Outbox(),
        ManualClock(datetime.now(UTC)),
        PaymentsSettings(),
        draw_number=iter(drawn).__next__,
    )


async def test_a_number_drawn_twice_goes_to_the_first_bill_and_the_second_draws_again(
    store: BillStore,
) -> None:
    first, second = request(), request()
    a, b = number("512345678901"), number("598765432109")

    issued_first = await payments(store, a).issue_bill(first)
    # The second draws a (taken: its insert fails, and nothing is stored for its reference),
    # then b.
    issued_second = await payments(store, a, b, number("511111111111")).issue_bill(second)

    assert issued_first.e_payment_number == a
    assert issued_second.e_payment_number == b
    stored = await store.by_reference(second.payment_reference)
    assert stored is not None and stored.e_payment_number == b


async def test_a_redelivered_request_returns_the_bill_already_issued(store: BillStore) -> None:
    once = request()
    issued = await payments(store, number("512345678901")).issue_bill(once)

    again = await payments(store, number("587654321098")).issue_bill(once)

    assert again.e_payment_number == issued.e_payment_number
    assert await store.bills.count_documents({}) == 1


async def test_a_bill_stored_before_a_crash_kept_its_key_unbound_is_returned_and_bound(
    store: BillStore,
) -> None:
    """Killed between the bill's insert and its key's binding: the redelivered request finds
    the bill by its reference, binds the key, and issues nothing more."""
    crashed = request()
    stored = number("533333333333")
    # What the crashed delivery did: the bill's insert, not the binding.
    bill = await payments(store, stored).issue_bill(crashed)
    await store.keys.delete_one({"_id": payment_key(crashed.payment_reference)})
    assert await store.by_reference(crashed.payment_reference) is None

    issued = await payments(store, number("544444444444")).issue_bill(crashed)

    assert issued.e_payment_number == bill.e_payment_number == stored
    assert await store.bills.count_documents({}) == 1
    found = await store.by_reference(crashed.payment_reference)
    assert found is not None and found.e_payment_number == stored


async def test_a_key_bound_to_a_number_never_stored_is_bound_to_the_bill_issued(
    store: BillStore,
) -> None:
    """An earlier version bound the key before inserting the bill; a crash in between left a
    binding to a number with no bill. The request is then issued a bill, and the key moves to
    it."""
    crashed = request()
    await store.bind(payment_key(crashed.payment_reference), number("533333333333"))

    issued = await payments(store, number("544444444444")).issue_bill(crashed)

    assert issued.e_payment_number == number("544444444444")
    found = await store.by_reference(crashed.payment_reference)
    assert found is not None and found.e_payment_number == issued.e_payment_number
