"""The shared test helpers themselves: tests/unit/sms_checks.py, tests/unit/contract_checks.py
and the pure parts of tests/integration/platform.py (no infrastructure needed)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from contracts import ContractModel, LocalizedText
from contracts.courses import SPECS as COURSE_SPECS
from tests.integration.platform import (
    RESERVED_PHONES,
    Published,
    e_payment_number_in,
    fresh_phone,
    fresh_subject,
)
from tests.unit import contract_checks, sms_checks
from tests.unit.courses.test_contract import COURSE_SAMPLES

SUBMITTED = "courses.request.submitted.v1"


class Inner(ContractModel):
    title: LocalizedText
    code: str


class Outer(ContractModel):
    request_number: str
    inner: Inner
    reason: LocalizedText


def test_sms_event_takes_the_one_event_the_applicant_hears_of_in_either_shape() -> None:
    approved = "contractors.renewal.approved.v1"  # silent: payments' bill is the SMS
    completed = "contractors.renewal.completed.v1"
    raised = [
        SimpleNamespace(routing_key=approved, data=1),
        SimpleNamespace(routing_key=completed, data=2),
    ]

    assert sms_checks.sms_event(raised) == (completed, 2)
    assert sms_checks.sms_event([(approved, 1), (completed, 2)]) == (completed, 2)
    with pytest.raises(ValueError):
        sms_checks.sms_event([(approved, 1)])


def test_longest_stretches_every_bilingual_text_at_any_depth_then_applies_changes() -> None:
    short = LocalizedText(ar="ق", en="s")
    data = Outer(request_number="X-1", inner=Inner(title=short, code="c"), reason=short)

    stretched = sms_checks.longest(data, "عربي طويل", "long English", request_number="X-9")

    assert isinstance(stretched, Outer)
    assert (
        stretched.inner.title
        == stretched.reason
        == LocalizedText(ar="عربي طويل", en="long English")
    )
    assert (stretched.request_number, stretched.inner.code) == ("X-9", "c")


def test_assert_fits_counts_segments_and_finds_what_was_not_filled() -> None:
    sms_checks.assert_fits("a" * 459)
    with pytest.raises(AssertionError):
        sms_checks.assert_fits("a" * 460)
    with pytest.raises(AssertionError):
        sms_checks.assert_fits("request {number}")
    sms_checks.assert_fits("request {number}", filled=False)


def test_the_contract_checks_pass_on_a_service_s_samples_and_fail_on_a_missing_one() -> None:
    contract_checks.assert_every_event_has_a_sample(COURSE_SPECS, COURSE_SAMPLES, "courses")
    for spec in COURSE_SPECS:
        contract_checks.assert_round_trips(
            spec, COURSE_SAMPLES, source_service="courses", subject="CR-2026-000123"
        )
    fewer = {model: sample for model, sample in list(COURSE_SAMPLES.items())[1:]}
    with pytest.raises(AssertionError):
        contract_checks.assert_every_event_has_a_sample(COURSE_SPECS, fewer)
    with pytest.raises(AssertionError):
        contract_checks.assert_every_event_has_a_sample(COURSE_SPECS, COURSE_SAMPLES, "training")


def _body(subject: str) -> bytes:
    return json.dumps({"subject": subject}).encode()


def test_published_finds_events_by_key_and_subject_and_counts_by_prefix() -> None:
    seen = Published(
        [
            (SUBMITTED, _body("CR-1")),
            ("courses.request.paid.v1", _body("CR-1")),
            (SUBMITTED, _body("CR-2")),
            ("payments.bill.paid.v1", _body("CR-1")),
        ]
    )

    assert seen.of(SUBMITTED, "CR-1") == [_body("CR-1")]
    assert seen.count("courses.") == 3
    assert seen.count("courses.", "CR-1") == 2


def test_the_e_payment_number_is_read_from_the_bill_sms_in_either_language() -> None:
    assert e_payment_number_in("رقم الدفع الإلكتروني هو 2026000123457 عبر إي فواتيركم") == (
        "2026000123457"
    )
    assert e_payment_number_in("your e-payment number is 2026000123457.") == "2026000123457"
    with pytest.raises(AssertionError):
        e_payment_number_in("no number here")


def test_fresh_phones_and_subjects_are_new_and_clear_of_the_reserved_numbers() -> None:
    phones: list[Any] = [fresh_phone() for _ in range(200)]

    assert all(p.startswith("+96279") and len(p) == 13 for p in phones)
    assert not set(phones) & set(RESERVED_PHONES)
    assert fresh_subject() != fresh_subject()


# --- where the tests find RabbitMQ's management API (tests/integration/helpers.py) ------------


@pytest.fixture
def recorded(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`.local/infra.env` as deploy/infra.sh writes it, in a folder of the test's own."""
    from tests.integration import helpers

    monkeypatch.delenv("RABBITMQ_MANAGEMENT_URL", raising=False)
    monkeypatch.delenv("AMQP_URL", raising=False)
    env_file = tmp_path / "infra.env"
    monkeypatch.setattr(helpers, "INFRA_ENV", env_file)
    return env_file


def test_the_management_api_is_on_15672_of_the_brokers_host_when_nothing_names_it(
    recorded: Any,
) -> None:
    from tests.integration.helpers import management_api

    assert management_api("amqp://guest:guest@127.0.0.1:5672/") == "http://127.0.0.1:15672/api"
    assert management_api("amqp://u:p@rabbit.example:5671/vh") == "http://rabbit.example:15672/api"


def test_the_management_api_infra_sh_recorded_serves_its_own_broker_only(recorded: Any) -> None:
    """The Docker path maps the management port to a port of its own, and records it beside the
    AMQP URL; a broker on another address (a test's own node) is not sent there."""
    from tests.integration.helpers import management_api

    recorded.write_text(
        "export AMQP_URL=amqp://guest:guest@127.0.0.1:32771/\n"
        "export MONGO_URL=mongodb://127.0.0.1:32772/\n"
        "export INFRA_MODE=docker\n"
        "export RABBITMQ_MANAGEMENT_URL=http://127.0.0.1:32773/\n"
    )
    docker = "amqp://guest:guest@127.0.0.1:32771/tests-gw0-1a2b3c4d"
    assert management_api(docker) == "http://127.0.0.1:32773/api"
    assert management_api("amqp://guest:guest@127.0.0.1:5796/") == "http://127.0.0.1:15672/api"


def test_the_management_url_from_the_environment_comes_first(
    recorded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.helpers import management_api

    recorded.write_text(
        "export AMQP_URL=amqp://guest:guest@10.0.0.5:5672/\n"
        "export RABBITMQ_MANAGEMENT_URL=http://10.0.0.5:15672/\n"
    )
    monkeypatch.setenv("RABBITMQ_MANAGEMENT_URL", "https://mq.example/management/")
    assert management_api("amqp://u:p@10.0.0.5:5672/") == "https://mq.example/management/api"
    # Given beside an AMQP_URL, it is that broker's only.
    monkeypatch.setenv("AMQP_URL", "amqp://u:p@mq.example:5672/")
    assert management_api("amqp://u:p@10.0.0.5:5672/") == "http://10.0.0.5:15672/api"
