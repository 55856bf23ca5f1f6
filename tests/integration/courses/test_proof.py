"""Proof of prior knowledge (seed 002, requirements): an upload checked by its bytes and size,
kept in the service's own database, reviewed by staff; accepted, it meets the prerequisite."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.courses.conftest import Platform
from tests.integration.helpers import bearer

pytestmark = pytest.mark.integration

PDF = b"%PDF-1.7\n" + b"certificate " * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 500


async def upload(
    platform: Platform, number: str, token: str, data: bytes, content_type: str
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=platform.courses.url, timeout=30) as client:
        return await client.put(
            f"/v1/requests/{number}/proof",
            headers=bearer(token),
            files={"file": ("certificate.pdf", data, content_type)},
        )


async def test_an_accepted_proof_meets_the_prerequisite_when_the_minimum_is_reached(
    platform: Platform,
) -> None:
    code = await platform.open_course(minimum=2, subject="computer-basics")
    number, subject, _ = await platform.enrolled(code)
    citizen = platform.token(subject)

    uploaded = await upload(platform, number, citizen, PDF, "application/pdf")

    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["proof"]["review"] == "pending"
    assert uploaded.json()["proof"]["content_type"] == "application/pdf"
    reviewed = await platform.call(
        "POST", f"/v1/requests/{number}/proof/review", platform.staff, {"accepted": True}
    )
    assert reviewed.status_code == 200, reviewed.text
    other, _, _ = await platform.enrolled(code)  # reaches the minimum
    await platform.sms(number, "courses.request.approved.v1")
    await platform.sms(other, "courses.request.placement_test_required.v1")
    downloaded = await platform.call("GET", f"/v1/requests/{number}/proof", platform.staff)
    assert downloaded.status_code == 200 and downloaded.content == PDF
    assert downloaded.headers["content-type"] == "application/pdf"


async def test_a_proof_accepted_while_awaiting_the_test_goes_on_as_a_pass(
    platform: Platform,
) -> None:
    code = await platform.open_course(minimum=1, subject="computer-basics", fee_fils=10_000)
    number, subject, _ = await platform.enrolled(code)
    await platform.status_becomes(number, "awaiting_test")
    await upload(platform, number, platform.token(subject), PNG, "application/pdf")

    reviewed = await platform.call(
        "POST", f"/v1/requests/{number}/proof/review", platform.staff, {"accepted": True}
    )

    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["status"] == "awaiting_payment"
    await platform.sms(number, "payments.bill.issued.v1")


async def test_uploads_are_checked_by_their_bytes_size_and_owner(platform: Platform) -> None:
    code = await platform.open_course(minimum=3, subject="computer-basics")
    number, subject, _ = await platform.enrolled(code)
    citizen = platform.token(subject)

    disguised = await upload(platform, number, citizen, b"MZ\x90\x00 not a pdf", "application/pdf")
    too_large = await upload(platform, number, citizen, b"%PDF-" + b"0" * (5 * 1024 * 1024), "x")
    other = await upload(platform, number, platform.token("citizen-z"), PDF, "application/pdf")
    missing = await platform.call("GET", f"/v1/requests/{number}/proof", citizen)
    no_file = await platform.call("PUT", f"/v1/requests/{number}/proof", citizen)

    assert disguised.status_code == too_large.status_code == no_file.status_code == 422
    assert other.status_code == missing.status_code == 404
    for answer in (disguised, too_large, other, missing, no_file):
        assert answer.headers["content-type"].startswith("application/problem+json")
    free = await platform.open_course(minimum=3)
    free_number, free_subject, _ = await platform.enrolled(free)
    needless = await upload(
        platform, free_number, platform.token(free_subject), PDF, "application/pdf"
    )
    assert needless.status_code == 422
