"""The tests' use of RabbitMQ's management API reaches the broker they were given, wherever its
management API listens (`RABBITMQ_MANAGEMENT_URL`; deploy/infra.sh records it, and the Docker path
maps it to a port of its own). Until the seventh session the tests called 127.0.0.1:15672 whatever
`AMQP_URL` said: against any other broker, their virtual hosts and users were made on the wrong one.

A RabbitMQ node of the test's own (`deploy/rabbitmq-cluster.sh`: AMQP and management on ports
other than the shared node's 5672 and 15672) stands for such a broker.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import httpx
import pytest

from tests.integration.conftest import Infra
from tests.integration.helpers import close_vhost, management_api, open_vhost, port_free
from tests.integration.node_subscriber import subscriber_user

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "deploy" / "rabbitmq-cluster.sh"


def _cluster(*args: str) -> str:
    done = subprocess.run(
        ["bash", str(CLUSTER), *args], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert done.returncode == 0, f"rabbitmq-cluster.sh {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


@pytest.fixture(scope="module")
def node(infra: Infra) -> Iterator[tuple[str, str]]:
    """A one-node broker of the module's own: its AMQP URL and its management URL."""
    if infra.mode != "local":
        pytest.fail("this test starts a RabbitMQ node of its own: local infrastructure only")
    # The node's ports: AMQP base+1, management 10000+base+1, distribution 20000+base+1.
    base = next(
        b
        for b in range(5810, 5900, 5)
        if all(port_free(offset + b + 1) for offset in (0, 10_000, 20_000))
    )
    name = f"mgmt-{uuid.uuid4().hex[:6]}"
    try:
        _cluster("start", name, "1", str(base))
        yield _cluster("urls", name), f"http://127.0.0.1:{10_000 + base + 1}/"
    finally:
        _cluster("stop", name)
        shutil.rmtree(ROOT / ".local" / "rabbitmq" / name, ignore_errors=True)


def _vhosts(api: str) -> set[str]:
    answer = httpx.get(f"{api}/vhosts", auth=("guest", "guest"), timeout=10)
    answer.raise_for_status()
    return {vhost["name"] for vhost in answer.json()}


async def test_a_virtual_host_and_a_subscribers_user_are_made_on_the_broker_named(
    node: tuple[str, str], infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> None:
    amqp_url, management_url = node
    monkeypatch.setenv("AMQP_URL", amqp_url)
    monkeypatch.setenv("RABBITMQ_MANAGEMENT_URL", management_url)
    api = management_api(amqp_url)
    assert api == management_url.rstrip("/") + "/api"
    shared = management_api(infra.amqp_url)
    assert shared != api
    name = f"tests-address-{uuid.uuid4().hex[:8]}"

    url = open_vhost(amqp_url, name)
    try:
        assert name in _vhosts(api)
        assert name not in _vhosts(shared)
        connection = await aio_pika.connect(url)  # the vhost is there, on that broker
        await connection.close()
        # The operators' step for a subscribing system (node_subscriber.py, the acceptance walk).
        with subscriber_user(amqp_url, name) as subscriber_url:
            connection = await aio_pika.connect(subscriber_url)
            await connection.close()
    finally:
        close_vhost(amqp_url, name)
    assert name not in _vhosts(api)
