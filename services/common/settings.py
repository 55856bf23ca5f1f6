"""Service settings, read from the environment only (12-factor).

Each service subclasses :class:`ServiceSettings` with its own fields and a `model_config` env prefix
for them; the shared fields below keep their plain names (`AMQP_URL`, `MONGO_URL`, ...), so one
ConfigMap can serve every service.
"""

from __future__ import annotations

import ipaddress
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_KEYS_DIR = Path(".local/dev-keys")
# The `iss` and `aud` of development tokens (`devtoken`), and what a service outside production
# expects when JWT_ISSUER / JWT_AUDIENCE are unset. Production must set both.
DEV_JWT_ISSUER = "amman-dev"
DEV_JWT_AUDIENCE = "amman-eservices"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class QueueType(StrEnum):
    QUORUM = "quorum"
    CLASSIC = "classic"


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class ServiceSettings(BaseSettings):
    """Settings shared by every service. Every field is documented in `deploy/README.md`."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    environment: Environment = Environment.DEVELOPMENT
    service_name: str = "service"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # The path prefix the API gateway serves this service under (e.g. `/licensing`): the docs page
    # and the OpenAPI `servers` name it. A request's `X-Forwarded-Prefix` header overrides it.
    http_root_path: str = Field(default="", pattern=r"^(/[A-Za-z0-9._~-]+)*$")
    # A port of its own for `GET /metrics`, so that the public HTTP port never serves it. Unset,
    # `/metrics` is served on HTTP_PORT (development and tests); production requires it.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    mongo_url: str = "mongodb://127.0.0.1:27017/"
    # Defaults to the service name: each service owns its own database.
    mongo_database: str | None = None

    # quorum in a production cluster; classic on Debian's single-node RabbitMQ, whose quorum queues
    # stay unconsumable for minutes after a crash (measured: see deploy/README.md).
    queue_type: QueueType = QueueType.QUORUM
    # Appended to every queue name this process declares (`payments.requests.<suffix>`): lets
    # tests run isolated instances on one broker. Empty in every real deployment.
    queue_suffix: str = Field(default="", pattern=r"^[a-z0-9_-]*$")
    delivery_limit: int = Field(default=5, ge=1)
    prefetch_count: int = Field(default=20, ge=1)
    publish_timeout_seconds: float = Field(default=10.0, gt=0)

    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    outbox_lease_seconds: float = Field(default=30.0, gt=0)
    sweeper_poll_seconds: float = Field(default=5.0, gt=0)
    sweeper_lease_seconds: float = Field(default=60.0, gt=0)

    # A test or a local demo may move time: a file holding an ISO-8601 instant (see clock.py).
    # Refused in production.
    clock_file: Path | None = None

    # Working-day calendar: closures announced by the government, and days declared working.
    calendar_closures: Annotated[list[date], NoDecode] = Field(default_factory=list)
    calendar_openings: Annotated[list[date], NoDecode] = Field(default_factory=list)

    # JWT verification: a PEM public key (or a file holding it), or a JWKS URL. Tokens must carry
    # the issuer and the audience in every environment; outside production they default to the
    # development tokens' (`DEV_JWT_ISSUER`, `DEV_JWT_AUDIENCE`), production must set both.
    jwt_public_key: str | None = None
    jwt_public_key_file: Path | None = None
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_algorithms: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["RS256", "ES256"]
    )

    # The addresses (IPs or CIDR networks) of the gateway / load balancer in front of the service.
    # A request from one of them is taken to come from the client its X-Forwarded-For names
    # (the right-most address that is not itself trusted); anyone else's X-Forwarded-For is
    # ignored. Per-address rate limits (contractors) key on that client address.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # The public origin citizens and verifiers reach the services at (e.g.
    # `https://eservices.amman.jo`): a document's QR code and its events name
    # `<DOCUMENTS_PUBLIC_URL><HTTP_ROOT_PATH>/v1/verify/<id>`. Required in production by a service
    # that issues documents.
    documents_public_url: str | None = Field(
        default=None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$"
    )

    otel_exporter_otlp_endpoint: str | None = None
    log_level: str = "INFO"
    graceful_timeout_seconds: float = Field(default=15.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _csv_lists(cls, values: object) -> object:
        if isinstance(values, dict):
            for key in (
                "calendar_closures",
                "calendar_openings",
                "jwt_algorithms",
                "trusted_proxies",
            ):
                for candidate in (key, key.upper()):
                    if candidate in values:
                        values[candidate] = _split_csv(values[candidate])
        return values

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(
                    f"TRUSTED_PROXIES: {value!r} is not an IP address or network"
                ) from None
        return values

    @model_validator(mode="after")
    def _safe_outside_development(self) -> ServiceSettings:
        if self.environment is not Environment.PRODUCTION:
            self.jwt_issuer = self.jwt_issuer or DEV_JWT_ISSUER
            self.jwt_audience = self.jwt_audience or DEV_JWT_AUDIENCE
        if self.environment is Environment.PRODUCTION:
            if self.clock_file is not None:
                raise ValueError("CLOCK_FILE moves time and is refused in production")
            if not (self.jwt_public_key or self.jwt_public_key_file or self.jwt_jwks_url):
                raise ValueError(
                    "production needs JWT_PUBLIC_KEY, JWT_PUBLIC_KEY_FILE or JWT_JWKS_URL"
                )
            if "guest:guest@" in self.amqp_url:
                raise ValueError("production refuses RabbitMQ's default guest account in AMQP_URL")
            if not self.jwt_issuer or not self.jwt_audience:
                raise ValueError("production needs JWT_ISSUER and JWT_AUDIENCE")
            if self.metrics_port is None:
                raise ValueError("production serves /metrics on its own port: set METRICS_PORT")
        if self.metrics_port is not None and self.metrics_port == self.http_port:
            raise ValueError("METRICS_PORT must differ from HTTP_PORT")
        return self

    @property
    def database_name(self) -> str:
        return self.mongo_database or self.service_name

    def jwt_key_pem(self) -> str | None:
        """The configured public key; in development, the locally generated dev key if present."""
        if self.jwt_public_key:
            return self.jwt_public_key
        path = self.jwt_public_key_file
        if path is None and self.environment is not Environment.PRODUCTION:
            candidate = DEV_KEYS_DIR / "jwt-public.pem"
            path = candidate if candidate.exists() else None
        return path.read_text() if path is not None else None
