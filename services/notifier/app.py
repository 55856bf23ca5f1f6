"""Wiring of the notifier: its settings, its gateway, its two queues and its two sweepers.

The only place where the notifier's parts are built; nothing connects at import. `build` takes
an optional gateway so that a test or a benchmark can plug in its own.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from fastapi import FastAPI
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from services.common import codeseal
from services.common.runtime import Runtime, ServiceSpec, create_app
from services.common.settings import DEV_KEYS_DIR, Environment, ServiceSettings
from services.common.sweeper import DeadlineSweeper
from services.notifier import api, catalogue, store
from services.notifier.consumers import consumers
from services.notifier.domain import InvalidPhone, RetryPolicy, normalise_phone
from services.notifier.gateways import (
    HttpGateway,
    LogGateway,
    RateLimiter,
    ReservedNumbers,
    SmsGateway,
)
from services.notifier.sender import DueMessages, Sender
from services.notifier.service import Notifier, Sealer
from services.notifier.smpp_gateway import INDEXES as SMPP_INDEXES
from services.notifier.smpp_gateway import SmppConfig, SmppGateway, SmppStore

GatewayKind = Literal["log", "http", "smpp"]


class NotifierSettings(ServiceSettings):
    """The notifier's own settings (`NOTIFIER_*`), documented in its README."""

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "notifier"

    notifier_gateway: GatewayKind = "log"
    notifier_http_url: str | None = None
    notifier_http_token: SecretStr | None = None
    notifier_http_timeout_seconds: float = Field(default=10.0, gt=0)
    notifier_sender_name: str = Field(default="AmmanCity", min_length=1, max_length=11)

    # SMPP 3.4 (`NOTIFIER_GATEWAY=smpp`): README, "Gateways".
    notifier_smpp_host: str | None = None
    notifier_smpp_port: int = Field(default=2775, ge=1, le=65535)
    notifier_smpp_tls: bool = False
    notifier_smpp_tls_ca_file: str | None = None
    notifier_smpp_system_id: str | None = Field(default=None, max_length=15)
    notifier_smpp_password: SecretStr | None = None
    notifier_smpp_system_type: str = Field(default="", max_length=12)
    notifier_smpp_window: int = Field(default=10, ge=1, le=100)
    notifier_smpp_enquire_link_seconds: float = Field(default=30.0, gt=0)
    notifier_smpp_response_timeout_seconds: float = Field(default=10.0, gt=0)
    notifier_smpp_rebind_min_seconds: float = Field(default=1.0, gt=0)
    notifier_smpp_rebind_max_seconds: float = Field(default=60.0, gt=0)
    notifier_smpp_bind_wait_seconds: float = Field(default=10.0, gt=0)
    notifier_smpp_concatenation: Literal["udh", "sar"] = "udh"
    notifier_smpp_unanswered: Literal["hold", "resubmit"] = "hold"

    notifier_max_attempts: int = Field(default=5, ge=1, le=20)
    notifier_backoff_base_seconds: float = Field(default=30.0, gt=0)
    notifier_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    notifier_unconfirmed_after_seconds: float = Field(default=3 * 86400.0, gt=0)
    notifier_rate_limit_per_second: float = Field(default=20.0, gt=0)

    notifier_send_workers: int = Field(default=4, ge=1, le=64)
    notifier_send_poll_seconds: float = Field(default=1.0, gt=0)
    notifier_send_lease_seconds: float = Field(default=60.0, gt=0)
    # The sender's lasting identity; empty: this host's name and the HTTP port (one process at a
    # time has them). A restarted sender takes back at once the messages its previous run held.
    notifier_sender_holder: str = ""

    notifier_receipt_secret: SecretStr = SecretStr("")
    notifier_sealing_key: SecretStr | None = None
    # The private half of the code key: opens the one-time codes sealed for the notifier alone.
    notifier_code_private_key: SecretStr | None = None
    notifier_code_private_key_file: Path | None = None

    notifier_test_number_permanent_failure: str = "+962790000002"
    notifier_test_number_temporary_failure: str = "+962790000003"
    notifier_test_number_never_confirmed: str = "+962790000004"

    @model_validator(mode="after")
    def _consistent(self) -> NotifierSettings:
        if self.notifier_gateway == "http":
            url = urlsplit(self.notifier_http_url or "")
            if url.scheme not in ("http", "https") or not url.netloc:
                raise ValueError("NOTIFIER_GATEWAY=http needs NOTIFIER_HTTP_URL, an http(s) URL")
            if not self.notifier_http_token or not self.notifier_http_token.get_secret_value():
                raise ValueError("NOTIFIER_GATEWAY=http needs NOTIFIER_HTTP_TOKEN")
            if self.notifier_send_lease_seconds <= self.notifier_http_timeout_seconds:
                # Otherwise a slow answer could let another replica send the message again.
                raise ValueError(
                    "NOTIFIER_SEND_LEASE_SECONDS must be longer than NOTIFIER_HTTP_TIMEOUT_SECONDS"
                )
        if self.notifier_gateway == "smpp":
            self._check_smpp()
        if self.notifier_sealing_key is not None:
            try:
                Fernet(self.notifier_sealing_key.get_secret_value())
            except ValueError:
                raise ValueError(
                    "NOTIFIER_SEALING_KEY must be a Fernet key (32 url-safe base64 bytes)"
                ) from None
        if self.environment is Environment.PRODUCTION:
            if self.notifier_gateway not in ("http", "smpp"):
                raise ValueError("production sends real SMS: NOTIFIER_GATEWAY must be http or smpp")
            if (
                self.notifier_gateway == "http"
                and not self.notifier_receipt_secret.get_secret_value()
            ):
                raise ValueError("production needs NOTIFIER_RECEIPT_SECRET to check receipts")
            if self.notifier_sealing_key is None:
                raise ValueError("production needs NOTIFIER_SEALING_KEY for one-time codes")
            if not (self.notifier_code_private_key or self.notifier_code_private_key_file):
                raise ValueError("production needs NOTIFIER_CODE_PRIVATE_KEY to open codes")
        for name in (
            "notifier_test_number_permanent_failure",
            "notifier_test_number_temporary_failure",
            "notifier_test_number_never_confirmed",
        ):
            try:
                setattr(self, name, normalise_phone(getattr(self, name)))
            except InvalidPhone as error:
                raise ValueError(f"{name.upper()}: {error}") from None
        return self

    def _check_smpp(self) -> None:
        if not self.notifier_smpp_host:
            raise ValueError("NOTIFIER_GATEWAY=smpp needs NOTIFIER_SMPP_HOST")
        if not self.notifier_smpp_system_id:
            raise ValueError("NOTIFIER_GATEWAY=smpp needs NOTIFIER_SMPP_SYSTEM_ID")
        password = self.notifier_smpp_password
        if password is None or not password.get_secret_value():
            raise ValueError("NOTIFIER_GATEWAY=smpp needs NOTIFIER_SMPP_PASSWORD")
        if len(password.get_secret_value()) > 8:
            # SMPP 3.4 carries at most 8 characters (9 octets with the terminating NUL).
            raise ValueError("NOTIFIER_SMPP_PASSWORD: SMPP 3.4 allows at most 8 characters")
        if self.notifier_send_lease_seconds <= self.notifier_smpp_response_timeout_seconds * 3:
            # A part may wait for a bind, then for its answer: the lease must outlast both.
            raise ValueError(
                "NOTIFIER_SEND_LEASE_SECONDS must be longer than three "
                "NOTIFIER_SMPP_RESPONSE_TIMEOUT_SECONDS"
            )

    def smpp_config(self) -> SmppConfig:
        assert self.notifier_smpp_host and self.notifier_smpp_system_id
        assert self.notifier_smpp_password is not None
        return SmppConfig(
            host=self.notifier_smpp_host,
            port=self.notifier_smpp_port,
            system_id=self.notifier_smpp_system_id,
            password=self.notifier_smpp_password.get_secret_value(),
            system_type=self.notifier_smpp_system_type,
            source_addr=self.notifier_sender_name,
            tls=self.notifier_smpp_tls,
            tls_ca_file=self.notifier_smpp_tls_ca_file,
            enquire_link_seconds=self.notifier_smpp_enquire_link_seconds,
            response_timeout_seconds=self.notifier_smpp_response_timeout_seconds,
            window=self.notifier_smpp_window,
            rebind_min_seconds=self.notifier_smpp_rebind_min_seconds,
            rebind_max_seconds=self.notifier_smpp_rebind_max_seconds,
            bind_wait_seconds=self.notifier_smpp_bind_wait_seconds,
            concatenation=self.notifier_smpp_concatenation,
            unanswered=self.notifier_smpp_unanswered,
        )

    def sender_holder(self) -> str:
        return self.notifier_sender_holder or f"{socket.gethostname()}:{self.http_port}"

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.notifier_max_attempts,
            backoff_base=timedelta(seconds=self.notifier_backoff_base_seconds),
            backoff_max=timedelta(seconds=self.notifier_backoff_max_seconds),
            unconfirmed_after=timedelta(seconds=self.notifier_unconfirmed_after_seconds),
        )

    def sealing_key(self) -> bytes:
        """The configured key; outside production, one derived from the database's name, so a
        local notifier can still open what it sealed before a restart."""
        if self.notifier_sealing_key is not None:
            return self.notifier_sealing_key.get_secret_value().encode()
        seed = f"amman-notifier-development-only:{self.database_name}".encode()
        return base64.urlsafe_b64encode(hashlib.sha256(seed).digest())

    def gateway(self) -> SmsGateway:
        if self.notifier_gateway == "smpp":
            return SmppGateway(self.smpp_config())
        if self.notifier_gateway == "http":
            assert self.notifier_http_url is not None and self.notifier_http_token is not None
            return HttpGateway(
                self.notifier_http_url,
                self.notifier_http_token.get_secret_value(),
                sender=self.notifier_sender_name,
                timeout_seconds=self.notifier_http_timeout_seconds,
            )
        return LogGateway(
            ReservedNumbers(
                permanent_failure=self.notifier_test_number_permanent_failure,
                temporary_failure=self.notifier_test_number_temporary_failure,
                never_confirmed=self.notifier_test_number_never_confirmed,
            )
        )


def build(settings: NotifierSettings, *, gateway: SmsGateway | None = None) -> FastAPI:
    due = DueMessages()

    def setup(runtime: Runtime) -> Notifier:
        limiter = RateLimiter(settings.notifier_rate_limit_per_second)
        notifier = Notifier(
            store=store.MessageStore(runtime.db, runtime.outbox),
            catalogue=catalogue.load(),
            gateway=gateway or settings.gateway(),
            limiter=limiter,
            policy=settings.retry_policy(),
            clock=runtime.clock,
            sealer=Sealer(settings.sealing_key()),
            code_key=codeseal.load_private_key(
                settings.notifier_code_private_key.get_secret_value()
                if settings.notifier_code_private_key
                else None,
                settings.notifier_code_private_key_file,
                production=settings.environment is Environment.PRODUCTION,
                dev_dir=DEV_KEYS_DIR,
            ),
            receipt_secret=settings.notifier_receipt_secret.get_secret_value().encode(),
            due=due,
        )
        if isinstance(notifier.gateway, SmppGateway):
            # Its receipts come on its own link: applied as the HTTP receipts are.
            notifier.gateway.attach(SmppStore(runtime.db), notifier.apply_receipt, limiter)
        return notifier

    def sweepers(runtime: Runtime) -> list[DeadlineSweeper]:
        notifier: Notifier = runtime.service
        unconfirmed = runtime.sweeper(
            "unconfirmed",
            notifier.store.messages,
            notifier.expire_unconfirmed,
            field=store.CONFIRM_BY,
        )
        return [unconfirmed]

    def sender(runtime: Runtime) -> list[Sender | SmppGateway]:
        """The sender runs last and stops first: the message it holds is recorded while the
        database is still there. It is not a deadline sweeper (see sender.py)."""
        notifier: Notifier = runtime.service
        sender = Sender(
            notifier.store,
            notifier.send_due,
            runtime.clock,
            due,
            workers=settings.notifier_send_workers,
            poll_seconds=settings.notifier_send_poll_seconds,
            lease_seconds=settings.notifier_send_lease_seconds,
            holder=settings.sender_holder(),
        )
        if isinstance(notifier.gateway, SmppGateway):
            return [notifier.gateway, sender]  # the link keeper binds while the sender starts
        return [sender]

    def readiness(runtime: Runtime) -> dict[str, tuple[bool, Any]]:
        notifier: Notifier = runtime.service
        if isinstance(notifier.gateway, SmppGateway):
            return {"smpp": notifier.gateway.health()}
        return {}

    async def close_gateway(runtime: Runtime) -> None:
        """The gateway's connections are closed last, once nothing can send any more."""
        notifier: Notifier = runtime.service
        await notifier.gateway.close()

    spec = ServiceSpec(
        name="notifier",
        title="Notifier",
        description=(
            "Every SMS of the Greater Amman Municipality e-services, in Arabic and English: "
            "sent once per event, retried, and tracked to delivery."
        ),
        routers=[api.router],
        indexes=[*store.INDEXES, *SMPP_INDEXES],
        outbox_collections=[store.MESSAGES],
        setup=setup,
        consumers=lambda runtime: consumers(runtime.service),
        sweepers=sweepers,
        loops=sender,
        on_stop=close_gateway,
        readiness=readiness,
    )
    app = create_app(spec, settings)
    _keep_query_strings_out_of_access_logs()
    return app


class _WithoutQuery(logging.Filter):
    """Staff search by phone number (`?phone=...`): access logs keep the path only."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def _keep_query_strings_out_of_access_logs() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, _WithoutQuery) for existing in access.filters):
        access.addFilter(_WithoutQuery())
