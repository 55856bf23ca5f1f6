"""The training service end to end: training, payments and the notifier as real processes.

One set of the three processes serves the whole package (each test makes its own applicants and
requests, so they do not meet); each process has its own database. They talk on a RabbitMQ virtual
host of their own, so that no other suite's payments process bills our requests or expires our
bills. Training and payments read one clock file, so a test moves their time together
(`platform.move_clock`); tests that move it run in time order (each moves further ahead). SMS
are read back from the notifier's API, as a person would.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aio_pika
import httpx
import pytest

from contracts import CloudEvent
from services.common.calendar import WorkingCalendar
from services.common.clock import set_file_clock
from services.common.devtoken import mint_token
from services.payments import simulator
from tests.integration.conftest import Infra, ServiceProcess, delete_suffixed_queues, eventually
from tests.integration.helpers import bearer, create_vhost, delete_vhost

SECRET = "integration-test-efawateercom-secret-0123456789"
BILLER_CODE = "106"
REVIEWER = "training.reviewer"
SUPERVISOR = "training.supervisor"
NOTIFIER_STAFF = "notifier.staff"
AMMAN = ZoneInfo("Asia/Amman")
CALENDAR = WorkingCalendar()
PDF = b"%PDF-1.7\n" + b"signed and stamped letter " * 40
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 400
_serial = itertools.count(1)


@dataclass
class Platform:
    training: ServiceProcess
    payments: ServiceProcess
    notifier: ServiceProcess
    clock_file: Path
    private_key: str
    offset: timedelta = timedelta(0)
    connection: aio_pika.abc.AbstractRobustConnection | None = None
    published: list[CloudEvent] = field(default_factory=list)

    async def publish(self, event: CloudEvent, *, message_id: str | None = None) -> None:
        """Publish an event on the platform's exchange, as its producer would."""
        assert self.connection is not None
        channel = await self.connection.channel()
        try:
            exchange = await channel.get_exchange("amman.events")
            await exchange.publish(
                aio_pika.Message(
                    event.to_json(),
                    message_id=message_id or event.id,
                    content_type="application/cloudevents+json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=event.routing_key,
            )
        finally:
            await channel.close()

    # ---- time ------------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC) - self.offset

    def today(self) -> date:
        return self.now().astimezone(AMMAN).date()

    def working_day(self, after_days: int) -> date:
        """The first working day at least `after_days` days after today (Amman)."""
        day = self.today() + timedelta(days=after_days)
        return day if CALENDAR.is_working_day(day) else CALENDAR.next_working_day(day)

    async def move_clock(self, instant: datetime) -> None:
        """Training's and payments' time jumps to `instant` (and runs on from there)."""
        self.offset = datetime.now(UTC) - instant
        set_file_clock(self.clock_file, instant)
        await asyncio.sleep(0.6)  # FileClock re-reads the file at most every 0.2 s

    async def move_to_day(self, day: date, hour: int = 10) -> None:
        """Move the shared clock to `hour` o'clock (Amman) on `day`, never backwards."""
        instant = datetime(day.year, day.month, day.day, hour, tzinfo=AMMAN).astimezone(UTC)
        assert instant >= self.now() - timedelta(seconds=5), "tests move the clock forward only"
        await self.move_clock(instant)

    # ---- identities ------------------------------------------------------------------------

    def token(self, subject: str, *roles: str) -> str:
        return mint_token(subject, roles or ("citizen",), private_key_pem=self.private_key)

    @property
    def reviewer(self) -> str:
        return self.token("reviewer-1", REVIEWER)

    @property
    def supervisor(self) -> str:
        return self.token("supervisor-1", SUPERVISOR)

    # ---- HTTP ------------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        token: str | None,
        body: Any = None,
        *,
        service: ServiceProcess | None = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> httpx.Response:
        target = service or self.training
        async with httpx.AsyncClient(base_url=target.url, timeout=30) as client:
            return await client.request(
                method,
                path,
                json=body,
                params=params or None,
                headers={**(bearer(token) if token else {}), **(headers or {})},
            )

    # ---- applicants and requests -----------------------------------------------------------

    def applicant(self, lang: str = "ar") -> tuple[str, dict[str, str]]:
        """A fresh citizen: (their JWT subject, the applicant fields of the form)."""
        serial = next(_serial)
        subject = f"citizen-{uuid.uuid4().hex[:8]}"
        phone = f"+96279{(uuid.uuid4().int + serial) % 10**7:07d}"
        if phone in ("+962790000002", "+962790000003", "+962790000004"):
            phone = "+962791111111"
        return subject, {
            "name": "سامي خالد",
            "phone": phone,
            "lang": lang,
            "national_id": f"99{uuid.uuid4().int % 10**8:08d}",
        }

    def student_form(self, **changes: Any) -> dict[str, str]:
        """A student nominated by a university, training in the IT department (free)."""
        start = self.working_day(14)
        form = {
            "kind": "training",
            "applicant_type": "nominated",
            "institution_type": "university",
            "institution_name": "الجامعة الأردنية",
            "department_code": "information_technology",
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=27)).isoformat(),
        }
        return {**form, **{k: str(v) for k, v in changes.items() if v is not None}}

    def gis_form(self, course: str = "arcgis_pro", **changes: Any) -> dict[str, str]:
        """An individual training in the GIS department: a paid course."""
        start = self.working_day(14)
        form = {
            "kind": "training",
            "applicant_type": "individual",
            "certificate_type": "bachelor",
            "department_code": "gis",
            "course_code": course,
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=13)).isoformat(),
        }
        return {**form, **{k: str(v) for k, v in changes.items() if v is not None}}

    def mission_form(self, **changes: Any) -> dict[str, str]:
        start = self.working_day(14)
        form = {
            "kind": "mission",
            "applicant_type": "nominated",
            "institution_type": "university",
            "institution_name": "جامعة البلقاء التطبيقية",
            "department_code": "planning",
            "study_subject": "استخدام النقل العام في شرق عمّان",
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=20)).isoformat(),
        }
        return {**form, **{k: str(v) for k, v in changes.items() if v is not None}}

    async def post_form(
        self,
        subject: str,
        form: dict[str, str],
        data: bytes = PDF,
        content_type: str = "application/pdf",
        *,
        key: str | None = None,
        token: str | None = None,
    ) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.training.url, timeout=30) as client:
            return await client.post(
                "/v1/requests",
                data=form,
                files={"attachment": ("document.pdf", data, content_type)},
                headers={
                    **bearer(token or self.token(subject)),
                    "Idempotency-Key": key or uuid.uuid4().hex,
                },
            )

    async def submitted(
        self, form: dict[str, str], lang: str = "ar"
    ) -> tuple[str, str, dict[str, str]]:
        """A new applicant's request: (request number, subject, applicant fields)."""
        subject, applicant = self.applicant(lang)
        response = await self.post_form(subject, {**form, **applicant})
        assert response.status_code == 201, response.text
        return response.json()["number"], subject, applicant

    async def upload(
        self, number: str, token: str, data: bytes, content_type: str
    ) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.training.url, timeout=30) as client:
            return await client.put(
                f"/v1/requests/{number}/attachment",
                headers=bearer(token),
                files={"attachment": ("corrected.pdf", data, content_type)},
            )

    async def request(self, number: str, token: str | None = None) -> dict[str, Any]:
        response = await self.call("GET", f"/v1/requests/{number}", token or self.reviewer)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def status_becomes(self, number: str, status: str, timeout: float = 20) -> dict[str, Any]:
        async def reached() -> dict[str, Any] | None:
            found = await self.request(number)
            return found if found["status"] == status else None

        result: dict[str, Any] = await eventually(
            reached, timeout=timeout, message=f"{number} becomes {status}"
        )
        return result

    async def act(self, number: str, action: str, token: str, body: Any) -> dict[str, Any]:
        response = await self.call("POST", f"/v1/requests/{number}/{action}", token, body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def approve(self, number: str) -> dict[str, Any]:
        return await self.act(number, "approve", self.reviewer, {})

    async def attendance(self, number: str, attended: bool) -> dict[str, Any]:
        return await self.act(number, "attendance", self.supervisor, {"attended": attended})

    # ---- SMS (the notifier) ----------------------------------------------------------------

    async def messages(self, number: str) -> list[dict[str, Any]]:
        response = await self.call(
            "GET",
            "/v1/messages",
            self.token("notifier-staff", NOTIFIER_STAFF),
            service=self.notifier,
            request_number=number,
            limit=100,
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def sms(self, number: str, template: str, timeout: float = 25) -> str:
        """The text of the one SMS sent for `number` from `template` (waits for it)."""

        async def sent() -> list[dict[str, Any]]:
            return [m for m in await self.messages(number) if m["template"] == template]

        found = await eventually(sent, timeout=timeout, message=f"SMS {template} for {number}")
        assert len(found) == 1, found
        text: str = found[0]["text"]
        return text

    async def templates(self, number: str) -> list[str]:
        return sorted(m["template"] for m in await self.messages(number))

    # ---- payments --------------------------------------------------------------------------

    async def bill(self, number: str, subject: str) -> dict[str, Any]:
        async def issued() -> list[dict[str, Any]]:
            response = await self.call(
                "GET", "/v1/bills", self.token(subject), service=self.payments
            )
            return [b for b in response.json()["items"] if b["request_number"] == number]

        bills = await eventually(issued, message=f"bill of {number}")
        bill: dict[str, Any] = bills[0]
        return bill

    async def pay(self, e_payment_number: str, amount_fils: int) -> None:
        body = simulator.notification_body(
            e_payment_number,
            amount_fils=amount_fils,
            due_fils=amount_fils,
            biller_code=BILLER_CODE,
            service_type="TRAINING",
            paid_at=self.now(),
        )
        headers = simulator.signed_headers(
            body, SECRET.encode(), timestamp=int(self.now().timestamp())
        )
        async with httpx.AsyncClient(base_url=self.payments.url, timeout=15) as client:
            response = await client.post(
                simulator.PREFIX + "/payment-notifications", content=body, headers=headers
            )
        assert response.status_code == 200, response.text

    async def paid_gis_request(self, lang: str = "ar") -> tuple[str, str, dict[str, Any]]:
        """An individual's GIS training, approved and paid: (number, subject, request)."""
        number, subject, _ = await self.submitted(self.gis_form(), lang)
        await self.approve(number)
        bill = await self.bill(number, subject)
        await self.pay(bill["e_payment_number"], bill["amount_fils"])
        found = await self.status_becomes(number, "approved")
        return number, subject, found


@pytest.fixture(scope="package")
async def platform(
    infra: Infra,
    jwt_keys: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    amqp: aio_pika.abc.AbstractRobustConnection,
    mongo: Any,
) -> AsyncIterator[Platform]:
    import os

    folder = tmp_path_factory.mktemp("training-e2e")
    clock_file = folder / "clock"
    set_file_clock(clock_file, datetime.now(UTC))
    suffix = uuid.uuid4().hex[:8]
    database = f"t_{uuid.uuid4().hex[:10]}"
    vhost = f"training-{suffix}"
    amqp_url = await create_vhost(infra.amqp_url, vhost) or infra.amqp_url
    common = {
        "ENVIRONMENT": "test",
        "AMQP_URL": amqp_url,
        "MONGO_URL": infra.mongo_url,
        "QUEUE_TYPE": os.environ.get("QUEUE_TYPE", "classic"),
        "QUEUE_SUFFIX": suffix,
        "JWT_PUBLIC_KEY": jwt_keys[1],
        "OUTBOX_POLL_SECONDS": "0.5",
        "SWEEPER_POLL_SECONDS": "0.3",
        "LOG_LEVEL": "INFO",
    }

    def process(module: str, **env: str) -> ServiceProcess:
        name = module.rsplit(".", 1)[-1]
        merged = {**common, "MONGO_DATABASE": f"{database}_{name}", **env}
        return ServiceProcess(module, merged, folder / f"{name}.log").start()

    training = process("services.training", CLOCK_FILE=str(clock_file))
    payments = process(
        "services.payments",
        CLOCK_FILE=str(clock_file),
        PAYMENTS_EFAWATEERCOM_SECRET=SECRET,
        PAYMENTS_BILLER_CODE=BILLER_CODE,
    )
    notifier = process(
        "services.notifier",
        NOTIFIER_SEND_WORKERS="2",
        NOTIFIER_SEND_POLL_SECONDS="0.1",
        NOTIFIER_RATE_LIMIT_PER_SECOND="200",
    )
    started = [training, payments, notifier]
    connection: aio_pika.abc.AbstractRobustConnection | None = None
    try:
        for service in started:
            await service.wait_ready()
        connection = await aio_pika.connect_robust(amqp_url)
        yield Platform(training, payments, notifier, clock_file, jwt_keys[0], connection=connection)
    finally:
        for service in started:
            service.terminate(timeout=20)
        if connection is not None:
            await connection.close()
        if amqp_url == infra.amqp_url:
            await delete_suffixed_queues(amqp, suffix)
        else:
            await delete_vhost(infra.amqp_url, vhost)
        for name in ("training", "payments", "notifier"):
            await mongo.drop_database(f"{database}_{name}")
