"""The payments service's configuration: the shared settings plus the biller's own.

Every payments-specific variable starts with `PAYMENTS_` and is documented in README.md.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from services.common.settings import Environment, ServiceSettings
from services.payments.numbers import MAX_LENGTH, MIN_LENGTH

# Known to everyone who reads this repository: fine for a laptop, refused in production.
DEVELOPMENT_PROVIDER_SECRET = "development-only-efawateercom-secret-do-not-use"
MIN_SECRET_LENGTH = 32

# The fee kinds the five services request, by service; a more precise key (the full
# `service_type`) wins over the service's name.
DEFAULT_SERVICE_TYPES: dict[str, str] = {
    "licensing": "LICENSING",
    "contractors": "CONTRACTORS",
    "courses": "COURSES",
    "training": "TRAINING",
    "exams": "EXAMS",
}


class PaymentsSettings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "payments"

    # The municipality's biller code in eFAWATEERcom, given by the provider at enrolment.
    payments_biller_code: str = Field(default="106", pattern=r"^[0-9A-Za-z]{1,20}$")
    # Fee kind (or requesting service) -> the provider's service-type code, as JSON.
    payments_service_types: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_SERVICE_TYPES)
    )
    payments_default_service_type: str = Field(default="GAMFEES", min_length=1)
    # The shared secret of the provider's HMAC signatures; the previous one is also accepted
    # while a rotation is under way.
    payments_efawateercom_secret: SecretStr = SecretStr(DEVELOPMENT_PROVIDER_SECRET)
    payments_efawateercom_previous_secret: SecretStr | None = None
    payments_signature_window_seconds: int = Field(default=300, ge=10, le=3600)
    payments_number_length: int = Field(default=13, ge=MIN_LENGTH, le=MAX_LENGTH)

    @model_validator(mode="after")
    def _provider_secret_is_real_in_production(self) -> PaymentsSettings:
        if self.environment is Environment.PRODUCTION:
            secret = self.payments_efawateercom_secret.get_secret_value()
            if secret == DEVELOPMENT_PROVIDER_SECRET or len(secret) < MIN_SECRET_LENGTH:
                raise ValueError(
                    "production needs PAYMENTS_EFAWATEERCOM_SECRET: the provider's own secret, "
                    f"at least {MIN_SECRET_LENGTH} characters, not the development default"
                )
        return self

    def provider_secrets(self) -> list[bytes]:
        secrets = [self.payments_efawateercom_secret.get_secret_value().encode()]
        if self.payments_efawateercom_previous_secret is not None:
            secrets.append(self.payments_efawateercom_previous_secret.get_secret_value().encode())
        return [secret for secret in secrets if secret]
