"""A payment-provider simulator: pays a bill by its number the way eFAWATEERcom would.

    python -m services.payments.simulator inquire 2026000123457
    python -m services.payments.simulator pay 2026000123457
    python -m services.payments.simulator pay 2026000123457 --amount 20000   # a wrong amount
    python -m services.payments.simulator pay 2026000123457 --bad-signature  # refused: 401

`pay` asks the bill first (a signed bill inquiry, as a bank does before taking the money), then
sends a correctly signed payment notification for the amount due (or `--amount` fils), with a new
provider transaction id (or `--transaction-id`, to repeat one). Options: `--url` (default
`$PAYMENTS_URL` or http://127.0.0.1:8001), `--secret` (default `$PAYMENTS_EFAWATEERCOM_SECRET` or
the development secret), `--biller-code`, `--channel`, `--stale` (a timestamp older than the
window). Prints the answer; exits 0 on a 2xx answer, 1 otherwise.

It signs with the services' time: the clock file they read (`CLOCK_FILE`, or in development
`.local/clock`, the file `make run` gives them), so a bill can still be paid after time was moved.

A development and test tool beside the service, never part of it: it builds the requests with the
adapter's own wire models, so it speaks exactly what the service expects.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from services.common.clock import LOCAL_CLOCK_FILE, Clock, FileClock, SystemClock
from services.common.settings import Environment
from services.payments import signatures
from services.payments.efawateercom import (
    PREFIX,
    BillPullRq,
    PaymentNotificationRq,
)
from services.payments.settings import DEVELOPMENT_PROVIDER_SECRET, PaymentsSettings

DEFAULT_URL = "http://127.0.0.1:8001"
STALE_BY_SECONDS = 3600


def services_clock(settings: PaymentsSettings) -> Clock:
    """The clock the local services read: `CLOCK_FILE`, else (development) `make run`'s file."""
    path = settings.clock_file
    if path is None and settings.environment is Environment.DEVELOPMENT:
        path = LOCAL_CLOCK_FILE
    return FileClock(path) if path is not None else SystemClock()


def signed_headers(body: bytes, secret: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    moment = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        signatures.HEADER: signatures.sign(secret, moment, body),
    }


def inquiry_body(number: str, *, biller_code: str, service_type: str | None = None) -> bytes:
    request = BillPullRq(billing_no=number, biller_code=biller_code, service_type=service_type)
    return request.model_dump_json(by_alias=True, exclude_none=True).encode()


def notification_body(
    number: str,
    *,
    amount_fils: int,
    due_fils: int,
    biller_code: str,
    service_type: str,
    transaction_id: str | None = None,
    paid_at: datetime | None = None,
    channel: str = "Internet",
    fees_fils: int = 0,
) -> bytes:
    request = PaymentNotificationRq(
        joebpps_trx=transaction_id or uuid.uuid4().hex[:20].upper(),
        bank_trx_id=f"BNK{uuid.uuid4().hex[:12].upper()}",
        bank_code="ARAB",
        biller_code=biller_code,
        billing_no=number,
        service_type=service_type,
        due_amt=Decimal(due_fils).scaleb(-3),
        paid_amt=Decimal(amount_fils).scaleb(-3),
        fees_amt=Decimal(fees_fils).scaleb(-3),
        process_date=paid_at or datetime.now(UTC),
        access_channel=channel,
        payment_method="ACTDEB",
    )
    return request.model_dump_json(by_alias=True).encode()


def _post(
    client: httpx.Client, path: str, body: bytes, secret: bytes, timestamp: int
) -> httpx.Response:
    return client.post(
        PREFIX + path, content=body, headers=signed_headers(body, secret, timestamp=timestamp)
    )


def _print(response: httpx.Response) -> None:
    try:
        shown: Any = response.json()
        text = json.dumps(shown, ensure_ascii=False, indent=2)
    except ValueError:
        text = response.text
    print(f"HTTP {response.status_code}\n{text}")


def main(argv: Sequence[str] | None = None) -> int:
    settings = PaymentsSettings()
    parser = argparse.ArgumentParser(
        prog="python -m services.payments.simulator", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("command", choices=["pay", "inquire"])
    parser.add_argument("number", help="the e-payment number (billing number)")
    parser.add_argument("--amount", type=int, help="fils to pay (default: the amount due)")
    parser.add_argument("--bad-signature", action="store_true", help="sign with a wrong secret")
    parser.add_argument("--stale", action="store_true", help="sign with an old timestamp")
    parser.add_argument("--transaction-id", help="the provider's JOEBPPSTrx (default: new)")
    parser.add_argument("--url", default=os.environ.get("PAYMENTS_URL", DEFAULT_URL))
    parser.add_argument(
        "--secret",
        default=os.environ.get("PAYMENTS_EFAWATEERCOM_SECRET", DEVELOPMENT_PROVIDER_SECRET),
    )
    parser.add_argument("--biller-code", default=settings.payments_biller_code)
    parser.add_argument("--channel", default="Internet", help="AccessChannel, e.g. Mobile, ATM")
    args = parser.parse_args(argv)

    secret = args.secret.encode()
    now = services_clock(settings).now()
    timestamp = int(now.timestamp()) - (STALE_BY_SECONDS if args.stale else 0)
    with httpx.Client(base_url=args.url, timeout=10) as client:
        inquiry = _post(
            client,
            "/bill-inquiries",
            inquiry_body(args.number, biller_code=args.biller_code),
            secret,
            int(now.timestamp()),
        )
        if args.command == "inquire" or inquiry.status_code != 200:
            _print(inquiry)
            return 0 if inquiry.is_success else 1
        bill = inquiry.json()
        due_fils = int(Decimal(bill["DueAmount"]) * 1000)
        body = notification_body(
            args.number,
            amount_fils=due_fils if args.amount is None else args.amount,
            due_fils=due_fils,
            biller_code=args.biller_code,
            service_type=bill["ServiceType"],
            transaction_id=args.transaction_id,
            paid_at=now,
            channel=args.channel,
        )
        if args.bad_signature:
            secret = b"not-" + secret
        response = _post(client, "/payment-notifications", body, secret, timestamp)
    _print(response)
    return 0 if response.is_success else 1


if __name__ == "__main__":
    sys.exit(main())
