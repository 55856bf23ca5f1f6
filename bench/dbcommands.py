"""Database commands per citizen request, counted by the services themselves.

Every service counts each command its MongoDB client sends (PyMongo's command monitoring,
`services/common/mongo.py`): `mongo_commands_total{command, collection, purpose}` at `/metrics`.
A benchmark takes a snapshot of each service before and after a number of requests and divides.
Commands whose purpose ends in `.scan` (the outbox's backstop scan, the sweepers' and the
notifier's due scans) run on every poll, not per request: they are reported per second.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families

Key = tuple[str, str, str]  # command, collection, purpose


async def snapshot(base_url: str, family: str = "mongo_commands") -> Counter[Key]:
    """The service's command counts now (or, with `family="mongo_command_seconds"`, the seconds
    the database took to answer them, summed)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        text = (await client.get("/metrics")).text
    counts: Counter[Key] = Counter()
    name = family
    for family in text_string_to_metric_families(text):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                labels = sample.labels
                key = (labels["command"], labels["collection"], labels["purpose"])
                counts[key] += sample.value
    return counts


def delta(before: Counter[Key], after: Counter[Key]) -> Counter[Key]:
    return Counter({key: after[key] - before[key] for key in after if after[key] > before[key]})


def is_poll(key: Key) -> bool:
    return key[2].endswith(".scan")


def label(key: Key) -> str:
    command, collection, purpose = key
    return f"{command} {collection}" + (f" ({purpose})" if purpose else "")


def report(
    title: str,
    counts: Mapping[str, Counter[Key]],
    requests: int,
    seconds: float,
    floors: Mapping[str, int],
    waited: Mapping[str, Counter[Key]] | None = None,
) -> None:
    """Print commands per request by service beside each service's floor, then the breakdown."""
    print(f"\n{title}: database commands per citizen request ({requests} requests)")
    print(f"{'service':12}{'per request':>12}{'floor':>7}{'ratio':>7}   polling scans per second")
    for service, found in counts.items():
        own = sum(v for k, v in found.items() if not is_poll(k)) / requests
        polls = sum(v for k, v in found.items() if is_poll(k)) / seconds
        floor = floors.get(service, 0)
        ratio = f"{own / floor:6.2f}x" if floor else f"{'':7}"
        print(f"{service:12}{own:12.2f}{floor:7d}{ratio}   {polls:.2f}")
    for service, found in counts.items():
        spent = (waited or {}).get(service, Counter())
        parts = sorted(
            (
                (v / requests, label(k), 1000 * spent[k] / v)
                for k, v in found.items()
                if not is_poll(k)
            ),
            reverse=True,
        )
        shown = (
            f"{label_} {n:.2f}" + (f" ({ms:.1f} ms)" if waited else "") for n, label_, ms in parts
        )
        print(f"  {service}: " + ", ".join(shown))
