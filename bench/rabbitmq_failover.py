"""Quorum queues on a three-node RabbitMQ cluster: kill the node that leads the queues under load.

    .venv/bin/python -m bench.rabbitmq_failover
        (--requests 120 --rate 4 --pay 0 are the defaults)

Production runs quorum queues on a RabbitMQ cluster; the local single node runs classic queues
(deploy/README.md, "Queue type"), so this is where the production queue type is tested. Three
nodes of Debian's rabbitmq-server are started on this machine (`deploy/rabbitmq-cluster.sh start
failover 3`: AMQP 5781-5783, distribution 25781-25783, management 15781-15783, data under
.local/rabbitmq/failover/) and clustered; exams, payments and the notifier run with
`QUEUE_TYPE=quorum` and `AMQP_URL` listing the three nodes (services.common.broker: a connection
fails over to the next node). Citizens submit trial exam requests at `--rate` a second (as in
bench.chaos, retrying with the same `Idempotency-Key`). Halfway, the node that leads most of the
services' queues (all of them, in practice: a quorum queue's leader is placed on the node its
declaring client is connected to, and every service connects to the first node it lists) is
SIGKILLed by its pid, and started again once the load is over.

Figures: from the kill, when every consumer queue has a leader on a live node and consumers again
(asked of a surviving node every 0.25 s); when payments issued its first bill and the notifier
recorded and sent its first SMS after the kill (from their databases); the request-to-SMS latency
of requests submitted before the kill (p50) and the worst of those submitted around it. Then the
same table as bench.chaos: nothing lost, nothing twice. Exit status 1 on any loss or duplicate.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.chaos import CLUSTER, ROOT, Chaos, cluster, print_report

BILL_SMS = "payments.bill.issued.v1"


def longest_gap(times: list[datetime]) -> str:
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    return f"{max(gaps):.2f}" if gaps else "-"


class Failover(Chaos):
    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        super().__init__(args, folder)
        self.queue_type = "quorum"
        self.management_node = 2
        self.killed_node: int | None = None
        self.killed_at: datetime | None = None
        self.killed_monotonic = 0.0
        self.queues_back_after: float | None = None
        self.post_times: dict[int, datetime] = {}

    def start_broker(self) -> str:
        if not self.args.reuse_cluster:
            shutil.rmtree(ROOT / ".local" / "rabbitmq" / self.node, ignore_errors=True)
        urls = cluster("start", self.node, "3", str(self.args.rabbitmq_base)).split(",")
        # A reused cluster keeps the queues where an earlier run's failover left their leaders:
        # list that node first, so that it holds the services' connections too (the worst case).
        if self.queues(1 if len(urls) < 2 else 2):
            first = self.leader_node() - 1
            urls = urls[first:] + urls[:first]
        return ",".join(urls)

    async def stop(self) -> None:
        if self.killed_node is not None:
            await asyncio.to_thread(cluster, "restart", self.node, str(self.killed_node))
        if self.args.reuse_cluster:
            for process in self.processes.values():
                await asyncio.to_thread(process.terminate, 30)
            if not self.args.keep:
                for database in self.databases.values():
                    await self.mongo.drop_database(database)
            await self.mongo.close()
            return
        await super().stop()

    def queues(self, node: int) -> list[tuple[str, str, int]]:
        """(name, leader, consumers) of the services' queues, asked of `node`."""
        done = subprocess.run(
            ["bash", str(CLUSTER), "ctl", self.node, str(node), "-q", "list_queues",
             "name", "leader", "consumers", "--no-table-headers", "--timeout", "5"],
            capture_output=True, text=True, check=False, cwd=ROOT,
        )  # fmt: skip
        rows = []
        for line in done.stdout.splitlines():
            parts = line.split()
            if len(parts) == 3 and not parts[0].endswith(".dlq"):
                rows.append((parts[0], parts[1], int(parts[2]) if parts[2].isdigit() else 0))
        return rows

    def leader_node(self) -> int:
        rows = self.queues(2) or self.queues(1)
        leaders = [leader for _, leader, _ in rows]
        best = max(set(leaders), key=leaders.count)
        print(f"queue leaders before the kill: {dict((n, leaders.count(n)) for n in set(leaders))}")
        return int(best.split("@")[0].rsplit("-", 1)[1])

    async def watch_queues(self) -> None:
        """From the kill until every service queue has a live leader and a consumer."""
        dead = f"{self.node}-{self.killed_node}@"
        survivor = 1 if self.killed_node != 1 else 2
        while time.monotonic() - self.killed_monotonic < 300:
            rows = await asyncio.to_thread(self.queues, survivor)
            if rows and all(
                not leader.startswith(dead) and consumers > 0 for _, leader, consumers in rows
            ):
                self.queues_back_after = time.monotonic() - self.killed_monotonic
                return
            await asyncio.sleep(0.25)

    async def kill_leader(self, node: int, delay: float) -> None:
        await asyncio.sleep(delay)
        await asyncio.to_thread(cluster, "kill", self.node, str(node))
        self.killed_node = node
        self.management_node = 1 if node != 1 else 2  # dead letters are counted on a survivor
        self.killed_at = datetime.now(UTC)
        self.killed_monotonic = time.monotonic()
        print(f"killed node {node} at {self.killed_at.time()}")
        await self.watch_queues()

    async def submit_timed(self, client: httpx.AsyncClient, citizen: int) -> None:
        self.post_times[citizen] = datetime.now(UTC)
        await self.submit(client, citizen, None)

    async def load(self) -> None:
        count = self.args.requests
        window = count / self.args.rate
        # Asked before the load: rabbitmqctl is slow on a busy machine, the kill must be on time.
        leader = await asyncio.to_thread(self.leader_node)
        killer = asyncio.create_task(self.kill_leader(leader, window / 2))
        async with httpx.AsyncClient(timeout=15) as client:
            first = time.monotonic()
            tasks = []
            for citizen in range(count):
                await asyncio.sleep(max(0.0, first + citizen / self.args.rate - time.monotonic()))
                tasks.append(asyncio.create_task(self.submit_timed(client, citizen)))
            await asyncio.gather(*tasks)
        await killer

    async def figures(self) -> list[str]:
        assert self.killed_at is not None
        kill = self.killed_at
        bills = (
            await self.mongo[self.databases["payments"]]["bills"]
            .find({}, {"request_number": 1, "issued_at": 1})
            .to_list()
        )
        messages = (
            await self.mongo[self.databases["notifier"]]["messages"]
            .find({"template": BILL_SMS}, {"request_number": 1, "created_at": 1, "sent_at": 1})
            .to_list()
        )

        def pause(times: list[datetime]) -> str:
            """The longest wait between two consecutive items in the 60 s after the kill (from
            the kill to the first after it included), beside the longest in the 60 s before."""
            ordered = sorted(times)
            after = [kill, *(t for t in ordered if kill < t <= kill + timedelta(seconds=60))]
            before = [t for t in ordered if kill - timedelta(seconds=60) <= t <= kill]
            return (
                f"{longest_gap(after)} s (in the minute before the kill: {longest_gap(before)} s)"
            )

        sent = {m["request_number"]: m.get("sent_at") for m in messages}
        number_of = {citizen: number for citizen, number in self.tally.accepted.items()}
        before, around = [], []
        for citizen, posted in self.post_times.items():
            at = sent.get(number_of.get(citizen, ""))
            if at is None:
                continue
            latency = (at - posted).total_seconds()
            if posted < kill:
                (around if (kill - posted).total_seconds() < 10 else before).append(latency)
            elif (posted - kill).total_seconds() < 10:
                around.append(latency)
        lines = [
            f"node killed: {self.node}-{self.killed_node} (the queues' leader)",
            "every service queue led from a live node and consumed again after: "
            + (f"{self.queues_back_after:.1f} s" if self.queues_back_after else "not within 300 s"),
            "longest pause between bills issued (payments consuming): "
            + pause([bill["issued_at"] for bill in bills]),
            "longest pause between SMS recorded (the notifier consuming): "
            + pause([message["created_at"] for message in messages]),
            "longest pause between SMS sent: "
            + pause([message["sent_at"] for message in messages if message.get("sent_at")]),
        ]
        if before:
            lines.append(f"request to SMS sent, requests well before the kill: p50 "
                         f"{statistics.median(before):.2f} s, max {max(before):.2f} s")  # fmt: skip
        if around:
            lines.append(f"request to SMS sent, requests within 10 s of the kill: max "
                         f"{max(around):.2f} s, p50 {statistics.median(around):.2f} s")  # fmt: skip
        lines.extend(await self.slowest(kill, sent, bills, messages))
        return lines

    async def slowest(
        self,
        kill: datetime,
        sent: dict[str, datetime | None],
        bills: list[dict[str, Any]],
        messages: list[dict[str, Any]],
    ) -> list[str]:
        """Where the slowest request posted within 10 s of the kill spent its time."""
        near = [
            (citizen, posted)
            for citizen, posted in self.post_times.items()
            if abs((posted - kill).total_seconds()) < 10 and citizen in self.tally.accepted
        ]
        timed = [
            ((sent[self.tally.accepted[c]] - posted).total_seconds(), c, posted)  # type: ignore[operator]
            for c, posted in near
            if sent.get(self.tally.accepted[c]) is not None
        ]
        if not timed:
            return []
        _, citizen, posted = max(timed)
        number = self.tally.accepted[citizen]
        request = await self.mongo[self.databases["exams"]]["requests"].find_one(
            {"_id": number}, {"submitted_at": 1}
        )
        bill = next((b for b in bills if b["request_number"] == number), {})
        message = next((m for m in messages if m["request_number"] == number), {})
        steps = [
            ("stored", (request or {}).get("submitted_at")),
            ("bill issued", bill.get("issued_at")),
            ("SMS recorded", message.get("created_at")),
            ("SMS sent", message.get("sent_at")),
        ]
        return [
            f"the slowest of them ({number}, posted {(posted - kill).total_seconds():+.1f} s "
            "from the kill): "
            + ", ".join(
                f"{name} +{(at - posted).total_seconds():.2f} s" for name, at in steps if at
            )
        ]


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rabbitmq_failover")
    parser.add_argument("--requests", type=int, default=120)
    parser.add_argument("--rate", type=float, default=4.0)
    parser.add_argument("--pay", type=int, default=0)
    parser.add_argument("--settle-timeout", type=float, default=240)
    parser.add_argument("--quiet-seconds", type=float, default=6)
    parser.add_argument("--give-up-after", type=float, default=240)
    parser.add_argument("--port-base", type=int, default=18150)
    parser.add_argument("--rabbitmq-base", type=int, default=5780)
    parser.add_argument("--node", default="failover")
    parser.add_argument("--mongo-url", default=None)
    parser.add_argument("--reuse-cluster", action="store_true", help="leave the cluster running")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    args.random_kills = args.aimed_kills = 0

    folder = Path(tempfile.mkdtemp(prefix="failover-"))
    failover = Failover(args, folder)
    first = time.monotonic()
    ok = False
    try:
        await failover.start()
        failover.started = time.monotonic()
        await failover.load()
        if args.pay:
            await failover.payments()
        snapshot = await failover.settle()
        rows = await failover.report(snapshot)
        ok = print_report(failover, rows, time.monotonic() - first)
        print("\nfailover:")
        for line in await failover.figures():
            print(" ", line)
        ok = ok and failover.queues_back_after is not None
    finally:
        await failover.stop()
        print(f"logs: {folder}" if args.keep or not ok else "")
        if not (args.keep or not ok):
            shutil.rmtree(folder, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
