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
    # The second draws a (taken: its insert fails), then b for nothing (the key is bound to a),
    # then moves its key to c.
    c = number("500000000001")
    issued_second = await payments(store, a, b, c, number("511111111111")).issue_bill(second)

    assert issued_first.e_payment_number == a
    assert issued_second.e_payment_number == c
    stored = await store.by_reference(second.payment_reference)
    assert stored is not None and stored.e_payment_number == c


async def test_a_redelivered_request_returns_the_bill_already_issued(store: BillStore) -> None:
    once = request()
    issued = await payments(store, number("512345678901")).issue_bill(once)

    again = await payments(store, number("587654321098")).issue_bill(once)

    assert again.e_payment_number == issued.e_payment_number
    assert await store.bills.count_documents({}) == 1


async def test_a_request_whose_bill_was_bound_but_not_stored_is_finished_with_that_number(
    store: BillStore,
) -> None:
    crashed = request()
    bound = number("533333333333")
    await store.bind(payment_key(crashed.payment_reference), bound)

    issued = await payments(store, number("544444444444")).issue_bill(crashed)

    assert issued.e_payment_number == bound
