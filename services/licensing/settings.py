"""The licensing service's configuration: the shared settings plus its own (`LICENSING_*`), and
the reading of the reference files those settings name (at start-up; the domain gets the data)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings
from services.licensing.domain.reference import Authorities, Camps, FeeSchedule, ReferenceData

DATA_DIR = Path(__file__).resolve().with_name("data")
FEE_SCHEDULE_FILE = DATA_DIR / "fee_schedule.json"
CAMPS_FILE = DATA_DIR / "camps.json"
AUTHORITIES_FILE = DATA_DIR / "authorities.json"


def load_reference(
    fee_schedule: Path = FEE_SCHEDULE_FILE,
    camps: Path = CAMPS_FILE,
    authorities: Path = AUTHORITIES_FILE,
) -> ReferenceData:
    """Read and check the three files (a bad file stops the start, not a request)."""
    return ReferenceData(
        fees=FeeSchedule.model_validate(json.loads(fee_schedule.read_text(encoding="utf-8"))),
        camps=Camps.model_validate(json.loads(camps.read_text(encoding="utf-8"))),
        authorities=Authorities.model_validate(json.loads(authorities.read_text(encoding="utf-8"))),
    )


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
    licensing_fee_schedule_file: Path = FEE_SCHEDULE_FILE
    licensing_camps_file: Path = CAMPS_FILE
    licensing_authorities_file: Path = AUTHORITIES_FILE

    def reference_data(self) -> ReferenceData:
        """The reference files these settings name, read and checked."""
        return load_reference(
            self.licensing_fee_schedule_file,
            self.licensing_camps_file,
            self.licensing_authorities_file,
        )
