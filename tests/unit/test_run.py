"""deploy/run.py (`make run`): development preparation, ports, and what production refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy import run
from services.contractors.app import ContractorsSettings

INFRA = {"AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/", "MONGO_URL": "mongodb://h:1/"}


def test_ports_follow_the_base() -> None:
    assert run.ports({}) == run.PORTS
    assert run.ports({})["payments"] == 8001 and run.ports({})["exams"] == 8014
    moved = run.ports({"RUN_PORT_BASE": "18000"})
    assert moved == {name: 18000 + offset for name, offset in run.PORT_OFFSETS.items()}
    with pytest.raises(SystemExit):
        run.ports({"RUN_PORT_BASE": "eighty"})


def test_development_creates_the_keys_and_a_code_before_any_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "DEV_KEYS_DIR", tmp_path / "keys")
    extra = run.prepare_development({})
    assert (tmp_path / "keys" / "jwt-public.pem").exists()
    assert (tmp_path / "keys" / "jwt-private.pem").exists()
    assert extra["JWT_PUBLIC_KEY_FILE"] == str(tmp_path / "keys" / "jwt-public.pem")
    code = extra["CONTRACTORS_OTP_DEV_CODE"]
    assert code.isdigit() and len(code) == 6
    # The code reaches contractors only, and contractors accepts it in development.
    env = run.service_env("contractors", 8011, INFRA, {}, extra)
    assert env["CONTRACTORS_OTP_DEV_CODE"] == code
    assert "CONTRACTORS_OTP_DEV_CODE" not in run.service_env("notifier", 8002, INFRA, {}, extra)
    assert (
        ContractorsSettings(
            **{k.lower(): v for k, v in env.items() if k.startswith("CONTRACTORS_")},
            environment="development",
        ).contractors_otp_dev_code
        == code
    )
    # A code the developer chose is kept.
    assert (
        run.prepare_development({"CONTRACTORS_OTP_DEV_CODE": "123456"})["CONTRACTORS_OTP_DEV_CODE"]
        == "123456"
    )


def test_production_gets_no_keys_no_code_and_no_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "DEV_KEYS_DIR", tmp_path / "keys")
    production = {"ENVIRONMENT": "production", "CONTRACTORS_OTP_DEV_CODE": "123456"}
    assert run.prepare_development(production) == {}
    assert not (tmp_path / "keys").exists()
    env = run.service_env("contractors", 8011, INFRA, production, {})
    assert "CONTRACTORS_OTP_DEV_CODE" not in env
    assert "CLOCK_FILE" not in env
    # And contractors itself refuses a development code outside development.
    for environment in ("production", "test"):
        with pytest.raises(ValueError, match="development only"):
            ContractorsSettings(
                environment=environment,
                contractors_otp_dev_code="123456",
                contractors_otp_secret="s" * 32,
                notifier_code_public_key_file="/code-public.key",
                jwt_public_key_file="/k.pem",
                amqp_url="amqp://u:p@h/",
                metrics_port=9090,
                jwt_issuer="https://id.amman.jo/",
                jwt_audience="amman-eservices",
            )


def test_a_second_platform_gets_its_own_databases() -> None:
    env = run.service_env("exams", 18014, INFRA, {"RUN_DATABASE_PREFIX": "acc_"}, {})
    assert env["MONGO_DATABASE"] == "acc_exams" and env["HTTP_PORT"] == "18014"
    assert run.service_env("exams", 8014, INFRA, {}, {})["MONGO_DATABASE"] == "exams"


def test_development_creates_the_code_key_pair_and_only_the_notifier_gets_its_private_half(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.common import codeseal

    monkeypatch.setattr(run, "DEV_KEYS_DIR", tmp_path / "keys")
    extra = run.prepare_development({})
    private = tmp_path / "keys" / codeseal.PRIVATE_KEY_FILE
    public = tmp_path / "keys" / codeseal.PUBLIC_KEY_FILE
    assert private.stat().st_mode & 0o077 == 0  # the private half: owner only
    notifier = run.service_env("notifier", 8002, INFRA, {}, extra)
    contractors = run.service_env("contractors", 8011, INFRA, {}, extra)
    assert notifier["NOTIFIER_CODE_PRIVATE_KEY_FILE"] == str(private)
    assert contractors["NOTIFIER_CODE_PUBLIC_KEY_FILE"] == str(public)
    assert "NOTIFIER_CODE_PRIVATE_KEY_FILE" not in contractors
    sealed = codeseal.seal_values({"code": "123456"}, codeseal.public_key(public.read_text()))
    opened = codeseal.open_values(sealed, codeseal.private_key(private.read_text()))
    assert opened == {"code": "123456"}
    # A second run keeps the pair (codes sealed before a restart still open).
    run.prepare_development({})
    assert codeseal.private_key(private.read_text()).public_key == codeseal.public_key(
        public.read_text()
    )
    assert codeseal.open_values(sealed, codeseal.private_key(private.read_text())) == opened
