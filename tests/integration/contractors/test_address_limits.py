"""Permit lookups and codes are limited per client address too, whatever the accounts: the
review's three accounts got 30 permit guesses answered in seconds. The address is the gateway's
X-Forwarded-For when the request comes from TRUSTED_PROXIES, and the caller's own otherwise."""

from __future__ import annotations

import pytest

from tests.integration.contractors.conftest import FREE, PAID, StartPlatform, random_phone

pytestmark = pytest.mark.integration


def forwarded(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def test_lookups_from_one_address_are_limited_across_accounts(
    start_platform: StartPlatform,
) -> None:
    # The tests' own process is the trusted gateway here.
    platform = await start_platform(
        CONTRACTORS_LOOKUPS_PER_WINDOW="5",
        CONTRACTORS_LOOKUPS_PER_ADDRESS_PER_WINDOW="6",
        TRUSTED_PROXIES="127.0.0.1",
    )
    guesser = "203.0.113.7"
    answered = []
    for account in ("a", "b", "c"):
        citizen = platform.citizen(f"guesser-{account}")
        for _ in range(2):
            response = await platform.call(
                "POST", "/v1/lookups", citizen, FREE, headers=forwarded(guesser)
            )
            answered.append(response.status_code)
    assert answered == [200] * 6

    # A fourth account from the same address is refused (each account is far below its own
    # limit), and a code asked for from there too.
    fourth = platform.citizen("guesser-d")
    limited = await platform.call("POST", "/v1/lookups", fourth, PAID, headers=forwarded(guesser))
    assert limited.status_code == 429, limited.text
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.json()["detail"] == "Too many permit lookups from this network; try again later"
    code = await platform.call(
        "POST",
        "/v1/verifications",
        fourth,
        {**PAID, "phone": "0" + random_phone().removeprefix("+962"), "lang": "ar"},
        headers=forwarded(guesser),
    )
    assert code.status_code == 429, code.text

    # Another client behind the same gateway is not limited by the first.
    other = await platform.call(
        "POST", "/v1/lookups", fourth, PAID, headers=forwarded("198.51.100.20")
    )
    assert other.status_code == 200, other.text


async def test_a_forwarded_address_from_an_untrusted_peer_is_ignored(
    start_platform: StartPlatform,
) -> None:
    # No trusted proxy: a caller cannot dodge the limit by naming a new address each time.
    platform = await start_platform(CONTRACTORS_LOOKUPS_PER_ADDRESS_PER_WINDOW="3")
    statuses = []
    for index in range(4):
        response = await platform.call(
            "POST",
            "/v1/lookups",
            platform.citizen(f"dodger-{index}"),
            FREE,
            headers=forwarded(f"198.51.100.{index + 1}"),
        )
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 429]
