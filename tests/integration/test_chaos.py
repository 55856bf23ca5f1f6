"""The chaos benchmark's short configuration: nothing lost, nothing twice, whatever is killed when.

`bench/chaos.py` starts exams, payments and the notifier as processes on a RabbitMQ node of its own
(never the shared one), drives citizens' exam requests with retries, SIGKILLs every service (aimed,
a few milliseconds after a call, and at random) and the broker, pays bills while killing payments
and exams, and exits 1 on any lost or duplicate request, bill, SMS or paid step. Marked
`disruptive`: it runs after every other test; it took 3 min 16 s on the shared 2-core machine
under load (about a minute of it starting the node and the services).
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.integration.conftest import ROOT, Infra

pytestmark = [pytest.mark.integration, pytest.mark.disruptive]


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports above 20000."""
    for base in range(20_000, 30_000, 10):
        try:
            for port in range(base + 1, base + 1 + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free ports")


def test_chaos_short_run_loses_nothing_and_duplicates_nothing(infra: Infra) -> None:
    if infra.mode != "local":
        pytest.fail("the chaos run starts its own RabbitMQ node: local infrastructure only")
    command = [
        sys.executable, "-m", "bench.chaos",
        "--requests", "24", "--rate", "4", "--pay", "6",
        "--aimed-kills", "1", "--random-kills", "1",
        "--quiet-seconds", "4", "--settle-timeout", "150", "--give-up-after", "150",
        "--port-base", str(free_ports(3)), "--node", "chaos-ci", "--rabbitmq-base", "5795",
        "--mongo-url", infra.mongo_url,
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=420)
    print(done.stdout)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-3000:]}"
    assert "result: 0 lost, 0 duplicates" in done.stdout
