"""Fixtures of the contractors end-to-end tests: contractors, payments and notifier run as real
processes on the real broker and database, in a RabbitMQ virtual host of the test's own, each
with its own database and one shared `CLOCK_FILE` (`platform.move_clock(instant)`).

The notifier sends through its HTTP gateway to a fake SMS provider in this process: that is the
applicant's phone, where the one-time code is read as a person reads it (the notifier's API shows
a code masked, by design). Every other SMS is read from the notifier's message list.

The registry is imported at start through the registrar's API (`REGISTRY_CSV`).
"""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from tests.integration.conftest import ServiceProcess, eventually
from tests.integration.notifier.provider import FakeProvider
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

__all__ = ["FREE", "PAID", "PAID_OLD", "PREFIX", "SUSPENDED", "Published", "StartPlatform", "local"]

PROVIDER_SECRET = "contractors-integration-efawateercom-secret-0123456789"
REVIEWER = "contractors.reviewer"
REGISTRAR = "contractors.registrar"
FILE_CLOCK_RECHECK_SECONDS = 0.3
PREFIX = "أمانة عمّان الكبرى: "

# buildings/3 pays 100 JOD, maintenance is free (services/contractors/fees.json).
REGISTRY_CSV = """contractor_number,name_ar,name_en,classification,category,phone,permit_number,\
permit_year,valid_from,valid_to,permit_status
C-10234,مؤسسة النور للمقاولات,Al-Noor Contracting Est.,buildings,3,0791234567,P-2026-0112,2026,\
2026-01-01,2026-12-31,active
C-10234,مؤسسة النور للمقاولات,Al-Noor Contracting Est.,buildings,3,0791234567,P-2025-0456,2025,\
2025-01-01,2025-12-31,active
C-30555,مؤسسة الصيانة الحديثة,Modern Maintenance Est.,maintenance,5,,P-2025-1201,2025,\
2025-06-01,2026-05-31,active
C-40017,شركة الوادي للمقاولات,Al-Wadi Contracting Co.,buildings,1,,P-2024-0077,2024,\
2024-01-01,2024-12-31,suspended
"""
PAID = {"contractor_number": "C-10234", "permit_number": "P-2026-0112", "permit_year": 2026}
PAID_OLD = {"contractor_number": "C-10234", "permit_number": "P-2025-0456", "permit_year": 2025}
FREE = {"contractor_number": "C-30555", "permit_number": "P-2025-1201", "permit_year": 2025}
SUSPENDED = {"contractor_number": "C-40017", "permit_number": "P-2024-0077", "permit_year": 2024}


def random_phone() -> str:
    """A Zain number in E.164, clear of the log gateway's reserved numbers."""
    return f"+96279{random.randint(2_000_000, 9_999_999)}"


def local(phone: str) -> str:
    """`+962791234567` as a person types it: `0791234567`."""
    return "0" + phone.removeprefix("+962")


@pytest.fixture
async def broker(infra: Any) -> AsyncIterator[Broker]:
    async with isolated_broker(infra.amqp_url, f"contractors-{uuid.uuid4().hex[:8]}") as isolated:
        yield isolated


@pytest.fixture
async def published(broker: Broker) -> AsyncIterator[Published]:
    async with recording(broker.connection, "contractors.#", "payments.bill.#") as seen:
        yield seen


@pytest.fixture
async def provider() -> AsyncIterator[FakeProvider]:
    fake = FakeProvider()
    await fake.start()
    yield fake
    await fake.stop()


@dataclass(kw_only=True)
class Platform(BasePlatform):
    provider: FakeProvider
    CLOCK_SETTLE_SECONDS: ClassVar[float] = FILE_CLOCK_RECHECK_SECONDS
    PROVIDER_SECRET: ClassVar[str] = PROVIDER_SECRET

    @property
    def contractors(self) -> ServiceProcess:
        return self.service

    # ---- who calls ---------------------------------------------------------------------------

    def citizen(self, name: str = "citizen-1") -> str:
        return self.token_for(name, "citizen")

    def reviewer(self) -> str:
        return self.token_for("reviewer-1", REVIEWER)

    def registrar(self) -> str:
        return self.token_for("registrar-1", REGISTRAR)

    def staff_token(self) -> str:
        return self.reviewer()

    async def call(  # type: ignore[override]
        self, method: str, path: str, token: str | None = None, body: Any = None, **options: Any
    ) -> httpx.Response:
        """Call contractors: keyword arguments go to httpx as they are."""
        return await http(self.contractors.url, method, path, token, body, **options)

    # ---- the renewal, as the applicant does it ---------------------------------------------------

    async def send_code(
        self, token: str, phone: str, permit: dict[str, Any] = PAID, lang: str = "ar"
    ) -> httpx.Response:
        return await self.call(
            "POST", "/v1/verifications", token, {**permit, "phone": local(phone), "lang": lang}
        )

    async def code_on(self, phone: str, count: int = 1) -> str:
        """The code in the `count`-th SMS the phone received, read as the applicant reads it."""

        async def arrived() -> bool:
            return len(self.provider.to(phone)) >= count

        await eventually(arrived, message=f"{count} SMS to {phone}")
        text = self.provider.to(phone)[count - 1].text
        match = re.search(r"(?:هو|is) (\d{4,10})", text)
        assert match, text
        return match.group(1)

    def form(
        self,
        phone: str,
        verification_id: str,
        code: str,
        permit: dict[str, Any] = PAID,
        **more: Any,
    ) -> dict[str, Any]:
        return {
            **permit,
            "reason": "انتهاء مدة التصريح",
            "phone": local(phone),
            "verification_id": verification_id,
            "code": code,
            "lang": "ar",
            **more,
        }

    async def submit_form(self, token: str, body: dict[str, Any], key: str | None = None) -> Any:
        headers = {"Idempotency-Key": key or uuid.uuid4().hex}
        return await self.call("POST", "/v1/requests", token, body, headers=headers)

    async def renewal(
        self, token: str, permit: dict[str, Any] = PAID, lang: str = "ar"
    ) -> dict[str, Any]:
        """Steps 1 and 2 as a person does them: lookup, code to the phone, submit."""
        phone = random_phone()
        assert (await self.call("POST", "/v1/lookups", token, permit)).status_code == 200
        sent = await self.send_code(token, phone, permit, lang)
        assert sent.status_code == 201, sent.text
        code = await self.code_on(phone)
        response = await self.submit_form(
            token, self.form(phone, sent.json()["verification_id"], code, permit, lang=lang)
        )
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def inquiry(self, number: str, token: str | None = None) -> dict[str, Any]:
        return await self.request(number, token)

    async def reaches(self, number: str, status: str, timeout: float = 20) -> dict[str, Any]:
        return await self.status_becomes(number, status, timeout)

    async def decide(self, number: str, action: str, body: Any = None) -> dict[str, Any]:
        response = await self.call(
            "POST", f"/v1/requests/{number}/{action}", self.reviewer(), body or {}
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def permit(self, contractor: str, number: str) -> dict[str, Any]:
        response = await self.call(
            "GET", f"/v1/registry/contractors/{contractor}", self.registrar()
        )
        assert response.status_code == 200, response.text
        permit: dict[str, Any] = next(
            p for p in response.json()["permits"] if p["permit_number"] == number
        )
        return permit

    # ---- the SMS and the payment provider ----------------------------------------------------

    async def sms(self, number: str, count: int, timeout: float = 20) -> list[str]:
        """The texts of the request's SMS, oldest first, once there are `count` of them."""
        return await self.sms_in_order(number, count, timeout)

    async def e_payment_number(self, number: str) -> str:
        texts = await self.sms(number, 2)  # the request number, then the bill
        return e_payment_number_in(texts[1])

    async def pay(self, number: str) -> httpx.Response:
        assert self.payments is not None
        return await self.pay_as_provider(await self.e_payment_number(number))


StartPlatform = Callable[..., Awaitable[Platform]]


@pytest.fixture
async def start_platform(
    broker: Broker,
    start_service: Any,
    tmp_path: Path,
    mongo: Any,
    database_name: str,
    token_for: Any,
    provider: FakeProvider,
) -> AsyncIterator[StartPlatform]:
    async def start(*, payments: bool = True, **settings: str) -> Platform:
        clock_file = tmp_path / "clock"
        shared = {"CLOCK_FILE": str(clock_file), "AMQP_URL": broker.url}
        contractors = start_service(
            "services.contractors",
            **shared,
            MONGO_DATABASE=f"{database_name}_contractors",
            **settings,
        )
        payments_process, notifier = start_companions(
            start_service,
            database_name,
            shared,
            payments_secret=PROVIDER_SECRET if payments else None,
            notifier_env={
                "NOTIFIER_GATEWAY": "http",
                "NOTIFIER_HTTP_URL": provider.url,
                "NOTIFIER_HTTP_TOKEN": "test-provider-token",
                **NOTIFIER_PER_TEST_ENV,
            },
        )
        assert notifier is not None
        started = [p for p in (contractors, payments_process, notifier) if p is not None]
        await asyncio.gather(*(process.wait_ready() for process in started))
        platform = Platform(
            service=contractors,
            payments=payments_process,
            notifier=notifier,
            provider=provider,
            clock_file=clock_file,
            token_for=token_for,
            connection=broker.connection,
            database=mongo[f"{database_name}_contractors"],
        )
        imported = await platform.call(
            "POST",
            "/v1/registry/imports",
            platform.registrar(),
            content=REGISTRY_CSV.encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert imported.status_code == 200, imported.text
        return platform

    yield start
