"""The contractors service's own settings (`CONTRACTORS_*`, `NOTIFIER_CODE_PUBLIC_KEY*`), each
documented in its README's "Configuration" table."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from pathlib import Path

from nacl.public import PublicKey
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from services.common import codeseal
from services.common.settings import DEV_KEYS_DIR, Environment, ServiceSettings
from services.contractors import registry
from services.contractors.otp import OtpPolicy
from services.contractors.service import Limits


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
