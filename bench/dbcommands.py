"""Database commands per citizen request, counted and timed by the services themselves.

Every service counts each command its MongoDB client sends (PyMongo's command monitoring,
`services/common/mongo.py`): `mongo_commands_total{command, collection, purpose}` at `/metrics`,
and sums the time the database took to answer (`mongo_command_seconds_total`, the same labels).
A benchmark takes a snapshot of each service before and after a number of requests and divides.
Commands whose purpose ends in `.scan` (the outbox's backstop scan, the sweepers' and the
notifier's due scans) run on every poll, not per request: they are reported per second.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

Key = tuple[str, str, str]  # command, collection, purpose


@dataclass(frozen=True)
class Usage:
    """A service's database commands (by key) and the seconds the database took to answer them."""

    commands: Counter[Key] = field(default_factory=Counter)
    seconds: Counter[Key] = field(default_factory=Counter)


async def snapshot(base_url: str) -> Usage:
    """The service's command counts and times now (one read of its `/metrics`)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        text = (await client.get("/metrics")).text
    usage = Usage()
    into = {"mongo_commands": usage.commands, "mongo_command_seconds": usage.seconds}
    for metric in text_string_to_metric_families(text):
        counts = into.get(metric.name)
        if counts is None:
            continue
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                labels = sample.labels
                counts[labels["command"], labels["collection"], labels["purpose"]] += sample.value
    return usage


def delta(before: Usage, after: Usage) -> Usage:
    def grown(a: Counter[Key], b: Counter[Key]) -> Counter[Key]:
        return Counter({key: b[key] - a[key] for key in b if b[key] > a[key]})

    return Usage(grown(before.commands, after.commands), grown(before.seconds, after.seconds))


def is_poll(key: Key) -> bool:
    return key[2].endswith(".scan")


def label(key: Key) -> str:
    command, collection, purpose = key
    return f"{command} {collection}" + (f" ({purpose})" if purpose else "")


def report(
    title: str,
    usage: Mapping[str, Usage],
    requests: int,
    seconds: float,
    floors: Mapping[str, float],
) -> None:
    """Print commands per request by service beside each service's floor, then the breakdown
    with each command's mean time."""
    print(f"\n{title}: database commands per citizen request ({requests} requests)")
    print(f"{'service':12}{'per request':>12}{'floor':>7}{'ratio':>7}   polling scans per second")
    for service, used in usage.items():
        found = used.commands
        own = sum(v for k, v in found.items() if not is_poll(k)) / requests
        polls = sum(v for k, v in found.items() if is_poll(k)) / seconds
        floor = floors.get(service, 0)
        ratio = f"{own / floor:6.2f}x" if floor else f"{'':7}"
        print(f"{service:12}{own:12.2f}{floor:7.1f}{ratio}   {polls:.2f}")
    for service, used in usage.items():
        parts = sorted(
            (
                (v / requests, label(k), 1000 * used.seconds[k] / v)
                for k, v in used.commands.items()
                if not is_poll(k)
            ),
            reverse=True,
        )
        shown = (f"{label_} {n:.2f} ({ms:.1f} ms)" for n, label_, ms in parts)
        print(f"  {service}: " + ", ".join(shown))
