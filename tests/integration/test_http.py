"""The shared HTTP behaviour, through the test service run as a real process."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.helpers import bearer

pytestmark = pytest.mark.integration

NOTE = {"text": "hello", "phone": "+962791234567"}


@pytest.fixture
async def testsvc(start_service: Any) -> Any:
    service = start_service("tests.testsvc", TESTSVC_INSTANCE=uuid.uuid4().hex[:8])
    await service.wait_ready()
    return service


@pytest.fixture
async def alice(testsvc: Any, token_for: Any) -> Any:
    async with httpx.AsyncClient(base_url=testsvc.url, headers=bearer(token_for("alice"))) as c:
        yield c


async def test_same_idempotency_key_and_body_returns_the_first_result(alice: Any) -> None:
    first = await alice.post("/v1/notes", json=NOTE, headers={"Idempotency-Key": "k-1"})
    again = await alice.post("/v1/notes", json=NOTE, headers={"Idempotency-Key": "k-1"})

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers


async def test_same_idempotency_key_with_another_body_is_a_conflict(alice: Any) -> None:
    await alice.post("/v1/notes", json=NOTE, headers={"Idempotency-Key": "k-2"})
    other = await alice.post(
        "/v1/notes", json={**NOTE, "text": "changed"}, headers={"Idempotency-Key": "k-2"}
    )
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"].endswith("/conflict")


async def test_a_malformed_idempotency_key_is_refused_and_no_key_creates_each_time(
    alice: Any,
) -> None:
    bad = await alice.post("/v1/notes", json=NOTE, headers={"Idempotency-Key": "has space"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "header.Idempotency-Key"
    one = await alice.post("/v1/notes", json=NOTE)
    two = await alice.post("/v1/notes", json=NOTE)
    assert one.json()["id"] != two.json()["id"]


async def test_the_same_key_from_another_user_is_another_request(
    alice: Any, testsvc: Any, token_for: Any
) -> None:
    mine = await alice.post("/v1/notes", json=NOTE, headers={"Idempotency-Key": "shared"})
    async with httpx.AsyncClient(base_url=testsvc.url, headers=bearer(token_for("bob"))) as bob:
        theirs = await bob.post("/v1/notes", json=NOTE, headers={"Idempotency-Key": "shared"})
    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine.json()["id"]


async def test_a_citizen_cannot_read_another_citizens_note(
    alice: Any, testsvc: Any, token_for: Any
) -> None:
    note_id = (await alice.post("/v1/notes", json=NOTE)).json()["id"]
    async with httpx.AsyncClient(base_url=testsvc.url, headers=bearer(token_for("bob"))) as bob:
        response = await bob.get(f"/v1/notes/{note_id}")
    assert response.status_code == 404
    assert (await alice.get(f"/v1/notes/{note_id}")).status_code == 200


async def test_no_token_is_401_and_a_bad_body_names_every_field(testsvc: Any, alice: Any) -> None:
    async with httpx.AsyncClient(base_url=testsvc.url) as anonymous:
        response = await anonymous.post("/v1/notes", json=NOTE)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"

    bad = await alice.post("/v1/notes", json={"text": "", "phone": "x", "remind_at": "soon"})
    assert bad.status_code == 422
    problem = bad.json()
    assert {error["field"] for error in problem["errors"]} == {"text", "phone", "remind_at"}
    assert all(error["message_ar"] for error in problem["errors"])
    assert problem["title_ar"]


async def test_health_metrics_and_logs(testsvc: Any, alice: Any) -> None:
    async with httpx.AsyncClient(base_url=testsvc.url) as client:
        assert (await client.get("/health/live")).json() == {"status": "ok"}
        ready = (await client.get("/health/ready")).json()
        metrics = (await client.get("/metrics")).text
    assert ready["status"] == "ready"
    assert ready["checks"]["consumers"] == {testsvc.queue("testsvc.tally"): 1}
    assert "http_requests_total" in metrics

    await alice.post("/v1/notes", json=NOTE)
    lines = [json.loads(line) for line in testsvc.log_text().splitlines() if line.startswith("{")]
    request_lines = [line for line in lines if "POST /v1/notes" in line["message"]]
    assert request_lines and all(len(line["trace_id"]) == 32 for line in request_lines)
    assert all(line["service"] == "testsvc" for line in lines)


async def test_sigterm_shuts_down_gracefully(testsvc: Any) -> None:
    # uvicorn drains, runs the lifespan's shutdown, then re-raises SIGTERM for its exit status.
    assert testsvc.terminate(timeout=30) in (0, -15)
    log = testsvc.log_text()
    assert "outbox relay stopped" in log
    assert "service testsvc stopped" in log


# ---- Idempotency-Key whatever crashes when ------------------------------------------------


async def test_a_post_killed_after_storing_answers_its_retry_with_what_it_stored(
    start_service: Any, token_for: Any, mongo: Any, database_name: str
) -> None:
    """The process dies right after storing the note, before answering: the retry (on the
    restarted service) gets the stored note, and no second one is made."""
    instance = uuid.uuid4().hex[:8]
    crashing = start_service(
        "tests.testsvc", TESTSVC_INSTANCE=instance, TESTSVC_EXIT_AFTER_STORE="true"
    )
    await crashing.wait_ready()
    headers = {**bearer(token_for("alice")), "Idempotency-Key": "crash-after-store"}
    async with httpx.AsyncClient(base_url=crashing.url, headers=headers) as client:
        with pytest.raises(httpx.TransportError):
            await client.post("/v1/notes", json=NOTE)
    assert crashing.wait_exit(30) == 18
    notes = mongo[database_name]["notes"]
    [stored] = await notes.find({}).to_list()
    # The key lives only in the note it created: no other record is written.
    assert "idempotency_keys" not in await mongo[database_name].list_collection_names()

    survivor = start_service("tests.testsvc", TESTSVC_INSTANCE=instance)
    await survivor.wait_ready()
    async with httpx.AsyncClient(base_url=survivor.url, headers=headers) as client:
        retried = await client.post("/v1/notes", json=NOTE)
        again = await client.post("/v1/notes", json=NOTE)

    assert retried.status_code == again.status_code == 201
    assert retried.json() == again.json() == {"id": stored["_id"], "text": NOTE["text"]}
    assert retried.headers["Idempotent-Replayed"] == again.headers["Idempotent-Replayed"] == "true"
    assert await notes.count_documents({}) == 1


async def test_a_failed_first_attempt_leaves_nothing_and_the_retry_creates(
    alice: Any, mongo: Any, database_name: str
) -> None:
    """A first attempt refused (a 4xx) created nothing under its key; the same key with a good
    body then creates the note at once, and a reuse of the key with another body is a 409."""
    key = {"Idempotency-Key": "first-refused"}
    refused = await alice.post("/v1/notes", json={"text": ""}, headers=key)
    assert refused.status_code == 422

    created = await alice.post("/v1/notes", json=NOTE, headers=key)
    replayed = await alice.post("/v1/notes", json=NOTE, headers=key)
    reused = await alice.post("/v1/notes", json={**NOTE, "text": "another"}, headers=key)

    assert created.status_code == replayed.status_code == 201
    assert "Idempotent-Replayed" not in created.headers
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == created.json()
    assert reused.status_code == 409
    assert await mongo[database_name]["notes"].count_documents({}) == 1


async def test_the_same_key_posted_at_once_many_times_makes_one_note(
    alice: Any, mongo: Any, database_name: str
) -> None:
    answers = await asyncio.gather(
        *(
            alice.post("/v1/notes", json=NOTE, headers={"Idempotency-Key": "burst"})
            for _ in range(6)
        )
    )

    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert await mongo[database_name]["notes"].count_documents({}) == 1
