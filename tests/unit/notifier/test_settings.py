"""The notifier's settings refuse what would be unsafe or could not work."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from services.common.codeseal import new_key_pair
from services.notifier.settings import NotifierSettings

PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "amqp_url": "amqp://notifier:pw@rabbitmq:5672/",
    "jwt_jwks_url": "https://id.amman.jo/jwks",
    "metrics_port": 9090,
    "jwt_issuer": "https://id.amman.jo/",
    "jwt_audience": "amman-eservices",
    "notifier_gateway": "http",
    "notifier_http_url": "https://sms.example/send",
    "notifier_http_token": "token",
    "notifier_receipt_secret": "secret",
    "notifier_sealing_key": Fernet.generate_key().decode(),
    "notifier_code_private_key": new_key_pair()[0],
}


def test_a_complete_production_configuration_is_accepted() -> None:
    settings = NotifierSettings(**PRODUCTION)

    assert settings.sealing_key() == PRODUCTION["notifier_sealing_key"].encode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"notifier_gateway": "log"}, "NOTIFIER_GATEWAY must be http"),
        ({"notifier_receipt_secret": ""}, "NOTIFIER_RECEIPT_SECRET"),
        ({"notifier_sealing_key": None}, "NOTIFIER_SEALING_KEY"),
        ({"notifier_code_private_key": None}, "NOTIFIER_CODE_PRIVATE_KEY"),
        ({"notifier_sealing_key": "not-a-key"}, "Fernet key"),
        ({"notifier_http_url": None}, "NOTIFIER_HTTP_URL"),
        ({"notifier_http_url": "ftp://sms"}, "NOTIFIER_HTTP_URL"),
        ({"notifier_http_token": None}, "NOTIFIER_HTTP_TOKEN"),
        ({"notifier_send_lease_seconds": 5}, "NOTIFIER_SEND_LEASE_SECONDS"),
    ],
)
def test_production_refuses_what_is_missing_or_unsafe(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NotifierSettings(**{**PRODUCTION, **change})


def test_development_runs_on_the_log_gateway_with_a_derived_sealing_key() -> None:
    settings = NotifierSettings(mongo_database="notifier_dev")

    assert settings.gateway().name == "log"
    Fernet(settings.sealing_key())  # a valid key, the same at every start
    assert settings.sealing_key() == NotifierSettings(mongo_database="notifier_dev").sealing_key()


def test_reserved_numbers_may_be_given_in_local_form() -> None:
    settings = NotifierSettings(notifier_test_number_permanent_failure="0790000009")

    assert settings.notifier_test_number_permanent_failure == "+962790000009"
    with pytest.raises(ValidationError, match="NOTIFIER_TEST_NUMBER_NEVER_CONFIRMED"):
        NotifierSettings(notifier_test_number_never_confirmed="065123456")


SMPP: dict[str, Any] = {
    **{k: v for k, v in PRODUCTION.items() if not k.startswith("notifier_http")},
    "notifier_gateway": "smpp",
    "notifier_receipt_secret": "",  # SMPP receipts come on the link, not over HTTP
    "notifier_smpp_host": "smsc.example.jo",
    "notifier_smpp_system_id": "amman",
    "notifier_smpp_password": "s3cret",
}


def test_a_production_smpp_configuration_is_accepted() -> None:
    config = NotifierSettings(**SMPP).smpp_config()

    assert (config.host, config.port, config.system_id, config.password) == (
        "smsc.example.jo",
        2775,
        "amman",
        "s3cret",
    )
    assert (config.concatenation, config.unanswered, config.source_addr) == (
        "udh",
        "hold",
        "AmmanCity",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"notifier_smpp_host": None}, "NOTIFIER_SMPP_HOST"),
        ({"notifier_smpp_system_id": None}, "NOTIFIER_SMPP_SYSTEM_ID"),
        ({"notifier_smpp_password": None}, "NOTIFIER_SMPP_PASSWORD"),
        ({"notifier_smpp_password": "nine-char"}, "at most 8 characters"),
        ({"notifier_smpp_system_id": "x" * 16}, "notifier_smpp_system_id"),
        ({"notifier_smpp_concatenation": "both"}, "notifier_smpp_concatenation"),
        ({"notifier_smpp_unanswered": "retry"}, "notifier_smpp_unanswered"),
        ({"notifier_send_lease_seconds": 30}, "NOTIFIER_SEND_LEASE_SECONDS"),
    ],
)
def test_an_incomplete_smpp_configuration_is_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NotifierSettings(**{**SMPP, **change})
