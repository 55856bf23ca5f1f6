"""Fixtures for the integration and end-to-end suites: the real RabbitMQ and MongoDB server.

The infrastructure comes from `deploy/infra.sh` (AMQP_URL/MONGO_URL from the environment, else
testcontainers when a Docker engine answers, else the local RabbitMQ and FerretDB). If it cannot be
had, every test here FAILS with the reason: integration tests never skip for lack of infrastructure.
One broker and one database server serve the whole run; each test gets its own database.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from pymongo import AsyncMongoClient

from services.common.devtoken import ensure_dev_keys, mint_token
from tests.integration.codekeys import CODE_PRIVATE_KEY, CODE_PUBLIC_KEY
from tests.integration.helpers import (
    CommandNames,
    close_vhost,
    management_api,
    management_auth,
    open_vhost,
)

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "deploy" / "infra.sh"


@dataclass(frozen=True)
class Infra:
    amqp_url: str
    mongo_url: str
    mode: str

    def run(self, *args: str) -> None:
        """Drive the broker through the infra script (local mode only)."""
        if self.mode != "local":
            raise RuntimeError(
                f"this test stops and starts RabbitMQ through deploy/infra.sh, which it can do "
                f"only for the local infrastructure, not for mode {self.mode!r}"
            )
        subprocess.run(["bash", str(INFRA), *args], check=True, cwd=ROOT)


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    """The broker and database of the run. Under pytest-xdist (`make test` runs two workers) each
    worker gets a RabbitMQ virtual host of its own, so that one worker's services never consume
    the other's events (a payments process would bill the other worker's requests); the
    broker-stopping `disruptive` tests run afterwards, alone, on the broker's default one."""
    found = _infra()
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        yield found
        return
    name = f"tests-{worker}-{uuid.uuid4().hex[:8]}"
    url = _worker_vhost(found.amqp_url, name)
    try:
        yield Infra(url, found.mongo_url, found.mode)
    finally:
        close_vhost(found.amqp_url, name)


def _worker_vhost(amqp_url: str, name: str) -> str:
    try:
        return open_vhost(amqp_url, name)
    except httpx.HTTPError as error:
        pytest.fail(
            f"a parallel test run needs RabbitMQ's management API to give each worker a virtual "
            f"host of its own ({error}); run the tests in one process (`-p no:xdist`) instead",
            pytrace=False,
        )


def _infra() -> Infra:
    result = subprocess.run(
        ["bash", str(INFRA), "env"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            "the integration tests need RabbitMQ and a MongoDB-protocol server, and "
            f"deploy/infra.sh could not provide them:\n{result.stderr}",
            pytrace=False,
        )
    values: dict[str, str] = {}
    for line in result.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        values[name] = shlex.split(value)[0] if value else ""
    return Infra(values["AMQP_URL"], values["MONGO_URL"], values.get("INFRA_MODE", "external"))


@pytest.fixture(scope="session")
def jwt_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    private, public = ensure_dev_keys(tmp_path_factory.mktemp("keys"))
    return private.read_text(), public.read_text()


@pytest.fixture(scope="session")
def token_for(jwt_keys: tuple[str, str]) -> Any:
    def mint(subject: str, *roles: str) -> str:
        return mint_token(subject, roles or ("citizen",), private_key_pem=jwt_keys[0])

    return mint


@pytest.fixture(scope="session")
async def mongo(infra: Infra) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    await client.admin.command("ping")
    yield client
    await client.close()


Watched = tuple[AsyncMongoClient[dict[str, Any]], CommandNames]


@pytest.fixture
async def watched(infra: Infra) -> AsyncIterator[Watched]:
    """A client of the test's own, and the names of the commands it sends, in order."""
    commands = CommandNames()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        infra.mongo_url, tz_aware=True, event_listeners=[commands]
    )
    yield client, commands
    await client.close()


@pytest.fixture
async def database_name(mongo: AsyncMongoClient[dict[str, Any]]) -> AsyncIterator[str]:
    """A database name of the test's own; when the test ends (its service processes stopped
    first: they are fixtures that depend on it), that database and every `<name>_<suffix>` one
    (a platform's per service) are dropped, so the suite leaves nothing in the local server that
    `make run` uses too."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    for found in await mongo.list_database_names():
        if found == name or found.startswith(f"{name}_"):
            await mongo.drop_database(found)


@pytest.fixture(scope="session")
async def amqp(infra: Infra) -> AsyncIterator[aio_pika.abc.AbstractRobustConnection]:
    connection = await aio_pika.connect_robust(infra.amqp_url)
    yield connection
    await connection.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServiceProcess:
    """A service run the way production runs it: its own process, configured by environment."""

    module: str
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    # Where this start's lines begin in the (appended) log.
    log_start: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def queue(self, name: str) -> str:
        """The name this process gives its queue `name` (see `QUEUE_SUFFIX`)."""
        suffix = self.env.get("QUEUE_SUFFIX")
        return f"{name}.{suffix}" if suffix else name

    def start(self) -> ServiceProcess:
        env = {**os.environ, **self.env, "HTTP_PORT": str(self.port), "HTTP_HOST": "127.0.0.1"}
        self.log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        return self

    async def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        rebinds = 3
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                if rebinds and self._port_was_taken():
                    # `free_port` only found the port free: another test's process (the other
                    # pytest worker's) can bind it first. Start again on another one.
                    rebinds -= 1
                    self.port = free_port()
                    self.start()
                    continue
                raise AssertionError(f"{self.module} exited: {self.log_tail()}")
            try:
                async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as client:
                    response = await client.get("/health/ready")
                if response.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
        raise AssertionError(f"{self.module} not ready in {timeout}s: {self.log_tail()}")

    def _port_was_taken(self) -> bool:
        """Whether this start ended because its HTTP port was in use."""
        with self.log_path.open("rb") as log:
            log.seek(self.log_start)
            return b"address already in use" in log.read()

    def terminate(self, timeout: float = 30.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def wait_exit(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def service_env(infra: Infra, jwt_keys: tuple[str, str], database_name: str) -> dict[str, str]:
    """The environment every service process in a test gets."""
    return {
        "ENVIRONMENT": "test",
        "AMQP_URL": infra.amqp_url,
        "MONGO_URL": infra.mongo_url,
        "MONGO_DATABASE": database_name,
        "QUEUE_TYPE": os.environ.get("QUEUE_TYPE", "classic"),
        "JWT_PUBLIC_KEY": jwt_keys[1],
        "NOTIFIER_CODE_PUBLIC_KEY": CODE_PUBLIC_KEY,
        # Read by the notifier only (the other services' settings have no such field).
        "NOTIFIER_CODE_PRIVATE_KEY": CODE_PRIVATE_KEY,
        "OUTBOX_POLL_SECONDS": "0.5",
        "SWEEPER_POLL_SECONDS": "0.5",
        "LOG_LEVEL": "INFO",
    }


@pytest.fixture
async def start_service(
    tmp_path: Path, service_env: dict[str, str], amqp: aio_pika.abc.AbstractRobustConnection
) -> AsyncIterator[Any]:
    """Start service processes for one test; all are stopped when it ends.

    Each test's processes name their queues with a suffix of their own (`QUEUE_SUFFIX`), so no
    message of another test reaches them; the queues are deleted when the test ends.
    """
    started: list[ServiceProcess] = []
    suffix = uuid.uuid4().hex[:8]

    def start(module: str, **env: str) -> ServiceProcess:
        name = module.rsplit(".", 1)[-1]
        log = tmp_path / f"{name}-{len(started)}.log"
        merged = {"QUEUE_SUFFIX": suffix, **service_env, **env}
        process = ServiceProcess(module, merged, log).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.terminate(timeout=20)
    await delete_suffixed_queues(amqp, suffix)


async def delete_suffixed_queues(
    connection: aio_pika.abc.AbstractRobustConnection, suffix: str
) -> None:
    """Delete every queue whose name ends with `.<suffix>` or `.<suffix>.dlq` (management API)."""
    async with httpx.AsyncClient(timeout=5) as client:
        try:
            url = str(connection.url)
            response = await client.get(
                f"{management_api(url)}/queues?columns=name", auth=management_auth(url)
            )
            names = [queue["name"] for queue in response.json()]
        except (httpx.HTTPError, ValueError, TypeError):
            return  # no management API (external broker): the queues stay, unconsumed
    channel = await connection.channel()
    try:
        for name in names:
            if name.endswith((f".{suffix}", f".{suffix}.dlq")):
                await channel.queue_delete(name)
    finally:
        await channel.close()


async def eventually(
    probe: Any, *, timeout: float = 20.0, interval: float = 0.2, message: str = ""
) -> Any:
    """Poll an async probe until it returns a truthy value; fail with `message` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"not within {timeout}s: {message} (last: {last!r})")
