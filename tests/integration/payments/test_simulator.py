"""The provider simulator pays a bill by its number, as the real provider would."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import pytest

from tests.integration.conftest import ROOT
from tests.integration.payments.conftest import BILLER_CODE, SECRET

pytestmark = pytest.mark.integration


async def simulate(payments: Any, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.payments.simulator",
        *args,
        "--url",
        payments.url,
        "--biller-code",
        BILLER_CODE,
        cwd=ROOT,
        # The simulator signs at the time of the clock file payments reads (as `make run`'s).
        env={
            **os.environ,
            "PAYMENTS_EFAWATEERCOM_SECRET": SECRET,
            "CLOCK_FILE": str(payments.clock_file),
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_the_simulator_pays_a_bill_by_its_number_and_can_send_a_bad_one(
    payments: Any, published: Any, request_payment: Any
) -> None:
    event, issued = await request_payment(amount_fils=100000)
    number = issued["e_payment_number"]

    bad_signature = await simulate(payments, "pay", number, "--bad-signature")
    wrong_amount = await simulate(payments, "pay", number, "--amount", "99000")
    paid = await simulate(payments, "pay", number)

    assert bad_signature[0] == 1 and "HTTP 401" in bad_signature[1]
    assert wrong_amount[0] == 1 and "HTTP 422" in wrong_amount[1]
    assert "amount-mismatch" in wrong_amount[1]
    assert paid[0] == 0 and "HTTP 200" in paid[1], paid[1]
    bill_paid = await published.one("payments.bill.paid.v1", event.data["payment_reference"])
    assert bill_paid["amount_fils"] == 100000


async def test_the_simulator_pays_after_time_was_moved(
    payments: Any, published: Any, request_payment: Any
) -> None:
    """It signs at the services' time (their clock file), not the real one: a day later than
    real time, the payment is still inside the signature window."""
    from datetime import timedelta

    event, issued = await request_payment(amount_fils=30000)
    payments.move_clock(payments.now() + timedelta(days=1))
    await asyncio.sleep(0.5)
    code, output = await simulate(payments, "pay", issued["e_payment_number"])
    assert code == 0 and "HTTP 200" in output, output
    paid = await published.one("payments.bill.paid.v1", event.data["payment_reference"])
    assert paid["amount_fils"] == 30000
