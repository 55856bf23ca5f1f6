"""The acceptance suite: the platform used as the READMEs tell a person to use it.

One fixture, `platform`, starts the whole platform once for the suite through the code path of
`make run` (`python -m deploy.run`; `make test` has already run `make run`'s two other steps,
install and infra-up) and stops it as Ctrl-C does. Everything else goes through what the READMEs
give a person: tokens from `make token SUB=... ROLES=...`, HTTP to the services' APIs and the
notifier's message list, the payment simulator command as the bank, and the clock file for time.

It runs beside a developer's `make run` and beside other runs of itself on one broker and one
database server: its own ports (`RUN_PORT_BASE`), its own databases (`RUN_DATABASE_PREFIX`), its
own RabbitMQ virtual host (through `AMQP_URL`), its own clock file and log directory. Only that
isolation (creating and deleting the virtual host and the databases) touches the infrastructure.

The Node.js reference subscriber (`contracts/examples/node-subscriber/`) listens to the whole walk
with a subscribing system's own user (fixture `node_subscriber`): an event it finds invalid, or
of a type with no published schema, fails the suite.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx
import pytest

from deploy import run
from services.common.clock import FileClock, set_file_clock
from services.notifier.domain import shorten
from tests.integration.helpers import management_api, management_auth, port_free

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120.0


def _free_base() -> int:
    """A port base whose seven ports are free now (or ACCEPTANCE_PORT_BASE)."""
    chosen = os.environ.get("ACCEPTANCE_PORT_BASE")
    if chosen:
        return int(chosen)
    for _ in range(50):
        base = 20000 + 100 * (uuid.uuid4().int % 400)
        if all(port_free(base + offset) for offset in run.PORT_OFFSETS.values()):
            return base
    raise RuntimeError("no free port range for the acceptance platform")


def _infra() -> dict[str, str]:
    env_file = ROOT / ".local" / "infra.env"
    if not env_file.exists():
        pytest.fail("no .local/infra.env: run `make infra-up` (the acceptance suite never skips)")
    return run.infra_env()


def _vhost(amqp_url: str, name: str, *, delete: bool = False) -> str:
    """Create (or delete) a virtual host of its own; the AMQP URL into it."""
    parts = urlsplit(amqp_url)
    auth, api = management_auth(amqp_url), management_api(amqp_url)
    with httpx.Client(timeout=10, auth=auth) as client:
        if delete:
            client.delete(f"{api}/vhosts/{name}")
            return amqp_url
        client.put(f"{api}/vhosts/{name}").raise_for_status()
        client.put(
            f"{api}/permissions/{name}/{auth[0]}",
            json={"configure": ".*", "write": ".*", "read": ".*"},
        ).raise_for_status()
    return urlunsplit(parts._replace(path="/" + quote(name, safe="")))


@dataclass
class Platform:
    """A running platform, and what a person uses to try it."""

    ports: dict[str, int]
    clock_file: Path
    amqp_url: str
    log_dir: Path
    otp_code: str | None
    banner: str
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    # ---- what the READMEs give a person -------------------------------------------------------

    def token(self, sub: str, roles: str) -> str:
        """`make token SUB=<sub> ROLES=<roles>`, the README's command; its last line."""
        key = (sub, roles)
        if key not in self._tokens:
            done = subprocess.run(
                ["make", "--no-print-directory", "token", f"SUB={sub}", f"ROLES={roles}"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            )
            self._tokens[key] = done.stdout.strip().splitlines()[-1]
        return self._tokens[key]

    def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        as_: tuple[str, str] | None = None,
        expect: int | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if as_ is not None:
            headers["Authorization"] = f"Bearer {self.token(*as_)}"
        response = httpx.request(
            method, self.url(service) + path, headers=headers, timeout=30, **kwargs
        )
        if expect is not None:
            assert response.status_code == expect, (
                f"{method} {service}{path}: {response.status_code} {response.text}"
            )
        return response

    def pay(self, e_payment_number: str) -> str:
        """`python -m services.payments.simulator pay <number>`, as the bank; its output."""
        done = subprocess.run(
            [sys.executable, "-m", "services.payments.simulator", "pay", e_payment_number],
            cwd=ROOT,
            env={
                **os.environ,
                "PAYMENTS_URL": self.url("payments"),
                "CLOCK_FILE": str(self.clock_file),
                "ENVIRONMENT": "development",
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"the simulator could not pay: {done.stdout} {done.stderr}"
        return done.stdout

    def now(self) -> datetime:
        """The platform's time (the clock file's): later tests move on from it, never back."""
        return FileClock(self.clock_file).now()

    def move_clock(self, instant: datetime) -> None:
        """Write an ISO instant to the clock file, as the READMEs say."""
        set_file_clock(self.clock_file, instant)
        time.sleep(0.5)  # each service re-reads the file at most every 0.2 s

    def messages(self, request_number: str) -> list[dict[str, Any]]:
        """The notifier's message list for a request, oldest first (as notifier.staff)."""
        response = self.call(
            "GET",
            "notifier",
            "/v1/messages",
            as_=("staff-1", "notifier.staff"),
            params={"request_number": request_number, "page_size": 100},
            expect=200,
        )
        items: list[dict[str, Any]] = response.json()["items"]
        return sorted(items, key=lambda item: str(item.get("created_at", "")))

    def sms(self, request_number: str, template: str, *, timeout: float = 30) -> str:
        """The text of the SMS `template` sent about a request, once it is there."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            found = [m for m in self.messages(request_number) if m["template"] == template]
            if found:
                assert len(found) == 1, f"{template} sent {len(found)} times"
                return str(found[0]["text"])
            seen = [m["template"] for m in self.messages(request_number)]
            time.sleep(0.3)
        raise AssertionError(f"no SMS {template} for {request_number} in {timeout}s; seen {seen}")

    def bill_sms(self, request_number: str, bill: dict[str, Any], owner: tuple[str, str]) -> str:
        """The exact Arabic SMS payments sends for a pending bill as the inquiry shows it; the
        description (what the bill is for, in 30 characters) is read from payments' bill API."""
        number = bill["e_payment_number"]
        found = self.call("GET", "payments", f"/v1/bills/{number}", as_=owner, expect=200).json()
        description = shorten(found["description"]["ar"], 30)
        return (
            f"أمانة عمّان الكبرى: رقم الدفع الإلكتروني للطلب {request_number} هو {number} بمبلغ "
            f"{bill['amount']} دينار ({description}). يُدفع عبر إي فواتيركم (رقم المفوتر 106) "
            f"قبل {bill['due']}."
        )

    def until(
        self, service: str, path: str, as_: tuple[str, str], check: Any, timeout: float = 30
    ) -> dict[str, Any]:
        """GET `path` until `check(body)` holds; the body."""
        deadline = time.monotonic() + timeout
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            body = self.call("GET", service, path, as_=as_, expect=200).json()
            if check(body):
                return body
            time.sleep(0.3)
        raise AssertionError(f"{service}{path} never matched: {json.dumps(body)[:2000]}")


def _read_banner(process: subprocess.Popen[str], deadline: float) -> str:
    """`make run`'s output up to its last banner line (or its end)."""
    assert process.stdout is not None
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Ctrl-C stops the services"):
            break
    return "".join(lines)


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The whole platform, started once for the suite as `make run` starts it."""
    infra = _infra()
    name = f"acceptance-{uuid.uuid4().hex[:8]}"
    amqp_url = _vhost(infra["AMQP_URL"], name)
    directory = tmp_path_factory.mktemp("acceptance")
    base = _free_base()
    prefix = name.replace("-", "_") + "_"
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "RUN_PORT_BASE": str(base),
        "RUN_DATABASE_PREFIX": prefix,
        "RUN_LOG_DIR": str(directory / "logs"),
        "CLOCK_FILE": str(directory / "clock"),
        "AMQP_URL": amqp_url,
        "OUTBOX_POLL_SECONDS": "0.5",
        "SWEEPER_POLL_SECONDS": "0.5",
        "PYTHONUNBUFFERED": "1",
    }
    for inherited in ("CONTRACTORS_OTP_DEV_CODE", "JWT_PUBLIC_KEY", "JWT_PUBLIC_KEY_FILE"):
        env.pop(inherited, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    banner = _read_banner(process, time.monotonic() + START_TIMEOUT)
    otp = None
    for line in banner.splitlines():
        if line.startswith(run.OTP_LINE):
            otp = line.removeprefix(run.OTP_LINE).strip()
    # Stopped with SIGTERM (a CI timeout), pytest would die without its teardown and leave the
    # platform running: make SIGTERM an interrupt, which pytest tears down after.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    platform = Platform(
        ports=run.ports(env),
        clock_file=directory / "clock",
        amqp_url=amqp_url,
        log_dir=directory / "logs",
        otp_code=otp,
        banner=banner,
    )
    try:
        if "FAILED" in banner or process.poll() is not None:
            logs = "\n".join(
                f"--- {log.name}\n{log.read_text()[-3000:]}"
                for log in sorted((directory / "logs").glob("*.log"))
            )
            pytest.fail(f"make run did not start the platform:\n{banner}\n{logs}")
        yield platform
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does in a terminal
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        _vhost(infra["AMQP_URL"], name, delete=True)
        _drop_databases(infra["MONGO_URL"], prefix)
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _drop_databases(mongo_url: str, prefix: str) -> None:
    import pymongo

    client: pymongo.MongoClient[Any] = pymongo.MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    try:
        for database in client.list_database_names():
            if database.startswith(prefix):
                client.drop_database(database)
    finally:
        client.close()


@pytest.fixture(scope="session", autouse=True)
def node_subscriber(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The Node.js reference subscriber (contracts/examples/node-subscriber/) listens to every
    event the walk produces, as a subscribing system does: its own RabbitMQ user with the rights
    of contracts/README.md, its own queue bound `#` on `amman.events`. After the walk, an event
    that failed its validation, or of a type with no published schema, fails the suite."""
    from tests.integration import node_subscriber as node

    vhost = unquote(urlsplit(platform.amqp_url).path.removeprefix("/"))
    report_file = tmp_path_factory.mktemp("node-subscriber") / "report.json"
    with node.subscriber_user(_infra()["AMQP_URL"], vhost) as url:
        subscriber = node.start(url, report_file)
        try:
            yield
        finally:
            report = subscriber.stop()
    problems = node.check_report(report, schemas=node.published_schemas())
    if problems:
        pytest.fail(
            f"the Node subscriber, over {report['received']} events of the walk:\n"
            + "\n".join(problems)
        )
