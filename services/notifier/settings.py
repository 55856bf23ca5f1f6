"""The notifier's settings (`NOTIFIER_*`, every one in the README's "Configuration"), and the
gateway, retry policy, SMPP link and sealing key they describe."""

from __future__ import annotations

import base64
import hashlib
import socket
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from services.common.settings import Environment, ServiceSettings
from services.notifier.domain import InvalidPhone, RetryPolicy, normalise_phone
from services.notifier.gateways import HttpGateway, LogGateway, ReservedNumbers, SmsGateway
from services.notifier.smpp_gateway import SmppConfig, SmppGateway

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
