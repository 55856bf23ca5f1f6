"""The dead-letter tools on the real broker: real poison messages, real replays, the audit trail.

The staff API (`/v1/ops/dead-letters`, role `ops`) and the command line
(`python -m services.common.deadletters`) are driven as an operator would, against the test
service's queue; a replay is checked by its effect (the consumer applies it), not by a mock.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.conftest import ROOT, eventually
from tests.integration.helpers import bearer, note_event, publish_raw, tally
from tests.testsvc.app import CURED, NOTE_CREATED, POISON_TEXT, TALLIES

pytestmark = pytest.mark.integration


@pytest.fixture
async def testsvc(start_service: Any) -> Any:
    instance = uuid.uuid4().hex[:8]
    service = start_service("tests.testsvc", TESTSVC_INSTANCE=instance, DELIVERY_LIMIT="2")
    await service.wait_ready()
    service.instance = instance
    service.tally_queue = service.queue("testsvc.tally")
    return service


async def _count(client: httpx.AsyncClient, queue: str) -> int:
    response = await client.get("/v1/ops/dead-letters")
    response.raise_for_status()
    counts = {row["queue"]: row["count"] for row in response.json()["items"]}
    return int(counts[queue])


async def test_a_poison_message_is_listed_with_its_reason_and_replayed_after_the_fix(
    testsvc: Any, token_for: Any, mongo: Any, database_name: str, amqp: Any
) -> None:
    queue = testsvc.tally_queue
    poison = note_event(testsvc.instance, text=POISON_TEXT)
    await publish_raw(amqp, poison.to_json(), message_id=poison.id)
    ops = bearer(token_for("operator-1", "ops"))
    async with httpx.AsyncClient(base_url=testsvc.url, headers=ops, timeout=10) as client:
        await eventually(
            lambda: _is(_count(client, queue), 1), timeout=30, message="the poison dead-lettered"
        )

        page = (await client.get(f"/v1/ops/dead-letters/{queue}")).json()
        assert (page["total"], page["page"], page["page_size"]) == (1, 1, 20)
        letter = page["items"][0]
        # A page past the end is empty, with the true total; looking took nothing away.
        past = (await client.get(f"/v1/ops/dead-letters/{queue}", params={"page": 2})).json()
        assert (past["items"], past["total"]) == ([], 1)
        assert letter["reason"] == "handler failed 2 times: RuntimeError: this note always fails"
        assert letter["original_routing_key"] == NOTE_CREATED
        assert letter["original_exchange"] == "amman.events"
        assert letter["event_id"] == poison.id
        assert letter["event_type"] == poison.type

        shown = await client.get(f"/v1/ops/dead-letters/{queue}/{letter['id']}")
        assert shown.status_code == 200
        assert json.loads(shown.json()["body"])["id"] == poison.id
        assert shown.json()["headers"]["x-dead-letter-reason"] == letter["reason"]

        # Replayed before the fix, it fails again and comes back, with a fresh delivery count.
        replayed = await client.post(f"/v1/ops/dead-letters/{queue}/{letter['id']}/replay")
        assert replayed.status_code == 200, replayed.text
        await eventually(
            lambda: _is(_count(client, queue), 1), timeout=30, message="dead-lettered again"
        )
        again = (await client.get(f"/v1/ops/dead-letters/{queue}")).json()["items"]
        assert again[0]["reason"].startswith("handler failed 2 times")
        second = await client.get(f"/v1/ops/dead-letters/{queue}/{again[0]['id']}")
        assert second.json()["headers"]["x-replays"] == 1

        # The fix is deployed; the replay is applied once, and the dead-letter queue is empty.
        await mongo[database_name][TALLIES].insert_one({"_id": CURED})
        replayed = await client.post(f"/v1/ops/dead-letters/{queue}/{again[0]['id']}/replay")
        assert replayed.status_code == 200, replayed.text
        await eventually(lambda: _is(tally(testsvc.url), 1), message="the replay applied")
        assert await _count(client, queue) == 0

        gone = await client.post(f"/v1/ops/dead-letters/{queue}/{again[0]['id']}/replay")
        assert gone.status_code == 404

        audit = (await client.get("/v1/ops/dead-letter-audit", params={"queue": queue})).json()
        assert audit["total"] == len(audit["items"]) == 7
        audit = audit["items"]
        actions = [entry["action"] for entry in reversed(audit)]
        assert actions == ["list", "list", "show", "replay", "list", "show", "replay"]
        assert {entry["actor"] for entry in audit} == {"operator-1"}
        replays = [entry for entry in audit if entry["action"] == "replay"]
        assert all(entry["event_id"] == poison.id for entry in replays)
        assert all(entry["reason"].startswith("handler failed") for entry in replays)


async def test_only_the_ops_role_reaches_dead_letters_and_only_this_services_queues(
    testsvc: Any, token_for: Any
) -> None:
    queue = testsvc.tally_queue
    async with httpx.AsyncClient(base_url=testsvc.url, timeout=10) as client:
        assert (await client.get("/v1/ops/dead-letters")).status_code == 401
        citizen = bearer(token_for("citizen-1", "citizen"))
        staff = bearer(token_for("clerk-1", "licensing.clerk"))
        for headers in (citizen, staff):
            assert (await client.get("/v1/ops/dead-letters", headers=headers)).status_code == 403
            listing = await client.get(f"/v1/ops/dead-letters/{queue}", headers=headers)
            assert listing.status_code == 403
        ops = bearer(token_for("operator-1", "ops"))
        other = await client.get("/v1/ops/dead-letters/payments.requests", headers=ops)
        assert other.status_code == 404
        assert other.headers["content-type"].startswith("application/problem+json")
        missing = await client.post(f"/v1/ops/dead-letters/{queue}/nope/discard", headers=ops)
        assert missing.status_code == 404


async def test_the_command_line_lists_replays_and_discards_malformed_messages(
    testsvc: Any, infra: Any, database_name: str, amqp: Any
) -> None:
    queue = testsvc.tally_queue
    await publish_raw(amqp, b"{not json")
    bad = note_event(testsvc.instance).model_dump(mode="json")
    bad["data"].pop("note_id")
    await publish_raw(amqp, json.dumps(bad).encode())
    env = {
        **os.environ,
        "AMQP_URL": infra.amqp_url,
        "MONGO_URL": infra.mongo_url,
        "MONGO_DATABASE": database_name,
    }

    def cli(*args: str, check: bool = True) -> Any:
        result = subprocess.run(
            [sys.executable, "-m", "services.common.deadletters", "--actor", "ana", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check:
            assert result.returncode == 0, result.stderr
            return json.loads(result.stdout)
        return result

    async def two_listed() -> Any:
        letters = await asyncio.to_thread(cli, "list", queue)
        return letters if len(letters) == 2 else None

    letters = await eventually(two_listed, timeout=30, message="both malformed dead-lettered")
    reasons = sorted(letter["reason"] for letter in letters)
    assert all(reason.startswith("malformed: ValidationError") for reason in reasons)
    assert any("note_id: Field required" in reason for reason in reasons)
    assert cli("counts", queue) == {queue: 2}

    # A malformed message replayed is malformed still: the consumer dead-letters it again.
    unparsable = next(letter for letter in letters if letter["event_id"] is None)
    assert cli("replay", queue, unparsable["id"])["action"] == "replay"

    async def back_again() -> Any:
        now = await asyncio.to_thread(cli, "list", queue)
        return [letter for letter in now if letter["body"] == "{not json"] or None

    returned = await eventually(back_again, timeout=30, message="replayed poison is back")
    shown = cli("show", queue, returned[0]["id"])
    assert shown["headers"]["x-replays"] == 1

    for letter in cli("list", queue):
        assert cli("discard", queue, letter["id"])["action"] == "discard"
    assert cli("counts", queue) == {queue: 0}
    failed = cli("discard", queue, returned[0]["id"], check=False)
    assert failed.returncode == 1 and "no dead letter" in failed.stderr

    audit = cli("audit", "--queue", queue, "--limit", "100")
    assert {entry["actor"] for entry in audit} == {"ana"}
    assert [entry["action"] for entry in audit].count("discard") == 2
    assert [entry["action"] for entry in audit].count("replay") == 1


async def _is(value: Any, expected: Any) -> bool:
    return bool(await value == expected)
