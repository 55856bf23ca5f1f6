"""SMS gateways: where a message leaves the platform, and the rate limit that protects them.

- `LogGateway`, for local runs: sends nothing, logs that it "sent" (masked number, never the text)
  and answers "delivered", except for three reserved test numbers that answer a permanent failure,
  a temporary failure, and an acceptance that is never confirmed, so that every path of a message
  can be tried by hand (as GOV.UK Notify's test numbers do). The message itself, text included,
  is in the service's database and API: that is how a person sees what the platform "sent".
- `HttpGateway`, for a real SMS provider: one JSON POST per message with a bearer token and a
  timeout. 2xx is accepted (the provider's receipt comes later, signed, to `/v1/receipts`); 5xx,
  408, 429, a timeout or no connection is a temporary failure (retried with backoff by the
  sender); any other 4xx is a permanent failure (never retried).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from typing import Protocol

import httpx

from services.notifier.domain import (
    Accepted,
    Encoding,
    GatewayResult,
    PermanentFailure,
    TemporaryFailure,
    mask_phone,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingSms:
    """One attempt to send: the reference stays the same across attempts, so that a provider
    that deduplicates on it never sends a message twice (e.g. after a timeout)."""

    reference: str
    phone: str
    text: str
    encoding: Encoding
    segments: int


class SmsGateway(Protocol):
    name: str

    async def send(self, sms: OutgoingSms) -> GatewayResult:
        """Hand the message over; never raises for the gateway's own failures."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class ReservedNumbers:
    """Reserved numbers of the log gateway, each forcing one outcome."""

    permanent_failure: str
    temporary_failure: str
    never_confirmed: str


class LogGateway:
    name = "log"

    def __init__(self, test_numbers: ReservedNumbers) -> None:
        self._test_numbers = test_numbers

    async def send(self, sms: OutgoingSms) -> GatewayResult:
        numbers = self._test_numbers
        if sms.phone == numbers.permanent_failure:
            result: GatewayResult = PermanentFailure("test number: the number does not exist")
        elif sms.phone == numbers.temporary_failure:
            result = TemporaryFailure("test number: the network is unavailable")
        elif sms.phone == numbers.never_confirmed:
            result = Accepted(provider_id=f"log-{sms.reference}")
        else:
            result = Accepted(provider_id=f"log-{sms.reference}", is_delivered=True)
        logger.info(
            "log gateway: SMS %s to %s, %d %s segment(s): %s",
            sms.reference,
            mask_phone(sms.phone),
            sms.segments,
            sms.encoding,
            type(result).__name__,
        )
        return result

    async def close(self) -> None:
        return None


_ERROR_CODE = re.compile(r"\A[A-Za-z0-9_.-]{1,64}\Z")
_RETRIED_CLIENT_ERRORS = frozenset({408, 429})


class HttpGateway:
    """A provider's HTTP API: `POST <url>` with `{"to", "text", "sender", "reference",
    "encoding"}` and `Authorization: Bearer <token>`; a 2xx body may carry the provider's `id`."""

    name = "http"

    def __init__(
        self,
        url: str,
        token: str,
        *,
        sender: str,
        timeout_seconds: float,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._url = url
        self._token = token
        self._sender = sender
        self._timeout = timeout_seconds
        self._client = client or httpx.AsyncClient(
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32)
        )

    async def send(self, sms: OutgoingSms) -> GatewayResult:
        try:
            response = await self._client.post(
                self._url,
                json={
                    "to": sms.phone,
                    "text": sms.text,
                    "sender": self._sender,
                    "reference": sms.reference,
                    "encoding": sms.encoding,
                },
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=self._timeout,
            )
        except httpx.TimeoutException:
            return TemporaryFailure(f"the provider did not answer within {self._timeout:g} s")
        except httpx.TransportError as error:
            return TemporaryFailure(f"cannot reach the provider: {type(error).__name__}")
        status = response.status_code
        if 200 <= status < 300:
            return Accepted(provider_id=_provider_id(response))
        # The provider's error code may help staff; its free text may echo the message: not kept.
        reason = f"the provider answered HTTP {status}{_error_code(response)}"
        if status >= 500 or status in _RETRIED_CLIENT_ERRORS:
            return TemporaryFailure(reason)
        return PermanentFailure(reason)

    async def close(self) -> None:
        await self._client.aclose()


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _provider_id(response: httpx.Response) -> str | None:
    found = _json(response).get("id")
    return str(found)[:100] if isinstance(found, str | int) else None


def _error_code(response: httpx.Response) -> str:
    code = _json(response).get("error")
    return f" ({code})" if isinstance(code, str) and _ERROR_CODE.match(code) else ""


class RateLimiter:
    """At most `per_second` sends a second from this process, evenly spaced.

    Per process: with several replicas, set each to the provider's limit divided by the number of
    replicas (see the README).
    """

    def __init__(self, per_second: float) -> None:
        if per_second <= 0:
            raise ValueError("the rate limit must be positive")
        self._interval = 1.0 / per_second
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self._interval
        if wait > 0:
            await asyncio.sleep(wait)
