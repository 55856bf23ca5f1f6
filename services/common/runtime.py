"""Wiring of one service process: the only place where clients are built and loops are started.

A service declares what it is in a `ServiceSpec` (its routers, indexes, outbox collections,
consumers, sweepers, its own loops and start/stop hooks) and calls `create_app(spec, settings)`.
Nothing connects at import: the FastAPI lifespan builds the Mongo client and the broker, declares
the topology, starts consuming, runs the outbox relay and the sweepers in the same event loop, then
`on_start` and the service's own `loops`; on shutdown it stops them in the reverse order, drains
in-flight messages, and calls `on_stop` last.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import aio_pika
import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from faststream.rabbit import RabbitBroker
from faststream.rabbit.opentelemetry import RabbitTelemetryMiddleware
from faststream.rabbit.prometheus import RabbitPrometheusMiddleware
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from pymongo import AsyncMongoClient
from starlette.types import Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from services.common import deadletters
from services.common.auth import install_auth, verifier_from_settings
from services.common.broker import (
    BrokerPublisher,
    QueueBinding,
    declare_topology,
    make_broker,
    queue_consumer_counts,
)
from services.common.calendar import WorkingCalendar
from services.common.clock import Clock, FileClock, SystemClock
from services.common.consumer import INBOX_INDEXES, ConsumerRunner, EventConsumer, Inbox
from services.common.documents import api as documents_api
from services.common.documents import store as documents_store
from services.common.documents.store import DocumentIssuer, DocumentsSpec, DocumentStore
from services.common.headers import HttpMiddleware, SecurityHeaders
from services.common.idempotency_http import IdempotencyStore
from services.common.mongo import (
    Collection,
    Database,
    Document,
    IndexSpec,
    ensure_indexes,
    make_client,
    ping,
)
from services.common.openapi import install_openapi
from services.common.outbox import Outbox, OutboxRelay, outbox_indexes
from services.common.problems import install_problem_handlers
from services.common.settings import Environment, ServiceSettings
from services.common.sweeper import DeadlineHandler, DeadlineSweeper
from services.common.telemetry import configure_logging, configure_tracing

logger = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests served", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request duration", ["method", "route"]
)


class Loop(Protocol):
    """A background loop: `run` until `stop` is called, then return (finishing what it holds)."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Runtime:
    """What a running service has: built once in the lifespan, reachable as `app.state.runtime`."""

    settings: ServiceSettings
    clock: Clock
    calendar: WorkingCalendar
    client: AsyncMongoClient[Document]
    db: Database
    broker: RabbitBroker
    publisher: BrokerPublisher
    outbox: Outbox
    inbox: Inbox
    idempotency: IdempotencyStore
    # The service's own context object (its store, its domain services), from `spec.setup`.
    service: Any = None
    consumers: list[ConsumerRunner] = field(default_factory=list)
    consumer_queues: list[str] = field(default_factory=list)
    relay: OutboxRelay | None = None
    sweepers: list[DeadlineSweeper] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # The service's own loops (`spec.loops`) and their tasks.
    loops: list[Loop] = field(default_factory=list)
    loop_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # The service's own readiness checks (`spec.readiness`).
    readiness: Callable[[Runtime], dict[str, tuple[bool, Any]]] | None = None
    # The dead letters of `consumer_queues`, for the staff API (None without consumers).
    dead_letters: deadletters.DeadLetters | None = None
    # The service's documents (`spec.documents`) and the loop that issues them.
    documents: DocumentStore | None = None
    issuer: DocumentIssuer | None = None

    def sweeper(
        self,
        name: str,
        collection: Collection,
        handler: DeadlineHandler,
        *,
        field: str,
        after_sweep: Callable[[], Awaitable[None]] | None = None,
    ) -> DeadlineSweeper:
        """A `DeadlineSweeper` on this runtime's clock, polling and leasing as the settings say
        (`SWEEPER_POLL_SECONDS`, `SWEEPER_LEASE_SECONDS`)."""
        return DeadlineSweeper(
            name,
            collection,
            handler,
            self.clock,
            field=field,
            poll_seconds=self.settings.sweeper_poll_seconds,
            lease_seconds=self.settings.sweeper_lease_seconds,
            after_sweep=after_sweep,
        )


def _no_consumers(runtime: Runtime) -> Sequence[EventConsumer]:
    return ()


def _no_sweepers(runtime: Runtime) -> Sequence[DeadlineSweeper]:
    return ()


def _no_loops(runtime: Runtime) -> Sequence[Loop]:
    return ()


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    description: str
    version: str = "1.0.0"
    routers: Sequence[APIRouter] = ()
    indexes: Sequence[IndexSpec] = ()
    outbox_collections: Sequence[str] = ()
    setup: Callable[[Runtime], Any] | None = None
    consumers: Callable[[Runtime], Sequence[EventConsumer]] = _no_consumers
    sweepers: Callable[[Runtime], Sequence[DeadlineSweeper]] = _no_sweepers
    # Queues declared without a consumer here (e.g. a command queue another replica consumes).
    extra_bindings: Sequence[QueueBinding] = ()
    on_published: Callable[[Any], Awaitable[None]] | None = None
    # Run once the shared start is done (consuming, relay and sweepers running), before `loops`.
    on_start: Callable[[Runtime], Awaitable[None]] | None = None
    # The service's own loops: started after `on_start`; stopped first at shutdown (before the
    # sweepers, the relay and consuming), each awaited up to GRACEFUL_TIMEOUT_SECONDS.
    loops: Callable[[Runtime], Sequence[Loop]] = _no_loops
    # Run at shutdown once everything else has stopped (broker and database client closed).
    on_stop: Callable[[Runtime], Awaitable[None]] | None = None
    # The service's own readiness checks, by name: (ready?, what to report). `/health/ready`
    # adds them to its checks and answers 503 while one is not ready.
    readiness: Callable[[Runtime], dict[str, tuple[bool, Any]]] | None = None
    # The documents the service issues (services/common/documents): mounts `/v1/documents` and
    # `/v1/verify`, and runs the issuer loop; `documents` becomes an outbox collection.
    documents: DocumentsSpec | None = None


_PROMETHEUS_MIDDLEWARE: RabbitPrometheusMiddleware | None = None


def _prometheus_middleware(app_name: str) -> RabbitPrometheusMiddleware:
    # Its metrics live in the process-wide registry: create it once per process.
    global _PROMETHEUS_MIDDLEWARE
    if _PROMETHEUS_MIDDLEWARE is None:
        _PROMETHEUS_MIDDLEWARE = RabbitPrometheusMiddleware(registry=REGISTRY, app_name=app_name)
    return _PROMETHEUS_MIDDLEWARE


def make_clock(settings: ServiceSettings) -> Clock:
    return FileClock(settings.clock_file) if settings.clock_file else SystemClock()


def create_app(
    spec: ServiceSpec, settings: ServiceSettings, *, clock: Clock | None = None
) -> FastAPI:
    configure_logging(spec.name, settings.log_level)
    tracer_provider = configure_tracing(spec.name, settings.otel_exporter_otlp_endpoint)
    clock = clock or make_clock(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        metrics_server = _serve_metrics(settings)
        try:
            runtime = await _start(spec, settings, clock, tracer_provider)
            runtime.readiness = spec.readiness
            app.state.runtime = runtime
            try:
                if spec.on_start is not None:
                    await spec.on_start(runtime)
                _start_loops(spec, runtime)
                yield
            finally:
                await _stop_loops(runtime)
                await _stop(runtime)
                if spec.on_stop is not None:
                    await spec.on_stop(runtime)
        finally:
            if metrics_server is not None:
                metrics_server.shutdown()
                metrics_server.server_close()

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version=spec.version,
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
        root_path=settings.http_root_path,
    )
    install_problem_handlers(app)
    install_auth(app, verifier_from_settings(settings))
    app.include_router(_operations_router(serve_metrics=settings.metrics_port is None))
    for router in spec.routers:
        app.include_router(router)
    if spec.documents is not None:
        documents_public_url(settings)  # production refuses to start without it
        app.include_router(documents_api.router)
    app.include_router(deadletters.router)
    _install_http_metrics(app)
    app.add_middleware(ForwardedPrefix)
    app.add_middleware(SecurityHeaders)
    # The client's address (request.client) as the trusted gateway reports it; see TRUSTED_PROXIES.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    install_openapi(app)
    # One server span per request: not the ASGI `receive`/`send` spans under it (three more
    # per request, timing the reading of the body and each write of the answer).
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=tracer_provider,
        excluded_urls="health,metrics",
        exclude_spans=["receive", "send"],
    )
    return app


async def _start(
    spec: ServiceSpec, settings: ServiceSettings, clock: Clock, tracer_provider: Any
) -> Runtime:
    client = make_client(settings.mongo_url, spec.name)
    db = client[settings.database_name]
    outbox_collections = list(spec.outbox_collections)
    document_indexes: list[IndexSpec] = []
    if spec.documents is not None:
        outbox_collections.append(documents_store.DOCUMENTS)
        document_indexes = [
            *documents_store.INDEXES,
            *documents_store.due_indexes(spec.documents.collections),
        ]
    await ensure_indexes(
        db,
        [
            *spec.indexes,
            *document_indexes,
            *outbox_indexes(outbox_collections),
            *INBOX_INDEXES,
            *deadletters.AUDIT_INDEXES,
        ],
    )
    broker = make_broker(
        settings,
        middlewares=[
            RabbitTelemetryMiddleware(tracer_provider=tracer_provider),
            _prometheus_middleware(spec.name),
        ],
    )
    publisher = BrokerPublisher(broker, settings)
    runtime = Runtime(
        settings=settings,
        clock=clock,
        calendar=WorkingCalendar(
            closures=settings.calendar_closures, openings=settings.calendar_openings
        ),
        client=client,
        db=db,
        broker=broker,
        publisher=publisher,
        outbox=Outbox(),
        inbox=Inbox(db, clock),
        idempotency=IdempotencyStore(),
    )
    if spec.documents is not None:
        runtime.documents = DocumentStore(
            db, spec.name, spec.documents, clock, runtime.outbox, documents_public_url(settings)
        )
        runtime.issuer = DocumentIssuer(
            runtime.documents,
            [db[name] for name in spec.documents.collections],
            clock,
            poll_seconds=settings.outbox_poll_seconds,
            lease_seconds=settings.sweeper_lease_seconds,
        )
    if spec.setup is not None:
        runtime.service = spec.setup(runtime)
    consumers = [_suffixed(consumer, settings.queue_suffix) for consumer in spec.consumers(runtime)]
    extra_bindings = [_suffixed_binding(b, settings.queue_suffix) for b in spec.extra_bindings]
    runtime.consumers = [
        ConsumerRunner(
            consumer,
            broker=broker,
            publisher=publisher,
            inbox=runtime.inbox,
            clock=clock,
            settings=settings,
        )
        for consumer in consumers
    ]
    runtime.consumer_queues = [consumer.queue for consumer in consumers]
    if runtime.consumer_queues:
        runtime.dead_letters = deadletters.DeadLetters(
            lambda: _connection_of(broker), runtime.consumer_queues, db
        )
    await broker.connect()
    await declare_topology(broker, settings, [*(c.binding for c in consumers), *extra_bindings])
    await broker.start()
    if outbox_collections:
        runtime.relay = OutboxRelay(
            db,
            outbox_collections,
            publisher,
            runtime.outbox,
            clock,
            poll_seconds=settings.outbox_poll_seconds,
            lease_seconds=settings.outbox_lease_seconds,
            on_published=spec.on_published,
        )
    runtime.sweepers = list(spec.sweepers(runtime))
    loops: list[OutboxRelay | DeadlineSweeper | DocumentIssuer] = [*runtime.sweepers]
    if runtime.relay is not None:
        loops.insert(0, runtime.relay)
    if runtime.issuer is not None:
        loops.append(runtime.issuer)
    runtime.tasks = [
        asyncio.create_task(loop.run(), name=f"{spec.name}:{type(loop).__name__}") for loop in loops
    ]
    logger.info("service %s started", spec.name)
    return runtime


def _start_loops(spec: ServiceSpec, runtime: Runtime) -> None:
    runtime.loops = list(spec.loops(runtime))
    runtime.loop_tasks = [
        asyncio.create_task(loop.run(), name=f"{spec.name}:{type(loop).__name__}")
        for loop in runtime.loops
    ]


async def _stop_loops(runtime: Runtime) -> None:
    """Ask the service's own loops to stop and wait for them (each may finish what it holds) up
    to the graceful timeout; a loop still running then is cancelled."""
    for loop in runtime.loops:
        loop.stop()
    if not runtime.loop_tasks:
        return
    timeout = runtime.settings.graceful_timeout_seconds
    _, pending = await asyncio.wait(runtime.loop_tasks, timeout=timeout)
    for task in pending:
        logger.warning("%s did not stop within %.0fs", task.get_name(), timeout)
        task.cancel()
    outcomes = await asyncio.gather(*runtime.loop_tasks, return_exceptions=True)
    for task, outcome in zip(runtime.loop_tasks, outcomes, strict=True):
        if isinstance(outcome, Exception):
            logger.error("%s failed", task.get_name(), exc_info=outcome)


async def _stop(runtime: Runtime) -> None:
    if runtime.issuer is not None:
        runtime.issuer.stop()
    for sweeper in runtime.sweepers:
        sweeper.stop()
    if runtime.relay is not None:
        runtime.relay.stop()
    for runner in runtime.consumers:
        runner.stop()
    if runtime.tasks:
        _, pending = await asyncio.wait(runtime.tasks, timeout=10)
        for task in pending:
            task.cancel()
    # Stops consuming and waits (graceful_timeout) for the handlers already running.
    await runtime.broker.stop()
    await runtime.client.close()
    logger.info("service %s stopped", runtime.settings.service_name)


def documents_public_url(settings: ServiceSettings) -> str:
    """The address the QR codes and events name for this service's verification pages:
    `DOCUMENTS_PUBLIC_URL` + `HTTP_ROOT_PATH`; outside production, unset, the service's own
    address. Production refuses to start a service with documents without it."""
    if settings.documents_public_url:
        return settings.documents_public_url.rstrip("/") + settings.http_root_path
    if settings.environment is Environment.PRODUCTION:
        raise ValueError("a service that issues documents needs DOCUMENTS_PUBLIC_URL in production")
    host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::") else settings.http_host
    return f"http://{host}:{settings.http_port}{settings.http_root_path}"


def _suffixed_binding(binding: QueueBinding, suffix: str) -> QueueBinding:
    return dataclasses.replace(binding, name=f"{binding.name}.{suffix}") if suffix else binding


def _suffixed(consumer: EventConsumer, suffix: str) -> EventConsumer:
    return dataclasses.replace(consumer, binding=_suffixed_binding(consumer.binding, suffix))


async def _connection_of(broker: RabbitBroker) -> aio_pika.abc.AbstractConnection:
    connection: aio_pika.abc.AbstractRobustConnection | None = getattr(broker, "_connection", None)
    if connection is None or connection.is_closed:
        raise ConnectionError("not connected to the broker")
    return connection


def _serve_metrics(settings: ServiceSettings) -> Any:
    """`GET /metrics` on METRICS_PORT, in a thread of its own (prometheus_client's server)."""
    if settings.metrics_port is None:
        return None
    server, _ = start_http_server(settings.metrics_port, addr=settings.http_host, registry=REGISTRY)
    return server


# Plain path segments; no `.` or `..` segment.
_PREFIX = re.compile(r"^(/(?!\.{1,2}(?:/|$))[A-Za-z0-9._~-]+)+$")


class ForwardedPrefix(HttpMiddleware):
    """Honours `X-Forwarded-Prefix` (the path prefix the gateway serves the service under), so the
    docs page and the OpenAPI `servers` name the address the client used. A value that is not a
    plain path prefix is ignored. Routing accepts paths with or without the prefix."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-prefix":
                prefix = value.decode("latin-1").rstrip("/")
                if _PREFIX.match(prefix):
                    scope["root_path"] = prefix
                break
        await self.app(scope, receive, send)


def _operations_router(*, serve_metrics: bool = True) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health/live", summary="Liveness: the process answers")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/health/ready", summary="Readiness: database up, and consuming if the broker is")
    async def ready(request: Request) -> JSONResponse:
        """Ready when the database answers and, while the broker answers, every queue is consumed.

        A broker outage alone does not make the pod unready: the outbox keeps the API accepting
        requests and publishes later. A pod whose consumer vanished while the broker is up
        (FastStream #2758) is unready, so it stops taking traffic and the operator sees it.
        """
        runtime: Runtime = request.app.state.runtime
        database = await ping(runtime.db)
        broker = await runtime.broker.ping(timeout=2.0)
        checks: dict[str, Any] = {"database": database, "broker": broker}
        consuming = True
        if broker and runtime.consumer_queues:
            try:
                counts = await queue_consumer_counts(runtime.broker, runtime.consumer_queues)
            except Exception:
                counts = dict.fromkeys(runtime.consumer_queues, 0)
            checks["consumers"] = counts
            consuming = all(count > 0 for count in counts.values())
        is_ready = database and consuming
        if runtime.readiness is not None:
            for name, (ok, report) in runtime.readiness(runtime).items():
                checks[name] = report
                is_ready = is_ready and ok
        status = "ready" if is_ready and broker else "degraded" if is_ready else "not-ready"
        return JSONResponse(
            {"status": status, "checks": checks}, status_code=200 if is_ready else 503
        )

    if serve_metrics:

        @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
        async def metrics() -> Response:
            return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router


def _install_http_metrics(app: FastAPI) -> None:
    app.add_middleware(HttpMetrics)


class HttpMetrics(HttpMiddleware):
    """`http_requests_total` and `http_request_duration_seconds` per route. A request that ends
    in an exception counts as the 500 it is answered with."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], path, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], path).observe(time.perf_counter() - started)


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run under uvicorn; SIGTERM drains requests and messages before the process exits."""
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=int(settings.graceful_timeout_seconds),
        # The app reads X-Forwarded-For itself, from TRUSTED_PROXIES only (create_app); uvicorn's
        # own reading would trust FORWARDED_ALLOW_IPS, 127.0.0.1 by default.
        proxy_headers=False,
        # No `server: uvicorn` banner: what runs behind the gateway is nobody's business.
        server_header=False,
    )
