"""Behind the gateway: the path prefix (HTTP_ROOT_PATH, X-Forwarded-Prefix) and /metrics on a port
of its own (METRICS_PORT), on a real service process."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.conftest import free_port

pytestmark = pytest.mark.integration


async def test_metrics_leave_the_public_port_and_the_prefix_reaches_docs_and_servers(
    start_service: Any,
) -> None:
    metrics_port = free_port()
    service = start_service(
        "tests.testsvc", METRICS_PORT=str(metrics_port), HTTP_ROOT_PATH="/testsvc"
    )
    await service.wait_ready()
    async with httpx.AsyncClient(base_url=service.url, timeout=5) as client:
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/testsvc/metrics")).status_code == 404
        # The gateway may keep the prefix or strip it: both reach the route.
        assert (await client.get("/testsvc/v1/tally")).status_code == 200
        assert (await client.get("/v1/tally")).status_code == 200

        spec = (await client.get("/openapi.json")).json()
        assert spec["servers"] == [{"url": "/testsvc"}]
        docs = (await client.get("/docs")).text
        assert "'/testsvc/openapi.json'" in docs

        forwarded = await client.get("/openapi.json", headers={"X-Forwarded-Prefix": "/gw/notes"})
        assert forwarded.json()["servers"] == [{"url": "/gw/notes"}]
        hostile = await client.get(
            "/openapi.json", headers={"X-Forwarded-Prefix": "javascript:alert(1)//"}
        )
        assert hostile.json()["servers"] == [{"url": "/testsvc"}]
        climbing = await client.get("/openapi.json", headers={"X-Forwarded-Prefix": "/a/../b"})
        assert climbing.json()["servers"] == [{"url": "/testsvc"}]

    async with httpx.AsyncClient(timeout=5) as client:
        scraped = await client.get(f"http://127.0.0.1:{metrics_port}/metrics")
    assert scraped.status_code == 200
    assert 'http_requests_total{method="GET",route="/v1/tally",status="200"}' in scraped.text
