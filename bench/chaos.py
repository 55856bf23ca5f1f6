"""Nothing lost, nothing twice: citizens' requests while services and the broker are SIGKILLed.

    .venv/bin/python -m bench.chaos
        (--requests 150 --rate 3 --random-kills 1 --aimed-kills 2 --pay 30 are the defaults)

What it runs: exams, payments and the notifier as their own processes (`python -m services.<name>`,
the notifier with the log gateway), on fresh databases of the local MongoDB-protocol server, and on
a RabbitMQ node of its own (`deploy/rabbitmq-cluster.sh start chaos 1`: AMQP 5791, never the
machine's shared node), on fixed HTTP ports (`--port-base`, +1, +2, +3), so that a restarted
process is the same service at the same address (the notifier's sender takes back its leases).

What it does:
1. Load: `--requests` citizens, `--rate` a second, each submit one trial exam request
   (`POST /v1/requests` with an `Idempotency-Key` of their own), and retry the same POST with
   the same key on a connection error, a 5xx or a 409, as a gateway does, until it is answered.
2. Kills meanwhile, each SIGKILL followed by a restart after 0.3-1.5 s:
   - aimed: `--aimed-kills` per service, a few milliseconds after a chosen citizen's POST is
     sent (exams: 1-15 ms, inside the request; payments and the notifier: 5-60 ms, while the
     request's event travels to them);
   - random: `--random-kills` per service at random moments of the load;
   - the broker once (SIGKILL of the node's pid), started again at once.
3. Payments: `--pay` of the bills are paid as eFAWATEERcom does (a signed notification, repeated
   with the same transaction until answered), with aimed kills of payments (inside the
   notification) and of exams (while `bill.paid` travels to it).
4. Quiescence: until every outbox is empty, every bill and SMS is there, and nothing changed for
   a few seconds (at most `--settle-timeout`).
Then a table: accepted, stored, lost and duplicate requests; bills and duplicates; SMS and
duplicates; paid steps applied once; dead letters; outbox entries left. The exit status is 1 on
any loss or duplicate (or anything left undone), 0 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from bench.outbox import infra_urls
from services.common.devtoken import ensure_dev_keys, mint_token
from services.payments import simulator
from tests.integration.conftest import ServiceProcess
from tests.integration.platform import BILLER_CODE, payments_env

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = ROOT / "deploy" / "rabbitmq-cluster.sh"
SERVICES = ("exams", "payments", "notifier")
TRIAL = "icdl-practice"
BILL_SMS = "payments.bill.issued.v1"
PAID_SMS = "exams.request.paid.v1"
PROVIDER_SECRET = "bench-chaos-efawateercom-secret-0123456789"
# Which collections hold each service's outbox entries.
OUTBOXES = {
    "exams": ("requests", "sessions"),
    "payments": ("bills",),
    "notifier": ("messages",),
}
# Aimed kills: how long after the POST (or the payment notification) is sent, in seconds.
AIM = {"exams": (0.001, 0.015), "payments": (0.005, 0.06), "notifier": (0.005, 0.06)}


def form(number: int) -> dict[str, Any]:
    return {
        "exam_type": "trial",
        "exam_code": TRIAL,
        "applicant_name": "ليلى أحمد الحداد",
        "id_type": "national_number",
        "id_number": "9871012345",
        "phone": f"0797{number % 1_000_000:06d}",
        "lang": "ar",
    }


def cluster(*args: str) -> str:
    done = subprocess.run(
        ["bash", str(CLUSTER), *args], capture_output=True, text=True, check=False, cwd=ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(f"rabbitmq-cluster.sh {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


@dataclass
class Kill:
    target: str
    kind: str  # aimed, random, payment
    at: float
    delay_ms: float | None = None


@dataclass
class Tally:
    accepted: dict[int, str] = field(default_factory=dict)  # citizen -> request number
    retries: int = 0
    refused: dict[int, str] = field(default_factory=dict)  # citizen -> last 4xx answer
    payment_refused: list[str] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)
    paid: dict[str, str] = field(default_factory=dict)  # request number -> e-payment number
    payment_retries: int = 0
    kills: list[Kill] = field(default_factory=list)
    # Services that exited by themselves (e.g. started while the broker was down) and were
    # started again, as Kubernetes restarts a container.
    restarts: Counter[str] = field(default_factory=Counter)


class Chaos:
    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.args = args
        self.folder = folder
        self.node = args.node
        self.run = uuid.uuid4().hex[:8]
        self.databases = {name: f"chaos_{self.run}_{name}" for name in SERVICES}
        self.mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            args.mongo_url or infra_urls()[1], tz_aware=True
        )
        private, public = ensure_dev_keys(folder / "keys")
        self.private_key = private.read_text()
        self.public_key = public.read_text()
        self.processes: dict[str, ServiceProcess] = {}
        self.locks = {name: asyncio.Lock() for name in SERVICES}
        self.tally = Tally()
        self.started = time.monotonic()
        self.background: list[asyncio.Task[None]] = []
        self.queue_type = "classic"
        # The node whose management API counts the dead letters.
        self.management_node = 1

    # ---- the platform ------------------------------------------------------------------------

    def start_broker(self) -> str:
        shutil.rmtree(ROOT / ".local" / "rabbitmq" / self.node, ignore_errors=True)
        return cluster("start", self.node, "1", str(self.args.rabbitmq_base))

    async def start(self) -> None:
        amqp_url = await asyncio.to_thread(self.start_broker)
        common = {
            "ENVIRONMENT": "test",
            "AMQP_URL": amqp_url,
            "MONGO_URL": self.args.mongo_url or infra_urls()[1],
            "QUEUE_TYPE": self.queue_type,
            "JWT_PUBLIC_KEY": self.public_key,
            "LOG_LEVEL": "WARNING",
            "OUTBOX_POLL_SECONDS": "0.5",
            "SWEEPER_POLL_SECONDS": "1",
        }
        extra = {
            "exams": {},
            "payments": payments_env(PROVIDER_SECRET, BILLER_CODE),
            "notifier": {
                "NOTIFIER_GATEWAY": "log",
                "NOTIFIER_RATE_LIMIT_PER_SECOND": "1000",
                "NOTIFIER_SEND_POLL_SECONDS": "0.2",
            },
        }
        for offset, name in enumerate(SERVICES, start=1):
            self.processes[name] = ServiceProcess(
                f"services.{name}",
                {**common, "MONGO_DATABASE": self.databases[name], **extra[name]},
                self.folder / f"{name}.log",
                port=self.args.port_base + offset,
            )
        for process in self.processes.values():
            process.start()
        await asyncio.gather(*(p.wait_ready(timeout=90) for p in self.processes.values()))

    async def stop(self) -> None:
        for process in self.processes.values():
            await asyncio.to_thread(process.terminate, 30)
        await asyncio.to_thread(cluster, "stop", self.node)
        if not self.args.keep:
            for database in self.databases.values():
                await self.mongo.drop_database(database)
        await self.mongo.close()

    def url(self, name: str) -> str:
        return self.processes[name].url

    def token(self, citizen: int) -> str:
        return mint_token(
            f"chaos-{self.run}-{citizen}", ("citizen",), private_key_pem=self.private_key
        )

    # ---- kills -------------------------------------------------------------------------------

    async def kill(self, name: str, kind: str, delay: float | None = None) -> None:
        """SIGKILL the service (after `delay` seconds), then start it again after 0.3-1.5 s."""
        if delay is not None:
            await asyncio.sleep(delay)
        async with self.locks[name]:
            process = self.processes[name]
            if process.process is not None and process.process.poll() is None:
                process.process.kill()
                await asyncio.to_thread(process.process.wait)
                self.tally.kills.append(
                    Kill(
                        name,
                        kind,
                        time.monotonic() - self.started,
                        None if delay is None else delay * 1000,
                    )
                )
            await asyncio.sleep(random.uniform(0.3, 1.5))
            process.start()

    async def supervise(self) -> None:
        """Start again a service that exited by itself (a service started while the broker is
        down exits: it cannot declare its queues), as a container's restart policy does."""
        while True:
            await asyncio.sleep(1.0)
            for name, process in self.processes.items():
                if self.locks[name].locked() or process.process is None:
                    continue
                if process.process.poll() is not None:
                    async with self.locks[name]:
                        self.tally.restarts[name] += 1
                        process.start()

    async def kill_broker(self) -> None:
        await asyncio.to_thread(cluster, "kill", self.node, "1")
        self.tally.kills.append(Kill("rabbitmq", "random", time.monotonic() - self.started))
        await asyncio.sleep(1.0)
        await asyncio.to_thread(cluster, "restart", self.node, "1")

    async def random_kills(self, window: float) -> None:
        plan = [
            (random.uniform(0.1, 0.9) * window, name)
            for name in SERVICES
            for _ in range(self.args.random_kills)
        ]
        plan.append((random.uniform(0.3, 0.6) * window, "rabbitmq"))
        plan.sort()
        first = time.monotonic()
        tasks = []
        for at, name in plan:
            await asyncio.sleep(max(0.0, first + at - time.monotonic()))
            if name == "rabbitmq":
                tasks.append(asyncio.create_task(self.kill_broker()))
            else:
                tasks.append(asyncio.create_task(self.kill(name, "random")))
        await asyncio.gather(*tasks)

    # ---- citizens ----------------------------------------------------------------------------

    async def submit(self, client: httpx.AsyncClient, citizen: int, aim: str | None) -> None:
        headers = {
            "Authorization": f"Bearer {self.token(citizen)}",
            "Idempotency-Key": f"chaos-{uuid.uuid4()}",
        }
        body = form(citizen)
        deadline = time.monotonic() + self.args.give_up_after
        pause = 0.25
        first = True
        while time.monotonic() < deadline:
            if first and aim is not None:
                self.background.append(
                    asyncio.create_task(self.kill(aim, "aimed", random.uniform(*AIM[aim])))
                )
            first = False
            try:
                response = await client.post(
                    f"{self.url('exams')}/v1/requests", json=body, headers=headers
                )
            except httpx.TransportError as error:
                self.tally.answers[type(error).__name__] += 1
            else:
                replayed = response.headers.get("Idempotent-Replayed") == "true"
                self.tally.answers[f"{response.status_code}{' replayed' if replayed else ''}"] += 1
                if response.status_code == 201:
                    self.tally.accepted[citizen] = response.json()["request_number"]
                    return
                if response.status_code < 500 and response.status_code != 409:
                    self.tally.refused[citizen] = response.text[:300]
                    return
            self.tally.retries += 1
            await asyncio.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, 2.0)

    async def load(self) -> None:
        count = self.args.requests
        window = count / self.args.rate
        aimed: dict[int, str] = {}
        candidates = random.sample(range(count), k=min(count, 3 * self.args.aimed_kills))
        for index, citizen in enumerate(candidates):
            aimed[citizen] = SERVICES[index % len(SERVICES)]
        killer = asyncio.create_task(self.random_kills(window))
        async with httpx.AsyncClient(timeout=15) as client:
            first = time.monotonic()
            tasks = []
            for citizen in range(count):
                await asyncio.sleep(max(0.0, first + citizen / self.args.rate - time.monotonic()))
                tasks.append(asyncio.create_task(self.submit(client, citizen, aimed.get(citizen))))
            await asyncio.gather(*tasks)
        await killer
        await asyncio.gather(*self.background)

    # ---- payments ----------------------------------------------------------------------------

    async def bills_by_request(self) -> dict[str, list[dict[str, Any]]]:
        bills: dict[str, list[dict[str, Any]]] = {}
        cursor = self.mongo[self.databases["payments"]]["bills"].find(
            {}, {"request_number": 1, "status": 1, "payment": 1, "payment_reference": 1}
        )
        async for bill in cursor:
            bills.setdefault(bill["request_number"], []).append(bill)
        return bills

    async def pay(
        self, client: httpx.AsyncClient, number: str, request: str, aim: str | None
    ) -> None:
        secret = PROVIDER_SECRET.encode()
        base = f"{self.url('payments')}{simulator.PREFIX}"
        inquiry = simulator.inquiry_body(number, biller_code=BILLER_CODE)
        bill: dict[str, Any] | None = None
        deadline = time.monotonic() + self.args.give_up_after
        while bill is None and time.monotonic() < deadline:
            try:
                answer = await client.post(
                    f"{base}/bill-inquiries",
                    content=inquiry,
                    headers=simulator.signed_headers(inquiry, secret, timestamp=int(time.time())),
                )
                if answer.status_code == 200:
                    bill = answer.json()
                    break
            except httpx.TransportError:
                pass
            self.tally.payment_retries += 1
            await asyncio.sleep(0.5)
        if bill is None:
            return
        due = int(Decimal(bill["DueAmount"]) * 1000)
        notification = simulator.notification_body(
            number, amount_fils=due, due_fils=due, biller_code=BILLER_CODE,
            service_type=bill["ServiceType"],
        )  # fmt: skip
        first = True
        while time.monotonic() < deadline:
            if first and aim is not None:
                self.background.append(
                    asyncio.create_task(self.kill(aim, "payment", random.uniform(*AIM["payments"])))
                )
            first = False
            try:
                answer = await client.post(
                    f"{base}/payment-notifications",
                    content=notification,
                    headers=simulator.signed_headers(
                        notification, secret, timestamp=int(time.time())
                    ),
                )
                if answer.status_code == 200:
                    self.tally.paid[request] = number
                    return
                if answer.status_code < 500:
                    self.tally.payment_refused.append(f"{number}: {answer.text[:300]}")
                    return
            except httpx.TransportError:
                pass
            self.tally.payment_retries += 1
            await asyncio.sleep(0.5)

    async def payments(self) -> None:
        accepted = list(self.tally.accepted.values())
        want = min(self.args.pay, len(accepted))
        bills: dict[str, list[dict[str, Any]]] = {}
        deadline = time.monotonic() + self.args.settle_timeout
        while time.monotonic() < deadline:
            bills = await self.bills_by_request()
            if sum(1 for request in accepted if request in bills) >= want:
                break
            await asyncio.sleep(1)
        billed = [request for request in accepted if request in bills]
        sample = random.sample(billed, k=min(want, len(billed)))
        aims: dict[str, str] = {}
        for index, request in enumerate(
            random.sample(sample, k=min(len(sample), 2 * self.args.aimed_kills))
        ):
            aims[request] = ("payments", "exams")[index % 2]
        async with httpx.AsyncClient(timeout=15) as client:
            tasks = []
            for request in sample:
                await asyncio.sleep(1 / self.args.rate)
                number = str(bills[request][0]["_id"])
                tasks.append(
                    asyncio.create_task(self.pay(client, number, request, aims.get(request)))
                )
            await asyncio.gather(*tasks)

    # ---- quiescence and the count ------------------------------------------------------------

    async def outbox_left(self) -> int:
        left = 0
        for name, collections in OUTBOXES.items():
            for collection in collections:
                left += await self.mongo[self.databases[name]][collection].count_documents(
                    {"outbox.0": {"$exists": True}}
                )
        return left

    async def snapshot(self) -> dict[str, Any]:
        exams = self.mongo[self.databases["exams"]]["requests"]
        requests = await exams.find(
            {}, {"owner_subject": 1, "status": 1, "history.action": 1}
        ).to_list()
        bills = await self.bills_by_request()
        messages = (
            await self.mongo[self.databases["notifier"]]["messages"]
            .find({}, {"template": 1, "request_number": 1, "status": 1})
            .to_list()
        )
        return {"requests": requests, "bills": bills, "messages": messages}

    async def all_ready(self) -> bool:
        async with httpx.AsyncClient(timeout=3) as client:
            for name in SERVICES:
                try:
                    answer = await client.get(f"{self.url(name)}/health/ready")
                except httpx.HTTPError:
                    return False
                if answer.status_code != 200:
                    return False
        return True

    async def settle(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.args.settle_timeout
        previous: str | None = None
        stable_since = time.monotonic()
        snapshot: dict[str, Any] = {}
        while time.monotonic() < deadline:
            snapshot = await self.snapshot()
            pending = sum(1 for m in snapshot["messages"] if m["status"] in ("queued", "sending"))
            fingerprint = json.dumps(
                [len(snapshot["requests"]), sum(map(len, snapshot["bills"].values())),
                 Counter(m["status"] for m in snapshot["messages"]),
                 Counter(r["status"] for r in snapshot["requests"])],
                default=str, sort_keys=True,
            )  # fmt: skip
            if fingerprint != previous:
                previous, stable_since = fingerprint, time.monotonic()
            quiet = time.monotonic() - stable_since >= self.args.quiet_seconds
            if quiet and pending == 0 and await self.outbox_left() == 0 and await self.all_ready():
                return snapshot
            await asyncio.sleep(1)
        return snapshot

    async def dead_letters(self) -> int:
        base = self.args.rabbitmq_base
        async with httpx.AsyncClient(timeout=5, auth=("guest", "guest")) as client:
            port = 10000 + base + self.management_node
            answer = await client.get(f"http://127.0.0.1:{port}/api/queues")
            answer.raise_for_status()
            return sum(
                int(queue.get("messages", 0))
                for queue in answer.json()
                if str(queue["name"]).endswith(".dlq")
            )

    async def report(self, snapshot: dict[str, Any]) -> list[tuple[str, int, bool]]:
        """(row, figure, is a failure when non-zero)"""
        tally = self.tally
        requests = snapshot["requests"]
        stored = {r["_id"] for r in requests}
        owners = Counter(r["owner_subject"] for r in requests)
        accepted = set(tally.accepted.values())
        lost = len(accepted - stored)
        duplicate_requests = sum(count - 1 for count in owners.values() if count > 1)
        unanswered_but_stored = len(stored - accepted)
        bills = snapshot["bills"]
        bill_count = sum(len(found) for found in bills.values())
        duplicate_bills = sum(len(found) - 1 for found in bills.values() if len(found) > 1)
        missing_bills = len([r for r in stored if r not in bills])
        sms = Counter((m["template"], m.get("request_number")) for m in snapshot["messages"])
        bill_sms = {key: n for key, n in sms.items() if key[0] == BILL_SMS}
        duplicate_sms = sum(n - 1 for n in sms.values() if n > 1)
        missing_bill_sms = len([r for r in stored if (BILL_SMS, r) not in bill_sms])
        unsent = sum(1 for m in snapshot["messages"] if m["status"] not in ("sent", "delivered"))
        paid_requests = {r["_id"]: r for r in requests if r["_id"] in tally.paid}
        pay_steps = {
            number: sum(1 for entry in r.get("history", []) if entry.get("action") == "pay")
            for number, r in paid_requests.items()
        }
        paid_once = sum(1 for n in pay_steps.values() if n == 1)
        paid_twice = sum(1 for n in pay_steps.values() if n > 1)
        paid_bills = sum(
            1 for request in tally.paid
            for bill in bills.get(request, []) if bill.get("status") == "paid"
        )  # fmt: skip
        paid_sms = sum(1 for key in sms if key[0] == PAID_SMS)
        return [
            ("citizens", self.args.requests, False),
            ("requests accepted (201)", len(accepted), False),
            ("requests refused or unanswered", self.args.requests - len(accepted), True),
            ("payments refused or unanswered", self.args.pay - len(tally.paid), True),
            ("requests stored", len(stored), False),
            ("requests lost (201 but not stored)", lost, True),
            ("requests stored without a 201", unanswered_but_stored, True),
            ("duplicate requests (a citizen's second)", duplicate_requests, True),
            ("bills", bill_count, False),
            ("requests without a bill", missing_bills, True),
            ("duplicate bills", duplicate_bills, True),
            ("e-payment SMS", sum(bill_sms.values()), False),
            ("requests without their e-payment SMS", missing_bill_sms, True),
            ("duplicate SMS (same request and template)", duplicate_sms, True),
            ("SMS not sent", unsent, True),
            ("bills paid by the provider", len(tally.paid), False),
            ("  of them bills marked paid", paid_bills, False),
            ("  paid bills not marked paid", len(tally.paid) - paid_bills, True),
            ("  paid steps applied once", paid_once, False),
            ("  paid steps applied twice", paid_twice, True),
            ("  paid steps not applied", len(tally.paid) - paid_once - paid_twice, True),
            ("  'paid' SMS", paid_sms, False),
            ("dead letters", await self.dead_letters(), True),
            ("outbox entries left", await self.outbox_left(), True),
        ]


def print_report(chaos: Chaos, rows: list[tuple[str, int, bool]], seconds: float) -> bool:
    tally = chaos.tally
    kills = Counter((kill.target, kill.kind) for kill in tally.kills)
    print(f"\nchaos run {chaos.run}: {chaos.args.requests} citizens at {chaos.args.rate}/s, "
          f"{seconds:.0f} s in all")  # fmt: skip
    print("kills (SIGKILL):", ", ".join(f"{t} {k} x{n}" for (t, k), n in sorted(kills.items())))
    aimed = [kill for kill in tally.kills if kill.delay_ms is not None]
    if aimed:
        print("aimed kills, ms after the call was sent:",
              ", ".join(f"{k.target} {k.delay_ms:.0f}" for k in aimed))  # fmt: skip
    if tally.restarts:
        print("exited by themselves and started again:", dict(tally.restarts))
    print(f"POST answers: {dict(tally.answers)}; POST retries {tally.retries}, "
          f"payment retries {tally.payment_retries}")  # fmt: skip
    for citizen, text in list(tally.refused.items())[:5]:
        print(f"refused {citizen}: {text}")
    for text in tally.payment_refused[:5]:
        print(f"payment refused {text}")
    failed = False
    print(f"\n| {'what':<45} | {'count':>6} |")
    print(f"|{'-' * 47}|{'-' * 8}|")
    for row, figure, bad in rows:
        mark = " <- FAIL" if bad and figure else ""
        failed = failed or bool(bad and figure)
        print(f"| {row:<45} | {figure:>6} |{mark}")
    print("\nresult:", "FAILED" if failed else "0 lost, 0 duplicates")
    return not failed


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chaos", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--rate", type=float, default=3.0, help="citizens starting per second")
    parser.add_argument("--random-kills", type=int, default=1, help="per service")
    parser.add_argument("--aimed-kills", type=int, default=2, help="per service")
    parser.add_argument("--pay", type=int, default=30, help="bills paid")
    parser.add_argument("--settle-timeout", type=float, default=240)
    parser.add_argument("--quiet-seconds", type=float, default=6)
    parser.add_argument("--give-up-after", type=float, default=240, help="a citizen's retries")
    parser.add_argument("--port-base", type=int, default=18100)
    parser.add_argument("--rabbitmq-base", type=int, default=5790, help="the node's AMQP port - 1")
    parser.add_argument("--node", default="chaos", help="the RabbitMQ node's name")
    parser.add_argument("--mongo-url", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="chaos-"))
    chaos = Chaos(args, folder)
    first = time.monotonic()
    ok = False
    supervisor: asyncio.Task[None] | None = None
    try:
        phases: dict[str, float] = {}
        mark = time.monotonic()
        for phase, step in (
            ("start", chaos.start),
            ("load", chaos.load),
            ("payments", chaos.payments),
            ("settle", chaos.settle),
        ):
            if phase == "load":
                chaos.started = time.monotonic()
                supervisor = asyncio.create_task(chaos.supervise())
            result = await step()
            phases[phase] = time.monotonic() - mark
            mark = time.monotonic()
        rows = await chaos.report(result)
        ok = print_report(chaos, rows, time.monotonic() - first)
        print("phases (s):", ", ".join(f"{name} {seconds:.0f}" for name, seconds in phases.items()))
    finally:
        if supervisor is not None:
            supervisor.cancel()
        await chaos.stop()
        if args.keep or not ok:
            print(f"logs: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
