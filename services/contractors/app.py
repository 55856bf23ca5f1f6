"""Wiring of the contractors service: settings, fee schedule, routers, indexes, queue, sweepers,
the command relay of the one-time codes, and the sample registry in local runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from nacl.public import PublicKey
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from contracts import CONTENT_TYPE
from services.common import codeseal
from services.common.outbox import Outbox, OutboxEntry, OutboxRelay
from services.common.runtime import Runtime, ServiceSpec, create_app
from services.common.settings import DEV_KEYS_DIR, Environment, ServiceSettings
from services.common.sweeper import DeadlineSweeper
from services.contractors import api, consumers, registry, store
from services.contractors.domain import FeeSchedule
from services.contractors.otp import OtpPolicy
from services.contractors.service import Contractors, Limits

logger = logging.getLogger(__name__)

FEES_FILE = Path(__file__).resolve().with_name("fees.json")

DESCRIPTION = """Renewal of a contractor's permit (seed 001).

A citizen finds the permit with the contractor number, permit number and permit year
(`POST /v1/lookups` answers the contractor's name), asks for a one-time code by SMS to a
Jordanian mobile (`POST /v1/verifications`), and submits the renewal with its reason, the phone
and the code (`POST /v1/requests`); the request number arrives by SMS. Reviewers
(`contractors.reviewer`) approve or reject with a reason; the fee of the contractor's
classification is billed by payments (its SMS carries the e-payment number), or the renewal
completes at once when free; on completion the permit's new validity is written to the registry
and sent by SMS. Registrars (`contractors.registrar`) import the registry (CSV or JSON)."""


class ContractorsSettings(ServiceSettings):
    """The contractors service's own settings (`CONTRACTORS_*`), documented in its README."""

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "contractors"
    contractors_fees_file: Path | None = None
    # The registry loaded at start (upserted: harmless if already there). Unset: the shipped
    # sample in development, nothing otherwise.
    contractors_registry_file: Path | None = None
    contractors_load_sample: bool | None = None
    # The secret of the codes' HMAC and of their sealed SMS command; derived outside production.
    contractors_otp_secret: SecretStr | None = None
    contractors_otp_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    contractors_otp_max_attempts: int = Field(default=5, ge=1, le=20)
    contractors_otp_digits: int = Field(default=6, ge=4, le=10)
    contractors_otp_resend_seconds: int = Field(default=60, ge=1, le=3600)
    contractors_otp_per_phone_per_hour: int = Field(default=5, ge=1, le=100)
    contractors_lookups_per_window: int = Field(default=10, ge=1, le=1000)
    contractors_lookup_window_seconds: int = Field(default=900, ge=1, le=86400)
    # Lookups and codes from one client address in the same window, whatever the accounts (an
    # office or a family behind one address shares it). The address is the gateway's
    # X-Forwarded-For when the request comes from TRUSTED_PROXIES.
    contractors_lookups_per_address_per_window: int = Field(default=30, ge=1, le=10000)
    contractors_payment_working_days: int = Field(default=5, ge=1, le=30)
    # Development only: every code is this value, so a local run can be tried without a phone
    # (the local notifier's log gateway shows no code). Refused in any other environment.
    contractors_otp_dev_code: str | None = Field(default=None, pattern=r"^[0-9]{4,10}$")
    # The notifier's public code key: each code is sealed for the notifier alone (codeseal.py).
    notifier_code_public_key: str | None = None
    notifier_code_public_key_file: Path | None = None

    @model_validator(mode="after")
    def _secret_in_production(self) -> ContractorsSettings:
        if self.environment is Environment.PRODUCTION and self.contractors_otp_secret is None:
            raise ValueError("production needs CONTRACTORS_OTP_SECRET for one-time codes")
        if self.environment is Environment.PRODUCTION and not (
            self.notifier_code_public_key or self.notifier_code_public_key_file
        ):
            raise ValueError("production needs NOTIFIER_CODE_PUBLIC_KEY to seal one-time codes")
        if self.contractors_otp_dev_code is not None:
            if self.environment is not Environment.DEVELOPMENT:
                raise ValueError("CONTRACTORS_OTP_DEV_CODE is for development only")
            if len(self.contractors_otp_dev_code) != self.contractors_otp_digits:
                raise ValueError("CONTRACTORS_OTP_DEV_CODE must have CONTRACTORS_OTP_DIGITS digits")
        return self

    def otp_secret(self) -> bytes:
        if self.contractors_otp_secret is not None:
            return self.contractors_otp_secret.get_secret_value().encode()
        seed = f"amman-contractors-development-only:{self.database_name}".encode()
        return base64.urlsafe_b64encode(hashlib.sha256(seed).digest())

    def code_key(self) -> PublicKey:
        """The notifier's public code key (outside production, the development one if none)."""
        return codeseal.load_public_key(
            self.notifier_code_public_key,
            self.notifier_code_public_key_file,
            production=self.environment is Environment.PRODUCTION,
            dev_dir=DEV_KEYS_DIR,
        )

    def policy(self) -> OtpPolicy:
        return OtpPolicy(
            ttl=timedelta(seconds=self.contractors_otp_ttl_seconds),
            max_attempts=self.contractors_otp_max_attempts,
            digits=self.contractors_otp_digits,
            resend_after=timedelta(seconds=self.contractors_otp_resend_seconds),
            per_phone_per_hour=self.contractors_otp_per_phone_per_hour,
        )

    def limits(self) -> Limits:
        return Limits(
            lookups_per_window=self.contractors_lookups_per_window,
            lookup_window=timedelta(seconds=self.contractors_lookup_window_seconds),
            lookups_per_address=self.contractors_lookups_per_address_per_window,
        )

    def registry_file(self) -> Path | None:
        if self.contractors_registry_file is not None:
            return self.contractors_registry_file
        load = self.contractors_load_sample
        if load is None:
            load = self.environment is Environment.DEVELOPMENT
        return registry.SAMPLE_FILE if load else None


def load_fees(path: Path | None) -> FeeSchedule:
    raw = json.loads((path or FEES_FILE).read_text(encoding="utf-8"))
    raw.pop("_comment", None)
    return FeeSchedule.model_validate(raw)


class CommandPublisher:
    """Publishes a verification's sealed `notifier.sms.send` command to `amman.commands`."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def publish(self, entry: OutboxEntry) -> None:
        service: Contractors = self._runtime.service
        await self._runtime.publisher.send_command(
            entry.routing_key,
            service.open_command(entry.body),
            message_id=entry.id,
            content_type=CONTENT_TYPE,
        )


def build(settings: ContractorsSettings | None = None) -> FastAPI:
    settings = settings or ContractorsSettings()
    fees = load_fees(settings.contractors_fees_file)
    command_outbox = Outbox()

    def setup(runtime: Runtime) -> Contractors:
        return Contractors(
            store.ContractorStore(runtime.db, runtime.outbox, command_outbox),
            fees,
            runtime.clock,
            runtime.calendar,
            secret=settings.otp_secret(),
            policy=settings.policy(),
            limits=settings.limits(),
            payment_working_days=settings.contractors_payment_working_days,
            dev_code=settings.contractors_otp_dev_code,
            code_key=settings.code_key(),
        )

    def sweepers(runtime: Runtime) -> list[DeadlineSweeper]:
        service: Contractors = runtime.service
        return [
            runtime.sweeper(
                "registry-write",
                service.store.requests,
                service.finish_registry,
                field=store.REGISTRY_DUE_AT,
            ),
            runtime.sweeper(
                "verification-prune",
                service.store.verifications,
                service.store.prune_verification,
                field=store.PRUNE_AT,
            ),
            runtime.sweeper(
                "rate-limit-prune",
                service.store.rate_limits,
                service.store.prune_rate_limit,
                field=store.PRUNE_AT,
            ),
        ]

    async def load_registry(runtime: Runtime) -> None:
        """The registry file of local runs (upserted: harmless if already there)."""
        path = settings.registry_file()
        if path is None:
            return
        report, errors = await registry.import_file(runtime.db, path)
        if errors:
            logger.error("registry file %s: %d bad row(s), not loaded", path, len(errors))
        else:
            logger.info("registry file %s loaded: %s", path, report)

    def command_relay(runtime: Runtime) -> list[OutboxRelay]:
        """Relays the sealed one-time-code commands from `verifications` to `amman.commands`
        (the shared relay publishes to `amman.events` only, where a secret must never go)."""
        relay = OutboxRelay(
            runtime.db,
            [store.VERIFICATIONS],
            CommandPublisher(runtime),
            command_outbox,
            runtime.clock,
            poll_seconds=settings.outbox_poll_seconds,
            lease_seconds=settings.outbox_lease_seconds,
        )
        return [relay]

    spec = ServiceSpec(
        name="contractors",
        title="Contractors",
        description=DESCRIPTION,
        routers=[api.router],
        indexes=store.INDEXES,
        outbox_collections=[store.REQUESTS],
        setup=setup,
        consumers=consumers.consumers,
        sweepers=sweepers,
        on_start=load_registry,
        loops=command_relay,
    )
    return create_app(spec, settings)
