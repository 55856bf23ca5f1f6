"""A fake SMS provider: a real HTTP server in the test (or benchmark) process, speaking the
provider API `HttpGateway` uses, and told per phone number to accept, fail or stall."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.integration.conftest import free_port


@dataclass
class ProviderRequest:
    to: str
    text: str
    reference: str
    sender: str
    authorization: str | None
    at: float = field(default_factory=time.monotonic)


class FakeProvider:
    """The provider's HTTP API as `HttpGateway` speaks it. `will(phone, ...)` scripts the next
    answers for a number: "ok", an HTTP status ("503", "400"), or "stall" (answer too late)."""

    def __init__(self, stall_seconds: float = 1.5) -> None:
        self.requests: list[ProviderRequest] = []
        self.stall_seconds = stall_seconds
        self._plans: dict[str, list[str]] = {}
        self._app = Starlette(routes=[Route("/sms", self._receive, methods=["POST"])])
        self.port = free_port()
        self._server = uvicorn.Server(
            uvicorn.Config(
                self._app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                lifespan="off",
                timeout_graceful_shutdown=1,
            )
        )
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"

    def will(self, phone: str, *answers: str) -> None:
        self._plans.setdefault(phone, []).extend(answers)

    def to(self, phone: str) -> list[ProviderRequest]:
        return [request for request in self.requests if request.to == phone]

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())

        deadline = time.monotonic() + 5
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake SMS provider did not start")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task

    async def _receive(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append(
            ProviderRequest(
                to=body["to"],
                text=body["text"],
                reference=body["reference"],
                sender=body["sender"],
                authorization=request.headers.get("authorization"),
            )
        )
        plan = self._plans.get(body["to"])
        answer = plan.pop(0) if plan else "ok"
        if answer == "stall":
            await asyncio.sleep(self.stall_seconds)
            answer = "ok"
        if answer == "ok":
            return JSONResponse({"id": f"fake-{uuid.uuid4().hex[:10]}"}, status_code=201)
        status = int(answer)
        error = "unavailable" if status >= 500 else "invalid_destination"
        return JSONResponse({"error": error, "text": body["text"]}, status_code=status)
