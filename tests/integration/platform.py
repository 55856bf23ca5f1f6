"""What the end-to-end suites of the municipal services share: a "platform" of real processes.

Each of the five service suites (exams, courses, licensing, contractors, training) runs its
service with payments and the notifier as real processes, in a RabbitMQ virtual host of its own,
each process with its own database, all reading one clock file. This module holds the machinery
that does not depend on the service:

- `isolated_broker(...)`: the virtual host (and a connection into it, `amman.events` declared);
  `recording(connection, *patterns)`: the events seen on the exchange (`Published`).
- `running_platform(...)`: a whole platform for a package of tests (service, payments, notifier),
  stopped and cleaned up (processes, vhost or queues, databases) when the package ends. Suites
  that start a platform per test use `start_service` (tests/integration/conftest.py) with
  `payments_env(...)` and `isolated_broker(...)` instead.
- `BasePlatform`: the helpers a test calls on any platform: time (`now`, `move_clock`), tokens,
  HTTP with a bearer token (`call`), the request's state (`request`, `status_becomes`), SMS read
  back from the notifier's API (`messages`, `sms_of`, `sms_in_order`, `templates`), bills and
  paying them as eFAWATEERcom does (`bill`, `notify_payment`, `pay_as_provider`), and the broker
  (`publish`, `deliver_again`, `consumed`, `metric`).

Each suite's conftest subclasses `BasePlatform` with its service's roles, endpoints and domain
helpers only.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Self

import aio_pika
import httpx
import pytest

from contracts import CloudEvent
from services.common.clock import set_file_clock
from services.payments import simulator
from tests.integration.codekeys import CODE_PRIVATE_KEY, CODE_PUBLIC_KEY
from tests.integration.conftest import ServiceProcess, delete_suffixed_queues, eventually
from tests.integration.helpers import bearer, create_vhost, delete_vhost, metric, publish_raw

BILLER_CODE = "106"
NOTIFIER_STAFF = "notifier.staff"
EXCHANGE = "amman.events"


# ---- HTTP ---------------------------------------------------------------------------------------


async def http(
    url: str,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 15,
    **options: Any,
) -> httpx.Response:
    """One request to a process: `body` as JSON, with a bearer token when one is given;
    `options` go to httpx as they are (params, content, files, data)."""
    async with httpx.AsyncClient(base_url=url, timeout=timeout) as client:
        return await client.request(
            method,
            path,
            json=body,
            headers={**(bearer(token) if token else {}), **(headers or {})},
            **options,
        )


def e_payment_number_in(text: str) -> str:
    """The e-payment number in a bill's SMS, read as the applicant reads it (ar or en)."""
    match = re.search(r"هو (\d+)", text) or re.search(r"is (\d+)", text)
    assert match, text
    return match.group(1)


_serial = itertools.count(1)
# Numbers the notifier's log gateway treats specially (it fails or stalls on them).
RESERVED_PHONES = ("+962790000002", "+962790000003", "+962790000004")


def fresh_phone() -> str:
    """A Zain mobile number in E.164 that no other test of the run is likely to use, clear of
    the log gateway's reserved numbers."""
    phone = f"+96279{(uuid.uuid4().int + next(_serial)) % 10**7:07d}"
    return "+962791111111" if phone in RESERVED_PHONES else phone


def fresh_subject() -> str:
    """A new citizen's JWT subject."""
    return f"citizen-{uuid.uuid4().hex[:8]}"


# ---- the broker ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Broker:
    """A virtual host of the suite's own (`isolated`), or the shared one where the broker has no
    management API, and a connection into it."""

    url: str
    connection: aio_pika.abc.AbstractRobustConnection
    isolated: bool = True


@asynccontextmanager
async def isolated_broker(
    amqp_url: str, name: str, *, required: bool = False
) -> AsyncIterator[Broker]:
    """A RabbitMQ virtual host called `name`, with `amman.events` declared as the services
    declare it (so a test can bind to it before they start); deleted afterwards. With
    `required`, fail where no virtual host can be made instead of using the shared one."""
    vhost_url = await create_vhost(amqp_url, name)
    if required:
        assert vhost_url is not None, f"{name}: the suite needs a RabbitMQ virtual host of its own"
    url = vhost_url or amqp_url
    connection = await aio_pika.connect_robust(url)
    try:
        channel = await connection.channel()
        await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        await channel.close()
        yield Broker(url, connection, isolated=vhost_url is not None)
    finally:
        await connection.close()
        if vhost_url is not None:
            await delete_vhost(amqp_url, name)


@dataclass
class Published:
    """Events seen on `amman.events` while the tests run: (routing key, body), in arrival order."""

    events: list[tuple[str, bytes]] = field(default_factory=list)

    def of(self, routing_key: str, subject: str) -> list[bytes]:
        return [
            body
            for key, body in self.events
            if key == routing_key and json.loads(body).get("subject") == subject
        ]

    def count(self, prefix: str, subject: str | None = None) -> int:
        """How many events whose routing key starts with `prefix` (and of `subject`) were seen."""
        return sum(
            1
            for key, body in self.events
            if key.startswith(prefix)
            and (subject is None or json.loads(body).get("subject") == subject)
        )

    async def one(self, routing_key: str, subject: str) -> bytes:
        async def seen() -> list[bytes]:
            return self.of(routing_key, subject)

        found: list[bytes] = await eventually(seen, message=f"{routing_key} of {subject}")
        return found[0]


@asynccontextmanager
async def recording(
    connection: aio_pika.abc.AbstractRobustConnection, *patterns: str
) -> AsyncIterator[Published]:
    """Record every event on `amman.events` whose routing key matches one of `patterns`."""
    channel = await connection.channel()
    try:
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for pattern in patterns:
            await queue.bind(EXCHANGE, routing_key=pattern)
        seen = Published()

        async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            seen.events.append((message.routing_key or "", message.body))
            await message.ack()

        await queue.consume(keep)
        yield seen
    finally:
        await channel.close()


# ---- the processes ------------------------------------------------------------------------------


def payments_env(secret: str, biller_code: str = BILLER_CODE) -> dict[str, str]:
    """The settings of a payments process whose provider signs with `secret`."""
    return {"PAYMENTS_EFAWATEERCOM_SECRET": secret, "PAYMENTS_BILLER_CODE": biller_code}


# The notifier of a package-wide platform: quick to send, never rate limited.
NOTIFIER_ENV = {
    "NOTIFIER_SEND_WORKERS": "2",
    "NOTIFIER_SEND_POLL_SECONDS": "0.1",
    "NOTIFIER_RATE_LIMIT_PER_SECOND": "200",
}


# The notifier of a platform started for one test.
NOTIFIER_PER_TEST_ENV = {
    "NOTIFIER_SEND_POLL_SECONDS": "0.05",
    "NOTIFIER_RATE_LIMIT_PER_SECOND": "200",
}


def start_companions(
    start_service: Callable[..., ServiceProcess],
    database_name: str,
    shared: Mapping[str, str],
    *,
    payments_secret: str | None,
    notifier_env: Mapping[str, str] | None,
) -> tuple[ServiceProcess | None, ServiceProcess | None]:
    """Start payments (unless `payments_secret` is None) and the notifier (unless `notifier_env`
    is None) for one test, through the `start_service` fixture, each with its database
    `<database_name>_<name>` and the `shared` settings (clock file, AMQP URL)."""
    payments = notifier = None
    if payments_secret is not None:
        payments = start_service(
            "services.payments",
            **shared,
            MONGO_DATABASE=f"{database_name}_payments",
            **payments_env(payments_secret),
        )
    if notifier_env is not None:
        notifier = start_service(
            "services.notifier",
            **shared,
            MONGO_DATABASE=f"{database_name}_notifier",
            **notifier_env,
        )
    return payments, notifier


@dataclass(frozen=True)
class Run:
    """The processes of a running platform, and what they share."""

    service: ServiceProcess
    payments: ServiceProcess
    notifier: ServiceProcess
    clock_file: Path
    connection: aio_pika.abc.AbstractRobustConnection
    published: Published | None
    database: Any  # the service's own database (pymongo), for tests that play a crash


@asynccontextmanager
async def running_platform(
    *,
    service: str,
    infra: Any,
    jwt_public_key: str,
    folder: Path,
    mongo: Any,
    amqp: aio_pika.abc.AbstractRobustConnection,
    payments_secret: str,
    prepare: Callable[[ServiceProcess], None] | None = None,
    record: tuple[str, ...] = (),
    require_vhost: bool = False,
    clock_from_now: bool = False,
) -> AsyncIterator[Run]:
    """`services.<service>`, payments and the notifier, for a whole package of tests.

    They talk on a virtual host of their own (`<service>-<suffix>`; on the shared one, with queue
    names of their own, where the broker has no management API, unless `require_vhost`), each
    has its own database, and the service and payments read one clock file (written with the
    time now first, with `clock_from_now`; else they run on real time until a test moves it).
    `prepare` may change the service's process (e.g. its environment, knowing its port) before
    it starts; `record` binds a `Published` recorder to those routing keys.
    """
    clock_file = folder / "clock"
    if clock_from_now:
        set_file_clock(clock_file, datetime.now(UTC))
    suffix = uuid.uuid4().hex[:8]
    database = f"t_{uuid.uuid4().hex[:10]}"
    common = {
        "ENVIRONMENT": "test",
        "MONGO_URL": infra.mongo_url,
        "QUEUE_TYPE": os.environ.get("QUEUE_TYPE", "classic"),
        "QUEUE_SUFFIX": suffix,
        "JWT_PUBLIC_KEY": jwt_public_key,
        "NOTIFIER_CODE_PUBLIC_KEY": CODE_PUBLIC_KEY,
        "OUTBOX_POLL_SECONDS": "0.5",
        "SWEEPER_POLL_SECONDS": "0.3",
        "LOG_LEVEL": "INFO",
    }
    async with AsyncExitStack() as stack:
        broker = await stack.enter_async_context(
            isolated_broker(infra.amqp_url, f"{service}-{suffix}", required=require_vhost)
        )
        published = (
            await stack.enter_async_context(recording(broker.connection, *record))
            if record
            else None
        )

        def process(module: str, **env: str) -> ServiceProcess:
            name = module.rsplit(".", 1)[-1]
            merged = {
                **common,
                "AMQP_URL": broker.url,
                "MONGO_DATABASE": f"{database}_{name}",
                **env,
            }
            return ServiceProcess(module, merged, folder / f"{name}.log")

        own = process(f"services.{service}", CLOCK_FILE=str(clock_file))
        if prepare is not None:
            prepare(own)
        payments = process(
            "services.payments", CLOCK_FILE=str(clock_file), **payments_env(payments_secret)
        )
        notifier = process(
            "services.notifier", **NOTIFIER_ENV, NOTIFIER_CODE_PRIVATE_KEY=CODE_PRIVATE_KEY
        )
        started = [own, payments, notifier]
        try:
            for started_process in started:
                started_process.start()
            for started_process in started:
                await started_process.wait_ready()
            yield Run(
                own,
                payments,
                notifier,
                clock_file,
                broker.connection,
                published,
                mongo[f"{database}_{service}"],
            )
        finally:
            for started_process in started:
                started_process.terminate(timeout=20)
            if not broker.isolated:
                await delete_suffixed_queues(amqp, suffix)
            for name in (service, "payments", "notifier"):
                await mongo.drop_database(f"{database}_{name}")


def package_platform(platform_class: type[BasePlatform], service: str, **options: Any) -> Any:
    """The package-scoped fixture `platform` of a suite: `platform_class` on a
    `running_platform(service=service, **options)` (with its `published` recorder, if any)."""

    @pytest.fixture(scope="package", name="platform")
    async def platform(
        infra: Any,
        jwt_keys: tuple[str, str],
        token_for: Callable[..., str],
        tmp_path_factory: pytest.TempPathFactory,
        amqp: aio_pika.abc.AbstractRobustConnection,
        mongo: Any,
    ) -> AsyncIterator[BasePlatform]:
        async with running_platform(
            service=service,
            infra=infra,
            jwt_public_key=jwt_keys[1],
            folder=tmp_path_factory.mktemp(f"{service}-e2e"),
            mongo=mongo,
            amqp=amqp,
            **options,
        ) as run:
            more = {} if run.published is None else {"published": run.published}
            yield platform_class.of_run(run, token_for, **more)

    return platform


# ---- what a test calls --------------------------------------------------------------------------


@dataclass(kw_only=True)
class BasePlatform:
    """A running platform as a test uses it; each suite subclasses it with its own roles,
    endpoints and domain helpers (and names its service's process after the service)."""

    service: ServiceProcess
    payments: ServiceProcess | None
    notifier: ServiceProcess | None
    clock_file: Path
    token_for: Callable[..., str]
    connection: aio_pika.abc.AbstractRobustConnection | None = None
    database: Any = None
    # Real time minus the services' time, once the clock was moved.
    offset: timedelta = timedelta(0)

    # How long `move_clock` waits: a FileClock re-reads its file at most every 0.2 s
    # (services/common/clock.py), and nothing a test can ask a service reports its time.
    CLOCK_SETTLE_SECONDS: ClassVar[float] = 0.5
    # The `ServiceType` of this service's bills at the payment provider.
    SERVICE_TYPE: ClassVar[str] = ""
    PROVIDER_SECRET: ClassVar[str] = ""
    BILLER_CODE: ClassVar[str] = BILLER_CODE
    CALL_TIMEOUT: ClassVar[float] = 30

    @classmethod
    def of_run(cls, run: Run, token_for: Callable[..., str], **more: Any) -> Self:
        """The platform of the processes of `run` (`more`: the subclass's own fields)."""
        return cls(
            service=run.service,
            payments=run.payments,
            notifier=run.notifier,
            clock_file=run.clock_file,
            token_for=token_for,
            connection=run.connection,
            database=run.database,
            **more,
        )

    # ---- time --------------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC) - self.offset

    async def move_clock(self, instant: datetime) -> None:
        """Move the time of every process that reads the clock file to `instant` (it runs on
        from there), and return once they all read it."""
        self.offset = datetime.now(UTC) - instant
        set_file_clock(self.clock_file, instant)
        await asyncio.sleep(self.CLOCK_SETTLE_SECONDS)

    # ---- who calls ---------------------------------------------------------------------------

    def token(self, subject: str, *roles: str) -> str:
        """A JWT for `subject` with `roles` (a citizen's without)."""
        return self.token_for(subject, *roles)

    def staff_token(self) -> str:
        """The token that reads any request of the service (for `request`)."""
        raise NotImplementedError

    # ---- HTTP --------------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        token: str | None,
        body: Any = None,
        *,
        service: ServiceProcess | None = None,
        headers: dict[str, str] | None = None,
        files: Any = None,
        **params: Any,
    ) -> httpx.Response:
        """Call the service (or `service`): keyword arguments are query parameters."""
        return await http(
            (service or self.service).url,
            method,
            path,
            token,
            body,
            headers=headers,
            timeout=self.CALL_TIMEOUT,
            files=files,
            params=params or None,
        )

    async def request(self, number: str, token: str | None = None) -> dict[str, Any]:
        response = await self.call("GET", f"/v1/requests/{number}", token or self.staff_token())
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def status_becomes(self, number: str, status: str, timeout: float = 20) -> dict[str, Any]:
        """The request once it has `status` (waits for it)."""

        async def reached() -> dict[str, Any] | None:
            found = await self.request(number)
            return found if found["status"] == status else None

        result: dict[str, Any] = await eventually(
            reached, timeout=timeout, message=f"{number} becomes {status}"
        )
        return result

    # ---- the SMS, as the notifier lists them -------------------------------------------------

    async def messages(self, number: str) -> list[dict[str, Any]]:
        """The notifier's messages of request `number`, now."""
        assert self.notifier is not None
        response = await http(
            self.notifier.url,
            "GET",
            "/v1/messages",
            self.token("notifier-staff", NOTIFIER_STAFF),
            params={"request_number": number, "page_size": 100},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def sms_in_order(self, number: str, count: int, timeout: float = 20) -> list[str]:
        """The texts of the request's SMS, oldest first, once there are `count` of them."""

        async def probe() -> list[dict[str, Any]] | None:
            items = await self.messages(number)
            return items if len(items) >= count else None

        items = await eventually(probe, timeout=timeout, message=f"{count} SMS for {number}")
        return [
            item["text"]
            for item in sorted(items, key=lambda item: datetime.fromisoformat(item["created_at"]))
        ]

    async def sms_of(self, number: str, template: str, count: int = 1, timeout: float = 25) -> str:
        """The text of the `count`-th (and last) SMS sent for `number` from `template`."""

        async def sent() -> list[dict[str, Any]]:
            found = [m for m in await self.messages(number) if m["template"] == template]
            return found if len(found) >= count else []

        found = await eventually(sent, timeout=timeout, message=f"SMS {template} for {number}")
        assert len(found) == count, found
        ordered = sorted(found, key=lambda m: datetime.fromisoformat(m["created_at"]))
        text: str = ordered[-1]["text"]
        return text

    async def templates(self, number: str) -> list[str]:
        return sorted(m["template"] for m in await self.messages(number))

    # ---- payments ----------------------------------------------------------------------------

    async def bills(self, number: str, subject: str) -> list[dict[str, Any]]:
        """The bills of request `number`, as its applicant `subject` lists them."""
        response = await self.call("GET", "/v1/bills", self.token(subject), service=self.payments)
        assert response.status_code == 200, response.text
        return [b for b in response.json()["items"] if b["request_number"] == number]

    async def bill(self, number: str, subject: str, reference: str | None = None) -> dict[str, Any]:
        """The first bill of request `number` (with `reference`), once payments issued it."""

        async def issued() -> list[dict[str, Any]]:
            return [
                b
                for b in await self.bills(number, subject)
                if reference is None or b["payment_reference"] == reference
            ]

        bills = await eventually(issued, message=f"bill of {number}")
        bill: dict[str, Any] = bills[0]
        return bill

    async def notify_payment(self, e_payment_number: str, amount_fils: int) -> None:
        """The provider's signed payment notification for `amount_fils` (the amount due)."""
        assert self.payments is not None
        body = simulator.notification_body(
            e_payment_number,
            amount_fils=amount_fils,
            due_fils=amount_fils,
            biller_code=self.BILLER_CODE,
            service_type=self.SERVICE_TYPE,
            paid_at=self.now(),
        )
        headers = simulator.signed_headers(
            body, self.PROVIDER_SECRET.encode(), timestamp=int(self.now().timestamp())
        )
        async with httpx.AsyncClient(base_url=self.payments.url, timeout=15) as client:
            response = await client.post(
                simulator.PREFIX + "/payment-notifications", content=body, headers=headers
            )
        assert response.status_code == 200, response.text
        assert json.loads(response.content) is not None

    async def pay_as_provider(self, e_payment_number: str) -> httpx.Response:
        """Pay a bill the way eFAWATEERcom does: a bill inquiry, then a signed payment
        notification for the amount due; returns the answer to the notification."""
        assert self.payments is not None
        secret = self.PROVIDER_SECRET.encode()
        moment = int(self.now().timestamp())
        async with httpx.AsyncClient(base_url=self.payments.url, timeout=15) as client:
            inquiry = simulator.inquiry_body(e_payment_number, biller_code=self.BILLER_CODE)
            bill = await client.post(
                simulator.PREFIX + "/bill-inquiries",
                content=inquiry,
                headers=simulator.signed_headers(inquiry, secret, timestamp=moment),
            )
            assert bill.status_code == 200, bill.text
            due_fils = int(Decimal(bill.json()["DueAmount"]) * 1000)
            notification = simulator.notification_body(
                e_payment_number,
                amount_fils=due_fils,
                due_fils=due_fils,
                biller_code=self.BILLER_CODE,
                service_type=bill.json()["ServiceType"],
                paid_at=self.now(),
            )
            return await client.post(
                simulator.PREFIX + "/payment-notifications",
                content=notification,
                headers=simulator.signed_headers(notification, secret, timestamp=moment),
            )

    # ---- the broker --------------------------------------------------------------------------

    async def publish(self, event: CloudEvent, *, message_id: str | None = None) -> None:
        """Publish an event on the platform's exchange, as its producer would."""
        assert self.connection is not None
        await publish_raw(
            self.connection, event.to_json(), event.routing_key, message_id=message_id or event.id
        )

    async def deliver_again(self, body: bytes, *, new_id: bool = False) -> None:
        """Publish an event again: the same message (a redelivery), or the same event data under
        a new id (a producer that published it twice)."""
        assert self.connection is not None
        envelope = json.loads(body)
        if new_id:
            envelope["id"] = f"{envelope['id'][:24]}{random.getrandbits(32):08x}"
        routing_key = str(envelope["type"]).removeprefix("jo.gov.amman.")
        raw = json.dumps(envelope, ensure_ascii=False).encode()
        await publish_raw(self.connection, raw, routing_key=routing_key, message_id=envelope["id"])

    async def consumed(self, queue: str, count: int) -> None:
        """Wait until the service's queue `queue` has taken `count` events (applied or skipped
        as seen)."""
        name = self.service.queue(queue)

        async def done() -> bool:
            applied = await metric(self.service.url, "events_consumed_total", queue=name)
            skipped = await metric(self.service.url, "events_duplicate_total", queue=name)
            return applied + skipped >= count

        await eventually(done, message=f"{count} events consumed from {name}")

    async def metric(self, name: str, **labels: str) -> float:
        """A Prometheus sample of the service's /metrics."""
        return await metric(self.service.url, name, **labels)

    async def eventually(self, probe: Callable[[], Awaitable[Any]], **options: Any) -> Any:
        return await eventually(probe, **options)
