"""The training service's configuration: the shared settings plus its own (`TRAINING_*`), and
the catalogue they point at (read here, outside the domain, and handed to the use cases)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings
from services.training.domain import Catalogue

# The departments and GIS courses (with hours and fees) packaged with the service.
CATALOGUE_FILE = Path(__file__).resolve().with_name("catalogue.json")


def load_catalogue(path: Path = CATALOGUE_FILE) -> Catalogue:
    return Catalogue.model_validate(json.loads(path.read_text(encoding="utf-8")))


class TrainingSettings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "training"
    # The departments and GIS courses (with hours and fees); the packaged list by default.
    training_catalogue_file: Path | None = None
    # The largest attachment accepted, in bytes.
    training_max_upload_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=15 * 1024 * 1024)

    def catalogue(self) -> Catalogue:
        """The catalogue this service offers: `TRAINING_CATALOGUE_FILE`, or the packaged one."""
        return load_catalogue(self.training_catalogue_file or CATALOGUE_FILE)
