"""The licensing service's configuration: the shared settings plus its own (`LICENSING_*`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings
from services.licensing import reference


class LicensingSettings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "licensing"
    # Attachments: the largest upload accepted, in bytes.
    licensing_max_upload_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=15 * 1024 * 1024)
    # The e-payment number can be paid until the end of this many working days after approval.
    licensing_payment_working_days: int = Field(default=10, ge=1, le=60)
    # Where citizens reach this service: the licence's verification link starts with it.
    licensing_public_base_url: str = Field(
        default="http://127.0.0.1:8010", pattern=r"^https?://[^\s]+$"
    )
    # The reference data (sample files in services/licensing/data/; a municipality points these
    # at its own).
    licensing_fee_schedule_file: Path = reference.FEE_SCHEDULE_FILE
    licensing_camps_file: Path = reference.CAMPS_FILE
    licensing_authorities_file: Path = reference.AUTHORITIES_FILE
