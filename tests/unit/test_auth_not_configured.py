"""A service with no token verification configured: an error at start naming the setting, and 503
(the server is not configured) on every authenticated call, never a 401 that looks like a bad
token."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.common.auth import CurrentUser, install_auth, verifier_from_settings
from services.common.problems import PROBLEM_BASE, install_problem_handlers
from services.common.settings import ServiceSettings


@pytest.fixture(scope="module")
def token() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    claims = {"sub": "citizen-1", "roles": ["citizen"], "exp": now + timedelta(minutes=5)}
    return jwt.encode(claims, key, algorithm="RS256")


def app_with(install: bool) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    if install:
        install_auth(app, None)

    @app.get("/v1/me")
    async def me(user: CurrentUser) -> str:
        return user.subject

    return app


def assert_not_configured(response: Any) -> None:
    assert response.status_code == 503
    assert "WWW-Authenticate" not in response.headers
    problem = response.json()
    assert problem["type"] == PROBLEM_BASE + "not-configured"
    assert problem["status"] == 503
    assert "not configured" in problem["detail"]
    assert "JWT_PUBLIC_KEY" in problem["detail"]
    assert problem["detail_ar"] and problem["title_ar"]


@pytest.mark.parametrize("with_header", [True, False])
def test_without_a_verifier_every_protected_call_is_503(token: str, with_header: bool) -> None:
    client = TestClient(app_with(install=True))
    headers = {"Authorization": f"Bearer {token}"} if with_header else {}
    assert_not_configured(client.get("/v1/me", headers=headers))


def test_an_app_that_never_installed_auth_is_closed_too(token: str) -> None:
    client = TestClient(app_with(install=False))
    assert_not_configured(client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}))


def test_the_start_logs_an_error_naming_the_setting(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="services.common.auth"):
        app_with(install=True)
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    message = errors[0].getMessage()
    assert "not configured" in message
    for setting in ("JWT_PUBLIC_KEY", "JWT_PUBLIC_KEY_FILE", "JWT_JWKS_URL"):
        assert setting in message


def test_a_configured_service_logs_no_error(caplog: pytest.LogCaptureFixture) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    app = FastAPI()
    with caplog.at_level(logging.ERROR, logger="services.common.auth"):
        install_auth(app, verifier_from_settings(ServiceSettings(jwt_public_key=pem)))
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
