"""Fixtures of the exams end-to-end tests: exams, payments and notifier run as real processes on
the real broker and database, as a person would try them.

- `broker`: a RabbitMQ virtual host of the test's own. The three processes are a whole platform,
  and on the shared exchange any other run's payments process would bill this test's requests
  too (and could expire "its" bill, cancelling this test's request), so each test gets its own
  `amman.events`. Where the broker has no management API, the shared virtual host is used.
- `start_platform(...)`: starts the processes a test needs (exams alone, or with payments and the
  notifier), each with its own database, on the test's virtual host, with one shared
  `CLOCK_FILE` (`platform.move_clock(instant)` moves all three). Exams reads a test catalogue in
  which the official ICDL Documents exam needs only 2 candidates, so two citizens fill a session.
- `Platform`: the exams API as citizens and coordinators call it; the SMS as the notifier's
  message list shows them; the payment provider paying a bill by its e-payment number, signed
  with the payments simulator's own functions.
- `published`: every `exams.*` and `payments.bill.*` event published while the test runs, with
  its raw body, so a test can deliver one again.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from contracts import Applicant, BillPaid, new_event
from services.common.calendar import WorkingCalendar
from services.common.clock import set_file_clock
from services.common.formatting import AMMAN
from services.exams import catalogue as exam_catalogue
from tests.integration.conftest import ServiceProcess
from tests.integration.platform import (
    NOTIFIER_PER_TEST_ENV,
    BasePlatform,
    Broker,
    Published,
    e_payment_number_in,
    http,
    isolated_broker,
    recording,
    start_companions,
)

__all__ = ["OFFICIAL", "TRIAL", "Published", "StartPlatform", "form", "next_exam_time"]

PROVIDER_SECRET = "exams-integration-efawateercom-secret-0123456789"
COORDINATOR = "exams.coordinator"
OFFICIAL = "icdl-documents"
TRIAL = "icdl-practice"
CALENDAR = WorkingCalendar()
FILE_CLOCK_RECHECK_SECONDS = 0.3


def form(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "exam_type": "trial",
        "exam_code": TRIAL,
        "applicant_name": "ليلى أحمد الحداد",
        "id_type": "national_number",
        "id_number": "9871012345",
        "phone": f"079{random.randint(2_000_000, 9_999_999)}",
        "lang": "ar",
    }
    body.update(changes)
    if body["exam_code"] == OFFICIAL and "exam_type" not in changes:
        body["exam_type"] = "official"
    return body


@pytest.fixture
async def broker(infra: Any) -> AsyncIterator[Broker]:
    async with isolated_broker(infra.amqp_url, f"exams-{uuid.uuid4().hex[:8]}") as isolated:
        yield isolated


@pytest.fixture
async def published(broker: Broker) -> AsyncIterator[Published]:
    async with recording(broker.connection, "exams.#", "payments.bill.#") as seen:
        yield seen


@dataclass(kw_only=True)
class Platform(BasePlatform):
    CLOCK_SETTLE_SECONDS: ClassVar[float] = FILE_CLOCK_RECHECK_SECONDS
    PROVIDER_SECRET: ClassVar[str] = PROVIDER_SECRET

    @property
    def exams(self) -> ServiceProcess:
        return self.service

    # ---- who calls ---------------------------------------------------------------------------

    def citizen(self, name: str = "citizen-1") -> str:
        return self.token_for(name, "citizen")

    def coordinator(self, name: str = "coordinator-1") -> str:
        return self.token_for(name, COORDINATOR)

    def staff_token(self) -> str:
        return self.coordinator()

    # ---- the exams API -----------------------------------------------------------------------

    async def call(  # type: ignore[override]
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        **options: Any,
    ) -> httpx.Response:
        """Call exams: keyword arguments go to httpx as they are."""
        return await http(self.exams.url, method, path, token, body, **options)

    async def submit(self, token: str, **changes: Any) -> dict[str, Any]:
        response = await self.call("POST", "/v1/requests", token, form(**changes))
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def inquiry(self, number: str, token: str | None = None) -> dict[str, Any]:
        return await self.request(number, token)

    async def reaches(self, number: str, status: str, timeout: float = 20) -> dict[str, Any]:
        return await self.status_becomes(number, status, timeout)

    async def act(
        self, number: str, action: str, body: Any = None, token: str | None = None
    ) -> Any:
        response = await self.call(
            "POST", f"/v1/requests/{number}/{action}", token or self.coordinator(), body or {}
        )
        assert response.status_code == 200, response.text
        return response.json()

    # ---- the SMS and the payment provider ----------------------------------------------------

    async def sms(self, number: str, count: int, timeout: float = 20) -> list[str]:
        """The texts of the request's SMS, oldest first, once there are `count` of them."""
        return await self.sms_in_order(number, count, timeout)

    async def e_payment_number(self, number: str) -> str:
        """The e-payment number, read from the bill's SMS as the applicant reads it."""
        return e_payment_number_in((await self.sms(number, 1))[0])  # a request's first SMS

    async def pay(self, number: str) -> httpx.Response:
        """Pay a request's bill the way eFAWATEERcom does (inquiry, then notification)."""
        assert self.payments is not None
        return await self.pay_as_provider(await self.e_payment_number(number))

    # ---- the broker --------------------------------------------------------------------------

    async def bill_paid(self, number: str, amount_fils: int) -> None:
        """Publish the `payments.bill.paid.v1` payments would publish for the request's fee
        (for tests that run exams alone)."""
        data = BillPaid(
            payment_reference=f"exams:{number}:fee",
            request_number=number,
            e_payment_number="2026000123457",
            amount_fils=amount_fils,
            paid_at=self.now(),
            applicant=Applicant(name="ليلى أحمد الحداد", phone="+962791234567"),
            provider="efawateercom",
        )
        event = new_event(
            "payments.bill.paid.v1",
            data,
            source_service="payments",
            subject=number,
            time=self.now(),
        )
        await self.publish(event)


def next_exam_time(after: datetime, days: int = 2, hour: int = 10) -> datetime:
    """10:00 in Amman on a working day at least `days` days after `after`."""
    day = CALENDAR.add_working_days(CALENDAR.local_date(after), days)
    return datetime.combine(day, time(hour), tzinfo=AMMAN).astimezone(UTC)


def write_test_catalogue(directory: Path) -> Path:
    """The shipped catalogue, with sessions of ICDL Documents filled by 2 candidates."""
    raw = json.loads(exam_catalogue.DEFAULT_FILE.read_text(encoding="utf-8"))
    for exam in raw["exams"]:
        if exam["code"] == OFFICIAL:
            exam["min_candidates"], exam["seats"] = 2, 3
    path = directory / "catalogue.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return path


StartPlatform = Callable[..., Awaitable[Platform]]


@pytest.fixture
async def start_platform(
    broker: Broker,  # first: its virtual host outlives the processes that use it
    start_service: Any,
    tmp_path: Path,
    mongo: Any,
    database_name: str,
    token_for: Any,
) -> AsyncIterator[StartPlatform]:
    processes: list[ServiceProcess] = []

    async def start(
        *, payments: bool = True, notifier: bool = True, at: datetime | None = None
    ) -> Platform:
        clock_file = tmp_path / "clock"
        if at is not None:
            set_file_clock(clock_file, at)
        database = mongo[f"{database_name}_exams"]
        shared = {"CLOCK_FILE": str(clock_file), "AMQP_URL": broker.url}
        exams = start_service(
            "services.exams",
            **shared,
            MONGO_DATABASE=f"{database_name}_exams",
            EXAMS_CATALOGUE_FILE=str(write_test_catalogue(tmp_path)),
        )
        payments_process, notifier_process = start_companions(
            start_service,
            database_name,
            shared,
            payments_secret=PROVIDER_SECRET if payments else None,
            notifier_env=NOTIFIER_PER_TEST_ENV if notifier else None,
        )
        started = [p for p in (exams, payments_process, notifier_process) if p is not None]
        processes.extend(started)
        await asyncio.gather(*(process.wait_ready() for process in started))
        platform = Platform(
            service=exams,
            payments=payments_process,
            notifier=notifier_process,
            clock_file=clock_file,
            database=database,
            token_for=token_for,
            connection=broker.connection,
        )
        if at is not None:
            platform.offset = datetime.now(UTC) - at
        return platform

    yield start
    for process in processes:
        process.terminate(timeout=20)
