"""Drawing e-payment numbers against the real database: collisions, redeliveries, and the keys
an earlier version bound."""

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
from services.payments.store import INDEXES, BillStore
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
    # One write per bill: the reference's unique index is its only key.
    assert await store.keys.count_documents({}) == 0


async def test_a_payment_key_an_earlier_version_bound_is_not_read(store: BillStore) -> None:
    """Earlier versions bound `payment:<reference>` to the bill's number (and, before that,
    bound it before inserting the bill, so a crash could leave a binding to a number with no
    bill). Such a key is ignored: the bill is issued and found by its reference."""
    crashed = request()
    await store.bind(f"payment:{crashed.payment_reference}", number("533333333333"))

    issued = await payments(store, number("544444444444")).issue_bill(crashed)

    assert issued.e_payment_number == number("544444444444")
    found = await store.by_reference(crashed.payment_reference)
    assert found is not None and found.e_payment_number == issued.e_payment_number
    again = await payments(store, number("555555555555")).issue_bill(crashed)
    assert again.e_payment_number == issued.e_payment_number
