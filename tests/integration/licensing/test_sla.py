"""The 3-working-day target (seed 000) as an SLA, with the services' file clock: a request left
with the municipality past its target is in the staff's overdue list and counted once in the
metric; one waiting for the applicant is not (the clock is paused)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.integration.conftest import eventually
from tests.integration.licensing.conftest import CALENDAR, Platform

pytestmark = pytest.mark.integration


async def test_a_request_past_its_target_is_in_the_overdue_list(platform: Platform) -> None:
    late, _ = await platform.submitted()
    waiting, _ = await platform.submitted()
    rejected = await platform.check_documents(
        waiting, [{"document": "lease_contract", "issue": "missing"}]
    )
    assert rejected.status_code == 200, rejected.text
    target = datetime.fromisoformat((await platform.request(late))["sla"]["target_at"])
    # The target is the end of the 3rd working day after submission.
    submitted_on = CALENDAR.local_date(platform.now())
    assert CALENDAR.local_date(target - timedelta(seconds=1)) == CALENDAR.add_working_days(
        submitted_on, 3
    )
    assert late not in await overdue_numbers(platform)
    breaches_before = await platform.metric("licensing_sla_breaches_total")

    await platform.move_clock(target + timedelta(hours=1))

    async def listed() -> bool:
        return late in await overdue_numbers(platform)

    await eventually(listed, message=f"{late} in the overdue list")
    request = await platform.request(late)
    assert request["sla"]["is_overdue"] is True

    async def breached() -> bool:
        return bool((await platform.request(late))["sla"]["breached_at"])

    await eventually(breached, message="the sweeper records the breach")
    assert await platform.metric("licensing_sla_breaches_total") >= breaches_before + 1
    # Waiting for the applicant's documents: the clock is paused, so not overdue.
    assert waiting not in await overdue_numbers(platform)
    assert (await platform.request(waiting))["sla"]["is_overdue"] is False
    # Citizens cannot read the staff list.
    forbidden = await platform.call("GET", "/v1/staff/overdue", platform.token("someone"))
    assert forbidden.status_code == 403


async def test_paused_working_days_move_the_target_on(platform: Platform) -> None:
    number, subject = await platform.submitted()
    target = datetime.fromisoformat((await platform.request(number))["sla"]["target_at"])
    rejected = await platform.check_documents(
        number, [{"document": "occupancy_permit", "issue": "wrong"}]
    )
    assert rejected.status_code == 200
    paused_on = CALENDAR.local_date(platform.now())

    await platform.move_clock(platform.next_slot(2))
    assert (await platform.upload(number, subject, "occupancy_permit")).status_code == 200
    response = await platform.act(number, subject, "submit")

    assert response.status_code == 200, response.text
    waited = CALENDAR.working_days_between(paused_on, CALENDAR.local_date(platform.now()))
    assert waited == 2
    moved = datetime.fromisoformat(response.json()["sla"]["target_at"])
    assert CALENDAR.local_date(moved - timedelta(seconds=1)) == CALENDAR.add_working_days(
        CALENDAR.local_date(target - timedelta(seconds=1)), waited
    )
    assert response.json()["sla"]["clock"] == "running"
    assert number not in await overdue_numbers(platform)


async def overdue_numbers(platform: Platform) -> list[str]:
    """Every request of the overdue list, page after page."""
    numbers: list[str] = []
    page = 1
    while True:
        response = await platform.call(
            "GET", "/v1/staff/overdue", platform.clerk, page=page, page_size=100
        )
        assert response.status_code == 200, response.text
        body = response.json()
        numbers += [item["number"] for item in body["items"]]
        if page * body["page_size"] >= body["total"]:
            return numbers
        page += 1
