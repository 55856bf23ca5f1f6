"""The API: staff search and read every message; a citizen sees only the messages about their
own requests; everything else is a problem response."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.integration.helpers import bearer
from tests.integration.notifier.conftest import (
    Reader,
    bill_issued,
    new_request_number,
    publish,
    random_phone,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def three_messages(notifier: Any, staff: Reader, amqp: Any) -> dict[str, dict[str, Any]]:
    """Citizen 1's, citizen 2's, and one whose event named no owner, all sent."""
    number = new_request_number()
    events = {
        "citizen-1": bill_issued(random_phone(), request_number=number, owner_subject="citizen-1"),
        "citizen-2": bill_issued(random_phone(), owner_subject="citizen-2"),
        "nobody": bill_issued(random_phone()),
    }
    for event in events.values():
        await publish(amqp, event)
    found = {}
    for owner, event in events.items():
        [found[owner]] = await staff.settled(event.subject, "sent")
    return found


async def test_staff_search_by_phone_request_number_status_and_date(
    staff: Reader, three_messages: dict[str, dict[str, Any]]
) -> None:
    mine = three_messages["citizen-1"]
    local_form = "0" + mine["phone"][4:]

    assert [m["id"] for m in await staff.messages(phone=local_form)] == [mine["id"]]
    assert [m["id"] for m in await staff.messages(request_number=mine["request_number"])] == [
        mine["id"]
    ]
    sent_ids = {m["id"] for m in await staff.messages(status="sent", page_size=100)}
    assert {m["id"] for m in three_messages.values()} <= sent_ids
    assert not await staff.messages(status="delivered", phone=mine["phone"])
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert not await staff.messages(created_from=tomorrow)
    assert await staff.messages(created_from=yesterday, created_to=tomorrow, phone=local_form)
    page = (await staff.search(page_size=1, page=2)).json()
    assert len(page["items"]) == 1 and page["total"] >= 3 and page["page"] == 2
    assert page["page_size"] == 1


async def test_a_message_shows_its_history_with_arabic_and_english_labels(
    staff: Reader, three_messages: dict[str, dict[str, Any]]
) -> None:
    response = await staff.detail(three_messages["nobody"]["id"])

    assert response.status_code == 200
    body = response.json()
    assert [step["status"] for step in body["history"]] == ["queued", "sending", "sent"]
    assert body["history"][-1]["label"] == {"ar": "أُرسلت", "en": "Sent"}
    assert body["status_label"]["en"] == "Sent"
    # Instants, not strings: "…04Z" and "…04.032Z" are both RFC 3339 but do not sort as text.
    times = [datetime.fromisoformat(step["at"]) for step in body["history"]]
    assert times == sorted(times)


async def test_a_citizen_sees_the_messages_about_their_own_requests_only(
    notifier: Any, token_for: Any, three_messages: dict[str, dict[str, Any]]
) -> None:
    citizen = Reader(notifier.url, token_for("citizen-1", "citizen"))

    listed = await citizen.messages(page_size=100)
    own = await citizen.detail(three_messages["citizen-1"]["id"])
    others = await citizen.detail(three_messages["citizen-2"]["id"])
    ownerless = await citizen.detail(three_messages["nobody"]["id"])
    filtered = await citizen.messages(request_number=three_messages["citizen-2"]["request_number"])

    assert [message["id"] for message in listed] == [three_messages["citizen-1"]["id"]]
    assert own.status_code == 200 and own.json()["history"]
    # 404, not 403: whether a message exists is not told to those who may not see it.
    assert others.status_code == ownerless.status_code == 404
    assert others.json()["type"] == "https://api.amman.jo/problems/not-found"
    assert filtered == []


async def test_staff_read_a_message_that_has_no_owner(
    staff: Reader, three_messages: dict[str, dict[str, Any]]
) -> None:
    assert (await staff.detail(three_messages["nobody"]["id"])).status_code == 200


async def test_callers_without_a_token_or_a_role_are_refused(notifier: Any, token_for: Any) -> None:
    async with httpx.AsyncClient(base_url=notifier.url, timeout=5) as client:
        anonymous = await client.get("/v1/messages")
        employee = await client.get(
            "/v1/messages", headers=bearer(token_for("clerk-1", "finance.approver"))
        )

    assert anonymous.status_code == 401
    assert employee.status_code == 403
    assert employee.json()["type"] == "https://api.amman.jo/problems/forbidden"


async def test_bad_filters_are_problem_responses(staff: Reader) -> None:
    bad_phone = await staff.search(phone="065123456")
    too_many = await staff.search(page_size=1000)
    # The paging of the one list shape is `page`/`page_size`: `limit`/`offset` are unknown filters.
    old_paging = await staff.search(limit=5, offset=5)
    naive_date = await staff.search(created_from="2026-11-23T10:00:00")
    unknown = await staff.detail("no-such-message")

    assert bad_phone.status_code == 422
    assert bad_phone.json()["errors"][0]["field"] == "query.phone"
    assert too_many.status_code == naive_date.status_code == old_paging.status_code == 422
    assert too_many.headers["content-type"] == "application/problem+json"
    assert unknown.status_code == 404
