"""Who may do what: a citizen reads and acts on their own requests only (another's is 404, never
403, so numbers cannot be probed), never on staff actions (403); two coordinators acting on one
request at once: one wins, the other gets 409. Exams runs alone; payments' event is published as
payments would publish it."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.exams.conftest import StartPlatform

pytestmark = pytest.mark.integration

NOT_FOUND = "https://api.amman.jo/problems/not-found"
FORBIDDEN = "https://api.amman.jo/problems/forbidden"


async def test_a_citizen_cannot_read_or_act_on_anothers_request(
    start_platform: StartPlatform,
) -> None:
    platform = await start_platform(payments=False, notifier=False)
    owner, other = platform.citizen("citizen-owner"), platform.citizen("citizen-other")
    number = (await platform.submit(owner))["request_number"]

    for method, path, body in [
        ("GET", f"/v1/requests/{number}", None),
        ("POST", f"/v1/requests/{number}/withdrawal", {}),
    ]:
        response = await platform.call(method, path, other, body)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["type"] == NOT_FOUND
        missing = await platform.call(method, path.replace(number, "EX-2026-999999"), other, body)
        assert (
            missing.json()["detail"].replace("EX-2026-999999", number)
            == (response.json()["detail"])
        )  # a stranger's request and a missing one look the same
    assert (await platform.call("GET", "/v1/requests", other)).json()["total"] == 0
    mine = (await platform.call("GET", "/v1/requests", owner)).json()
    assert [item["request_number"] for item in mine["items"]] == [number]
    assert (await platform.inquiry(number, owner))["status"] == "awaiting_payment"


async def test_a_citizen_cannot_call_staff_actions(start_platform: StartPlatform) -> None:
    platform = await start_platform(payments=False, notifier=False)
    citizen = platform.citizen()
    number = (await platform.submit(citizen))["request_number"]

    for method, path, body in [
        ("POST", f"/v1/requests/{number}/attendance", {}),
        ("POST", f"/v1/requests/{number}/absence", {}),
        ("POST", f"/v1/requests/{number}/result", {"outcome": "passed"}),
        ("POST", f"/v1/requests/{number}/collection", {}),
        ("GET", "/v1/sessions", None),
        ("GET", "/v1/sessions/ES-2026-000001", None),
        ("POST", "/v1/sessions/ES-2026-000001/schedule", {"exam_at": "2026-12-06T10:00:00+03:00"}),
    ]:
        response = await platform.call(method, path, citizen, body)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["type"] == FORBIDDEN
        assert response.json()["title_ar"]
    # Nor may staff confirm a request for themselves, or anyone act without a token.
    staff = await platform.call("POST", "/v1/requests", platform.coordinator(), {})
    assert staff.status_code in (403, 422)
    anonymous = await platform.call("GET", f"/v1/requests/{number}")
    assert anonymous.status_code == 401
    assert (await platform.inquiry(number))["version"] == 0


async def test_two_coordinators_acting_at_once_one_wins_the_other_gets_409(
    start_platform: StartPlatform,
) -> None:
    platform = await start_platform(payments=False, notifier=False)
    number = (await platform.submit(platform.citizen()))["request_number"]
    await platform.bill_paid(number, 5_000)
    await platform.reaches(number, "ready_to_sit")
    await platform.act(number, "attendance")

    first, second = await asyncio.gather(
        platform.call(
            "POST",
            f"/v1/requests/{number}/result",
            platform.coordinator("coordinator-a"),
            {"outcome": "passed", "score": 80},
        ),
        platform.call(
            "POST",
            f"/v1/requests/{number}/result",
            platform.coordinator("coordinator-b"),
            {"outcome": "failed", "score": 40},
        ),
    )

    assert sorted([first.status_code, second.status_code]) == [200, 409]
    loser = first if first.status_code == 409 else second
    assert loser.json()["type"] == "https://api.amman.jo/problems/conflict"
    assert loser.json()["detail_ar"]
    winner = first if first.status_code == 200 else second
    final = await platform.inquiry(number)
    assert final["status"] == winner.json()["status"]
    assert [step["action"] for step in final["timeline"]].count("record_result") == 1
