"""A citizen's request through the whole platform (exams, payments, notifier), beside baselines.

    .venv/bin/python -m bench.requests
        (--requests 200 --baseline-calls 1000 --concurrency 8 --paced 100 --rate 5 are the
        defaults)

Exams, payments and the notifier run as their own processes (`python -m services.<name>`, the
notifier with the log gateway, all logging at WARNING), in a RabbitMQ virtual host of their own
with fresh databases; all three are dropped afterwards. The request is the README's trial branch:
a citizen's `POST /v1/requests` (JSON, `Idempotency-Key`, a bearer token) for the `icdl-practice`
trial exam, which confirms it at once and asks payments for the fee's bill; payments issues it,
and the notifier sends the e-payment SMS (template `payments.bill.issued.v1`).

- burst:  `--requests` POSTs sent by `--concurrency` clients (one httpx client, keep-alive):
          requests per second and HTTP latency p50/p95/p99. Baseline, same processes, same run,
          same clients: `--baseline-calls` `GET /v1/catalogue` (1,000, about two seconds: 200,
          a third of a second, varied from 444 to 929/s between runs of the same code), the
          public catalogue: the same uvicorn, FastAPI, middleware (metrics, tracing) and JSON
          answer, and nothing else, so the ratio
          shows what the request itself costs: the bearer token's check, the form's checks and
          the domain, the request number (drawn ahead: its counter's command runs beside the
          request), the insert of the request with its outbox events and its `Idempotency-Key`
          (no lookup first: the key's unique index answers a retry), and the relay publishing
          them meanwhile. Not a citizen's own list (`GET /v1/requests`, the other
          candidate): on the local FerretDB its cost grows with the number of requests stored
          (the table's `GET /v1/requests` row measures it once the burst's are stored), so it
          is no fixed floor. The POST slows there as requests accumulate too: its figures are
          for `--requests` from empty databases. Then the time until the burst's last SMS was
          sent gives the platform's throughput, request to SMS.
- end to end: `--paced` POSTs at `--rate` a second (a steady load below capacity), each timed
          from just before its POST to the `sent` step the notifier recorded for its
          `payments.bill.issued.v1` SMS (read from the notifier's database; both times from this
          machine's clock): p50/p95/p99, and the POSTs' own HTTP latency. Beside it, the
          notifier alone measured the same way by the same process: as many
          `payments.bill.issued.v1` published directly (as bench/notifier.py does, with a
          payment reference of no service, so that exams leaves them alone), at the same rate,
          timed from the publish to `sent`; the ratio shows what exams and payments add (HTTP,
          the two outboxes, two more hops).
- database commands: every command each service sent from the burst's first POST until its
          last SMS was sent (PyMongo's command monitoring in the services, read from their
          `/metrics`: bench/dbcommands.py), per citizen request, beside each service's floor
          (FLOORS below), with the breakdown and each command's mean time (what the database
          took to answer, `mongo_command_seconds_total`); the scans that run on every poll, per
          second. The same again for the end-to-end run's requests, at the steady rate.
- stages: for the end-to-end run, the median time from the POST's start to each time the
          services stored (exams' `submitted_at`, the POST's answer, payments' `issued_at`, the
          notifier's `created_at`, `sending_at` and `sent_at`): where the time goes.
- CPU: the CPU time each process spent (bench/cpu.py, read from /proc: the three services, the
          local FerretDB, its PostgreSQL and RabbitMQ, found by the ports they listen on, and
          this benchmark itself), per catalogue GET over the baseline's calls, and per citizen
          request over the burst's window (its first POST until 2 s after its last SMS, as the
          database commands): what a request costs the whole machine, and who pays it.
- memory: peak RSS (VmHWM) of each service process at the end.

Warm-up first (a few of each call and a few SMS, not counted). The notifier's rate limit is lifted
(it would measure itself); everything else is each service's default setting.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from bench import cpu, dbcommands
from bench.notifier import bill, publish
from bench.outbox import infra_urls, paced
from services.common.devtoken import ensure_dev_keys, mint_token
from services.common.mongo import BLOCK
from tests.integration.conftest import ServiceProcess
from tests.integration.platform import isolated_broker, payments_env

TEMPLATE = "payments.bill.issued.v1"
TRIAL = "icdl-practice"
SERVICES = ("exams", "payments", "notifier")
PROVIDER_SECRET = "bench-requests-efawateercom-secret-0123456789"
# Request numbers of the bills published directly: far from those exams gives (EX-2026-000001...).
DIRECT_NUMBERS = 900_000
# Calls of a citizen's own list after the burst (reported, not a baseline: see above).
LIST_CALLS = 40
# The floor of database commands per citizen request, per service: one write per state change,
# the relay's claim and clear per document that carries events, and what idempotency needs once
# issue 10 has folded the `Idempotency-Key` into the request's own write (nothing more there; a
# consumer's inbox keeps its check and its record, which exactly-once delivery needs, unless the
# use case is idempotent by its aggregate's own state: `typed_handler(..., idempotent=True)`). A new
# document is inserted already claimed for its relay (`Outbox.insert_new`), so its claim costs
# nothing: only the clear remains.
# - exams: the request's insert (confirmed at once, with its events, its Idempotency-Key and the
#   relay's claim), the relay's clear, the write of the fee's e-payment number once payments
#   issued the bill (a state change without an event), and the request number's counter (a
#   findAndModify per block of `mongo.BLOCK` numbers, drawn ahead, so that the request does not
#   wait for it) = 3.1. (No read for the key: a retry meets the key's unique index.)
# - payments: the bill's insert with its event (and claim), and the relay's clear = 2. (A second
#   delivery meets the payment reference's unique index and finds the bill by it: no inbox, no
#   key of its own.)
# - notifier: the message's insert (its id is the event's and the template's: a second delivery's
#   insert is refused, so it needs no inbox), the sender's claim (which records `sending`, the
#   attempt's start, in the same write) and the outcome's write (sent) = 3.
FLOORS = {"exams": 3 + 1 / BLOCK, "payments": 2, "notifier": 3}


def form(number: int) -> dict[str, Any]:
    """The README's trial request; a phone of its own, clear of the log gateway's test numbers."""
    return {
        "exam_type": "trial",
        "exam_code": TRIAL,
        "applicant_name": "ليلى أحمد الحداد",
        "id_type": "national_number",
        "id_number": "9871012345",
        "phone": f"0795{number % 1_000_000:06d}",
        "lang": "ar",
    }


def quantiles_ms(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000}


class Platform:
    """The three processes, their databases and the virtual host's connection."""

    def __init__(self, url: str, connection: Any, mongo: Any, folder: Path) -> None:
        self.url = url
        self.mongo_url = infra_urls()[1]
        self.connection = connection
        self.mongo = mongo
        self.folder = folder
        keys = folder / "keys"
        private, public = ensure_dev_keys(keys)
        self.private_key = private.read_text()
        run = uuid.uuid4().hex[:8]
        self.databases = {name: f"bench_requests_{run}_{name}" for name in SERVICES}
        common = {
            "ENVIRONMENT": "test",
            "AMQP_URL": url,
            "MONGO_URL": self.mongo_url,
            "QUEUE_TYPE": "classic",
            "JWT_PUBLIC_KEY": public.read_text(),
            "LOG_LEVEL": "WARNING",
        }
        extra = {
            "exams": {},
            "payments": payments_env(PROVIDER_SECRET),
            "notifier": {"NOTIFIER_GATEWAY": "log", "NOTIFIER_RATE_LIMIT_PER_SECOND": "100000"},
        }
        self.processes = {
            name: ServiceProcess(
                f"services.{name}",
                {**common, "MONGO_DATABASE": self.databases[name], **extra[name]},
                folder / f"{name}.log",
            )
            for name in SERVICES
        }
        self.messages = mongo[self.databases["notifier"]]["messages"]

    @property
    def exams(self) -> str:
        return self.processes["exams"].url

    def token(self, subject: str) -> str:
        return mint_token(subject, ("citizen",), private_key_pem=self.private_key)

    async def start(self) -> None:
        for process in self.processes.values():
            process.start()
        await asyncio.gather(*(p.wait_ready(timeout=60) for p in self.processes.values()))

    def alive(self) -> None:
        for name, process in self.processes.items():
            assert process.process is not None
            if process.process.poll() is not None:
                raise RuntimeError(f"{name} exited: {process.log_tail()}")

    async def database_usage(self) -> dict[str, dbcommands.Usage]:
        """Each service's database commands and their times so far."""
        return {name: await dbcommands.snapshot(p.url) for name, p in self.processes.items()}

    def cpu(self) -> cpu.Processes:
        """The services' processes and the local servers, to read their CPU time."""
        pids = {}
        for name, process in self.processes.items():
            assert process.process is not None
            pids[name] = process.process.pid
        return cpu.Processes(pids, self.mongo_url, self.url)

    def peak_rss_mib(self) -> dict[str, float]:
        peaks = {}
        for name, process in self.processes.items():
            assert process.process is not None
            status = Path(f"/proc/{process.process.pid}/status").read_text()
            line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
            peaks[name] = int(line.split()[1]) / 1024
        return peaks

    async def stop(self) -> None:
        for process in self.processes.values():
            process.terminate(timeout=30)
        for database in self.databases.values():
            await self.mongo.drop_database(database)

    async def sent_times(self, query: dict[str, Any], key: str, count: int) -> dict[str, float]:
        """`key` -> when the notifier recorded the message `sent`, once `count` of them are."""
        query = {**query, "template": TEMPLATE, "sent_at": {"$exists": True}}
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            self.alive()
            if await self.messages.count_documents(query) >= count:
                found = await self.messages.find(query, {key: 1, "sent_at": 1}).to_list()
                return {doc[key]: doc["sent_at"].timestamp() for doc in found}
            await asyncio.sleep(0.25)
        raise RuntimeError(f"not {count} SMS sent within 10 minutes")


def used_since(
    before: dict[str, dbcommands.Usage], after: dict[str, dbcommands.Usage]
) -> dict[str, dbcommands.Usage]:
    return {name: dbcommands.delta(before[name], after[name]) for name in after}


Call = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def burst(
    client: httpx.AsyncClient, call: Call, count: int, concurrency: int
) -> tuple[dict[str, float], list[httpx.Response]]:
    """`count` calls by `concurrency` clients: requests per second and latency quantiles."""
    latencies: list[float] = []
    answers: list[httpx.Response] = []
    numbers = iter(range(count))

    async def worker() -> None:
        for number in numbers:
            started = time.perf_counter()
            response = await call(client, number)
            latencies.append(time.perf_counter() - started)
            answers.append(response)

    first = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - first
    return {"per_s": count / elapsed, **quantiles_ms(latencies)}, answers


def check(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    return response


async def run(platform: Platform, args: argparse.Namespace) -> None:
    run_id = uuid.uuid4().hex[:6]
    total = args.requests + args.paced + 20
    citizens = [platform.token(f"citizen-{run_id}-{n}") for n in range(total)]
    readers = [platform.token(f"reader-{run_id}-{n}") for n in range(LIST_CALLS)]
    offset = {"post": 0}

    async def post(client: httpx.AsyncClient, number: int) -> httpx.Response:
        index = offset["post"] + number
        response = await client.post(
            "/v1/requests",
            json=form(index),
            headers={
                "Authorization": f"Bearer {citizens[index]}",
                "Idempotency-Key": uuid.uuid4().hex,
            },
        )
        return check(response, 201)

    async def catalogue(client: httpx.AsyncClient, number: int) -> httpx.Response:
        return check(await client.get("/v1/catalogue"), 200)

    async def own_list(client: httpx.AsyncClient, number: int) -> httpx.Response:
        headers = {"Authorization": f"Bearer {readers[number]}"}
        return check(await client.get("/v1/requests", headers=headers), 200)

    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=64)
    channel = await platform.connection.channel()  # publisher confirms on
    exchange = await channel.get_exchange("amman.events")
    async with httpx.AsyncClient(base_url=platform.exams, timeout=60, limits=limits) as client:
        # Warm-up: connections, indexes, code paths, one SMS each way.
        await burst(client, catalogue, 20, args.concurrency)
        _, answers = await burst(client, post, 20, args.concurrency)
        offset["post"] = 20
        warm = [answer.json()["request_number"] for answer in answers]
        await platform.sent_times({"request_number": {"$in": warm}}, "request_number", len(warm))
        await direct_bills(platform, exchange, range(DIRECT_NUMBERS - 20, DIRECT_NUMBERS), 0.0)

        # Burst: the baseline GET, then the POST; then until the burst's last SMS is sent.
        processes = platform.cpu()
        cpu_before = processes.reading()
        base, _ = await burst(client, catalogue, args.baseline_calls, args.concurrency)
        cpu_base = processes.report("a catalogue GET", cpu_before, args.baseline_calls)
        cpu_before = processes.reading()
        before = await platform.database_usage()
        first = time.time()
        posts, answers = await burst(client, post, args.requests, args.concurrency)
        offset["post"] += args.requests
        numbers = [answer.json()["request_number"] for answer in answers]
        sent = await platform.sent_times(
            {"request_number": {"$in": numbers}}, "request_number", len(numbers)
        )
        to_sms = len(numbers) / (max(sent.values()) - first)
        # Until every service is done with the burst (exams records the bills' numbers).
        await asyncio.sleep(2)
        used = used_since(before, await platform.database_usage())
        cpu_posts = processes.report("a request, POST to SMS", cpu_before, args.requests)
        command_seconds = time.time() - first
        # Not the baseline: a citizen's own (empty) list, with the burst's requests stored.
        listed, _ = await burst(client, own_list, LIST_CALLS, args.concurrency)

        # End to end at a steady rate: the notifier alone, then the whole platform.
        alone = await direct_bills(
            platform, exchange, range(DIRECT_NUMBERS, DIRECT_NUMBERS + args.paced), args.rate
        )
        paced_before = await platform.database_usage()
        paced_first = time.time()
        whole, http_paced, steps = await paced_requests(
            platform, client, post, args.paced, args.rate
        )
        await asyncio.sleep(2)
        paced_used = used_since(paced_before, await platform.database_usage())
        paced_seconds = time.time() - paced_first
    peaks = platform.peak_rss_mib()

    n, c = args.requests, args.concurrency
    print(f"\nburst: {n} requests by {c} clients; end to end: {args.paced} at {args.rate:g}/s")
    print(f"{'':34}{'per s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    rows = [
        ("GET /v1/catalogue (baseline)", base),
        ("POST /v1/requests", posts),
        (f"GET /v1/requests, {args.requests + 20} stored", listed),
        (f"POST /v1/requests @{args.rate:g}/s", http_paced),
        ("event -> SMS sent (notifier)", alone),
        ("POST -> SMS sent (platform)", whole),
    ]
    for label, figures in rows:
        rate = f"{figures['per_s']:8.1f}" if "per_s" in figures else f"{'':8}"
        print(f"{label:34}{rate}{figures['p50']:9.1f}{figures['p95']:9.1f}{figures['p99']:9.1f}")
    print(f"{'burst POST -> last SMS sent':34}{to_sms:8.1f}")
    print(
        f"ratio     POST/GET: throughput {posts['per_s'] / base['per_s']:.2f}x, "
        f"p50 {posts['p50'] / base['p50']:.2f}x, p95 {posts['p95'] / base['p95']:.2f}x, "
        f"p99 {posts['p99'] / base['p99']:.2f}x"
    )
    print(
        f"ratio     platform/notifier (POST -> SMS vs event -> SMS): "
        f"p50 {whole['p50'] / alone['p50']:.2f}x, p95 {whole['p95'] / alone['p95']:.2f}x, "
        f"p99 {whole['p99'] / alone['p99']:.2f}x"
    )
    print("memory    peak RSS: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in peaks.items()))
    print("\nburst: CPU ms by process (bench/cpu.py, from /proc)")
    print(f"  {cpu_base}")
    print(f"  {cpu_posts}")
    print(
        f"\nend to end by stage ({args.rate:g}/s): median ms from the POST's start "
        f"(the notifier alone, event -> SMS sent: {alone['p50']:.1f} ms)"
    )
    for name, ms in steps:
        print(f"  {name:32}{ms:8.1f}")
    dbcommands.report("burst", used, args.requests, command_seconds, FLOORS)
    dbcommands.report(f"steady ({args.rate:g}/s)", paced_used, args.paced, paced_seconds, FLOORS)


async def direct_bills(
    platform: Platform, exchange: Any, numbers: range, rate: float
) -> dict[str, float]:
    """`payments.bill.issued.v1` published straight to the notifier: publish -> `sent`. Their
    payment reference names no service of the platform (`bench:`), so exams, which consumes
    every bill too, drops them at once (another service's bill) instead of looking for a request
    of its own, not finding it and dead-lettering the bill beside the notifier's work."""
    started: dict[str, float] = {}
    first = time.perf_counter()
    for index, number in enumerate(numbers):
        await paced(index, first, rate)
        event = bill(f"+962796{number % 1_000_000:06d}", number, service="bench")
        started[event.id] = time.time()
        await publish(exchange, event)
    sent = await platform.sent_times({"event_id": {"$in": list(started)}}, "event_id", len(started))
    return quantiles_ms([sent[i] - started[i] for i in started])


async def paced_requests(
    platform: Platform, client: httpx.AsyncClient, post: Call, count: int, rate: float
) -> tuple[dict[str, float], dict[str, float], list[tuple[str, float]]]:
    """`count` POSTs at `rate` a second, each on time whatever the others take: POST -> `sent`,
    the POSTs' own HTTP latency, and the stages in between (`stages`)."""
    started: dict[str, float] = {}
    answered: dict[str, float] = {}
    http: list[float] = []

    async def one(number: int) -> None:
        at, clock = time.time(), time.perf_counter()
        response = await post(client, number)
        http.append(time.perf_counter() - clock)
        number_ = response.json()["request_number"]
        started[number_], answered[number_] = at, time.time()

    tasks = []
    first = time.perf_counter()
    for number in range(count):
        await paced(number, first, rate)
        tasks.append(asyncio.create_task(one(number)))
    await asyncio.gather(*tasks)
    sent = await platform.sent_times(
        {"request_number": {"$in": list(started)}}, "request_number", count
    )
    steps = await stages(platform, started, answered)
    return quantiles_ms([sent[n] - started[n] for n in started]), quantiles_ms(http), steps


async def stages(
    platform: Platform, started: dict[str, float], answered: dict[str, float]
) -> list[tuple[str, float]]:
    """Where the end-to-end time goes: the median ms from each POST's start to each stage, read
    from the times the services stored (exams' `submitted_at`, payments' `issued_at`, the
    notifier's `created_at`, `sending_at` and `sent_at`; one clock, this machine's)."""
    numbers = list(started)
    db = {name: platform.mongo[platform.databases[name]] for name in SERVICES}
    at: dict[str, dict[str, float]] = {n: {"POST answered": answered[n]} for n in numbers}
    async for request in db["exams"]["requests"].find({"_id": {"$in": numbers}}):
        at[request["_id"]]["exams: submitted_at"] = request["submitted_at"].timestamp()
    async for issued in db["payments"]["bills"].find({"request_number": {"$in": numbers}}):
        at[issued["request_number"]]["payments: issued_at"] = issued["issued_at"].timestamp()
    query = {"request_number": {"$in": numbers}, "template": TEMPLATE}
    async for message in db["notifier"]["messages"].find(query):
        for field in ("created_at", "sending_at", "sent_at"):
            if message.get(field) is not None:
                at[message["request_number"]][f"notifier: {field}"] = message[field].timestamp()
    names = {name for times in at.values() for name in times}
    medians = [
        (name, 1000 * statistics.median(t[name] - started[n] for n, t in at.items() if name in t))
        for name in names
    ]
    return sorted(medians, key=lambda item: item[1])


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="POSTs in the burst")
    parser.add_argument(
        "--baseline-calls", type=int, default=1000, help="GETs of the catalogue, baseline"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients, burst")
    parser.add_argument("--paced", type=int, default=100, help="POSTs (and bills) at --rate")
    parser.add_argument("--rate", type=float, default=5.0, help="a second, end-to-end run")
    args = parser.parse_args()
    amqp_url, mongo_url = infra_urls()
    folder = Path(tempfile.mkdtemp(prefix="bench-requests-"))
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    vhost = f"bench-requests-{uuid.uuid4().hex[:8]}"
    failed = True
    try:
        async with isolated_broker(amqp_url, vhost, required=True) as broker:
            platform = Platform(broker.url, broker.connection, mongo, folder)
            try:
                await platform.start()
                await run(platform, args)
                failed = False
            finally:
                await platform.stop()
    finally:
        await mongo.close()
        if failed:
            print(f"the services' logs are in {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
