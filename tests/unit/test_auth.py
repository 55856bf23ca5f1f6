"""Bearer-token authentication, role checks, owner checks and developer tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from services.common import devtoken
from services.common.auth import (
    CurrentUser,
    JwtVerifier,
    Principal,
    ensure_owner,
    install_auth,
    require_roles,
    verifier_from_settings,
)
from services.common.problems import PROBLEM_BASE, NotFound, Unauthorized, install_problem_handlers
from services.common.settings import ServiceSettings

ISSUER = "https://id.amman.jo"
AUDIENCE = "eservices"


# --- keys and tokens --------------------------------------------------------------------------


def private_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "sub": "citizen-1",
        "roles": ["citizen"],
        "name": "Rania Haddad",
        "iat": now,
        "exp": now + timedelta(minutes=10),
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def sign(key: Any, algorithm: str = "RS256", kid: str | None = None, **overrides: Any) -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims(**overrides), key, algorithm=algorithm, headers=headers)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], payload: dict[str, Any], secret: bytes | None = None) -> str:
    """A token built by hand, as an attacker would: PyJWT refuses to mint these."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = b""
    if secret is not None:
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        key: int(value.timestamp()) if isinstance(value, datetime) else value
        for key, value in payload.items()
    }


# --- the app under test -----------------------------------------------------------------------


def build_app(verifier: JwtVerifier | None) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_auth(app, verifier)

    @app.get("/v1/me")
    async def me(user: CurrentUser) -> dict[str, Any]:
        return {"subject": user.subject, "roles": sorted(user.roles), "name": user.name}

    @app.post("/v1/approvals", dependencies=[Depends(require_roles("finance.approver"))])
    async def approve() -> dict[str, str]:
        return {"approved": "yes"}

    @app.get("/v1/requests/{owner}")
    async def get_request(
        owner: str, user: Annotated[Principal, Depends(require_roles("citizen", "clerk"))]
    ) -> dict[str, str]:
        ensure_owner(user, owner, staff_roles=("clerk",))
        return {"owner": owner}

    return app


@pytest.fixture(scope="module")
def verifier(rsa_key: rsa.RSAPrivateKey) -> JwtVerifier:
    return JwtVerifier(public_key_pem=public_pem(rsa_key), issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture(scope="module")
def client(verifier: JwtVerifier) -> TestClient:
    return TestClient(build_app(verifier))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthorized(response: Any, token: str | None = None) -> dict[str, Any]:
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    problem: dict[str, Any] = response.json()
    assert problem["type"] == PROBLEM_BASE + "unauthorized"
    assert problem["detail_ar"]
    if token is not None:
        assert token not in response.text
    return problem


# --- tokens -----------------------------------------------------------------------------------


def test_a_valid_token_gives_the_principal(client: TestClient, rsa_key: rsa.RSAPrivateKey) -> None:
    response = client.get("/v1/me", headers=bearer(sign(rsa_key, roles=["citizen", "clerk"])))

    assert response.status_code == 200
    assert response.json() == {
        "subject": "citizen-1",
        "roles": ["citizen", "clerk"],
        "name": "Rania Haddad",
    }


def test_an_expired_token_is_refused(client: TestClient, rsa_key: rsa.RSAPrivateKey) -> None:
    # Beyond the 30-second leeway.
    token = sign(rsa_key, exp=datetime.now(UTC) - timedelta(minutes=2))

    problem = assert_unauthorized(client.get("/v1/me", headers=bearer(token)), token)
    assert "expired" in problem["detail"]


def test_a_token_signed_with_another_key_is_refused(
    client: TestClient, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    token = sign(other_rsa_key)

    problem = assert_unauthorized(client.get("/v1/me", headers=bearer(token)), token)
    assert "signature" in problem["detail"]


def test_a_token_for_another_audience_is_refused(
    client: TestClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = sign(rsa_key, aud="another-service")

    problem = assert_unauthorized(client.get("/v1/me", headers=bearer(token)), token)
    assert "not meant for this service" in problem["detail"]


def test_a_token_from_another_issuer_is_refused(
    client: TestClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = sign(rsa_key, iss="https://evil.example")

    assert_unauthorized(client.get("/v1/me", headers=bearer(token)), token)


@pytest.mark.parametrize("claim", ["sub", "exp"])
def test_a_token_without_a_required_claim_is_refused(
    client: TestClient, rsa_key: rsa.RSAPrivateKey, claim: str
) -> None:
    dropped: dict[str, Any] = {claim: None}
    token = sign(rsa_key, **dropped)

    problem = assert_unauthorized(client.get("/v1/me", headers=bearer(token)), token)
    assert "required claim" in problem["detail"]


@pytest.mark.parametrize("roles", ["citizen", ["citizen", 7]])
def test_a_malformed_roles_claim_is_refused_not_guessed(
    client: TestClient, rsa_key: rsa.RSAPrivateKey, roles: Any
) -> None:
    token = sign(rsa_key, roles=roles)

    assert_unauthorized(client.get("/v1/me", headers=bearer(token)), token)


def test_a_token_without_roles_has_none(client: TestClient, rsa_key: rsa.RSAPrivateKey) -> None:
    response = client.get("/v1/me", headers=bearer(sign(rsa_key, roles=None)))

    assert response.status_code == 200
    assert response.json()["roles"] == []


def test_an_unsigned_alg_none_token_is_refused(client: TestClient) -> None:
    token = unsigned({"alg": "none", "typ": "JWT"}, jsonable(claims()))

    problem = assert_unauthorized(client.get("/v1/me", headers=bearer(token)), token)
    assert "algorithm" in problem["detail"]


def test_an_hs256_token_keyed_with_the_public_key_is_refused(
    client: TestClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    # The classic algorithm-confusion attack: the public key used as an HMAC secret.
    token = unsigned(
        {"alg": "HS256", "typ": "JWT"}, jsonable(claims()), secret=public_pem(rsa_key).encode()
    )

    assert_unauthorized(client.get("/v1/me", headers=bearer(token)), token)


@pytest.mark.parametrize("value", ["Bearer not-a-jwt", "Bearer a.b.c"])
def test_a_malformed_token_is_refused(client: TestClient, value: str) -> None:
    problem = assert_unauthorized(client.get("/v1/me", headers={"Authorization": value}))
    assert "malformed" in problem["detail"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic dXNlcjpwYXNz"}])
def test_a_call_without_a_bearer_token_is_401(client: TestClient, headers: dict[str, str]) -> None:
    problem = assert_unauthorized(client.get("/v1/me", headers=headers))
    assert "bearer token is required" in problem["detail"]


def test_es256_tokens_are_accepted() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    app = build_app(JwtVerifier(public_key_pem=public_pem(key), issuer=ISSUER, audience=AUDIENCE))

    response = TestClient(app).get("/v1/me", headers=bearer(sign(key, algorithm="ES256")))

    assert response.status_code == 200


@pytest.mark.parametrize("claim", ["iss", "aud"])
def test_a_token_without_issuer_or_audience_is_refused(
    client: TestClient, rsa_key: rsa.RSAPrivateKey, claim: str
) -> None:
    dropped: dict[str, Any] = {claim: None}
    token = sign(rsa_key, **dropped)

    problem = assert_unauthorized(client.get("/v1/me", headers=bearer(token)), token)
    assert "required claim" in problem["detail"]


@pytest.mark.parametrize("algorithm", ["ES256", "ES384", "ES512", "EdDSA"])
def test_a_token_signed_with_an_algorithm_foreign_to_the_key_is_401(
    client: TestClient, algorithm: str
) -> None:
    # The review's finding: an ES256 token against the configured RSA key reached the crypto
    # library with an RSA key for an EC algorithm (TypeError, a 500 and 13 KB of traceback).
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key: Any = {
        "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "ES384": lambda: ec.generate_private_key(ec.SECP384R1()),
        "ES512": lambda: ec.generate_private_key(ec.SECP521R1()),
        "EdDSA": ed25519.Ed25519PrivateKey.generate,
    }[algorithm]()
    token = sign(key, algorithm=algorithm)

    problem = assert_unauthorized(client.get("/v1/me", headers=bearer(token)), token)
    assert "algorithm" in problem["detail"]


def test_a_token_claiming_es256_but_carrying_garbage_is_401(client: TestClient) -> None:
    token = unsigned({"alg": "ES256", "typ": "JWT"}, jsonable(claims()), secret=b"x")

    assert_unauthorized(client.get("/v1/me", headers=bearer(token)), token)


def test_an_rs256_token_against_an_ec_key_is_401(rsa_key: rsa.RSAPrivateKey) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    app = build_app(JwtVerifier(public_key_pem=public_pem(key), issuer=ISSUER, audience=AUDIENCE))

    token = sign(rsa_key)
    assert_unauthorized(TestClient(app).get("/v1/me", headers=bearer(token)), token)


def test_an_oversized_token_is_refused_unread(
    client: TestClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    # Validly signed, 100 KB: it used to be accepted.
    token = sign(rsa_key, roles=["citizen"], padding="x" * 100_000)

    problem = assert_unauthorized(client.get("/v1/me", headers=bearer(token)), token)
    assert "larger than" in problem["detail"]
    assert (
        client.get("/v1/me", headers=bearer(sign(rsa_key, padding="x" * 4000))).status_code == 200
    )


# --- not configured: tests/unit/test_auth_not_configured.py --------------------------------


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"public_key_pem": "x", "jwks_url": "https://id.amman.jo/jwks"},
        {"jwks_url": "https://id.amman.jo/jwks", "algorithms": ["none"]},
        {"jwks_url": "https://id.amman.jo/jwks", "algorithms": ["RS256", "HS256"]},
        {"jwks_url": "https://id.amman.jo/jwks", "algorithms": []},
        {"jwks_url": "file:///etc/passwd"},
        {"jwks_url": "https://id.amman.jo/jwks", "issuer": None},
        {"jwks_url": "https://id.amman.jo/jwks", "audience": None},
        {"jwks_url": "https://id.amman.jo/jwks", "audience": ""},
    ],
)
def test_a_verifier_refuses_unsafe_configuration(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        JwtVerifier(**{"issuer": ISSUER, "audience": AUDIENCE, **arguments})


def test_a_verifier_refuses_algorithms_its_key_cannot_verify(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="none of the JWT algorithms"):
        JwtVerifier(
            public_key_pem=public_pem(rsa_key),
            issuer=ISSUER,
            audience=AUDIENCE,
            algorithms=["ES256"],
        )


def test_a_verifier_refuses_a_weak_rsa_key() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)

    with pytest.raises(ValueError, match="2048"):
        JwtVerifier(public_key_pem=public_pem(weak), issuer=ISSUER, audience=AUDIENCE)


def test_verifier_from_settings(
    rsa_key: rsa.RSAPrivateKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No dev key lying around in the working directory.
    monkeypatch.chdir(tmp_path)
    for name in ("JWT_PUBLIC_KEY", "JWT_PUBLIC_KEY_FILE", "JWT_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)

    assert verifier_from_settings(ServiceSettings()) is None
    assert verifier_from_settings(ServiceSettings(jwt_public_key=public_pem(rsa_key))) is not None
    with pytest.raises(ValueError):
        verifier_from_settings(
            ServiceSettings(jwt_public_key=public_pem(rsa_key), jwt_jwks_url="https://x/jwks")
        )


def test_production_needs_the_issuer_and_the_audience(rsa_key: rsa.RSAPrivateKey) -> None:
    production: dict[str, Any] = {
        "environment": "production",
        "jwt_public_key": public_pem(rsa_key),
        "amqp_url": "amqp://svc:secret@rabbit/",
        "metrics_port": 9090,
    }
    with pytest.raises(ValueError, match="JWT_ISSUER and JWT_AUDIENCE"):
        ServiceSettings(**production)
    with pytest.raises(ValueError, match="JWT_ISSUER and JWT_AUDIENCE"):
        ServiceSettings(**production, jwt_issuer=ISSUER)
    settings = ServiceSettings(**production, jwt_issuer=ISSUER, jwt_audience=AUDIENCE)
    assert (settings.jwt_issuer, settings.jwt_audience) == (ISSUER, AUDIENCE)
    # Outside production they default to the development tokens'.
    assert ServiceSettings().jwt_issuer == devtoken.DEV_ISSUER
    assert ServiceSettings().jwt_audience == devtoken.DEV_AUDIENCE


# --- roles and ownership ----------------------------------------------------------------------


def test_require_roles_refuses_a_caller_without_the_role(
    client: TestClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    refused = client.post("/v1/approvals", headers=bearer(sign(rsa_key, roles=["citizen"])))
    allowed = client.post(
        "/v1/approvals", headers=bearer(sign(rsa_key, roles=["finance.approver"]))
    )

    assert refused.status_code == 403
    assert refused.json()["type"] == PROBLEM_BASE + "forbidden"
    assert allowed.status_code == 200


def test_the_owner_and_staff_see_a_request_another_citizen_gets_404(
    client: TestClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    owner = client.get("/v1/requests/citizen-1", headers=bearer(sign(rsa_key)))
    clerk = client.get(
        "/v1/requests/citizen-1", headers=bearer(sign(rsa_key, sub="clerk-7", roles=["clerk"]))
    )
    stranger = client.get("/v1/requests/citizen-1", headers=bearer(sign(rsa_key, sub="citizen-2")))

    assert owner.status_code == 200
    assert clerk.status_code == 200
    assert stranger.status_code == 404
    assert stranger.json()["type"] == PROBLEM_BASE + "not-found"


def test_ensure_owner() -> None:
    citizen = Principal("citizen-1", frozenset({"citizen"}))
    clerk = Principal("clerk-7", frozenset({"licensing.clerk"}))
    stranger = Principal("citizen-2", frozenset({"citizen"}))
    missing = NotFound("No request 42.", "لا يوجد طلب رقم 42.")

    ensure_owner(citizen, "citizen-1")
    ensure_owner(clerk, "citizen-1", staff_roles=("licensing.clerk",))
    with pytest.raises(NotFound):
        ensure_owner(stranger, "citizen-1", staff_roles=("licensing.clerk",))
    with pytest.raises(NotFound) as raised:
        ensure_owner(clerk, "citizen-1", not_found=missing)
    assert raised.value is missing


def test_principal_questions() -> None:
    principal = Principal("u", frozenset({"citizen", "finance.approver"}))

    assert principal.is_citizen
    assert principal.has_role("finance.approver")
    assert not principal.has_role("clerk")
    assert principal.has_any("clerk", "citizen")
    assert not principal.has_any("clerk")
    assert not Principal("s", frozenset({"clerk"})).is_citizen


# --- JWKS -------------------------------------------------------------------------------------


class JwksServer:
    """A JWKS endpoint on the loopback interface, counting its fetches."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        body = json.dumps(jwks).encode()
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> JwksServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def jwks_server(rsa_key: rsa.RSAPrivateKey) -> Iterator[JwksServer]:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    jwk.update({"kid": "key-2026", "use": "sig", "alg": "RS256"})
    with JwksServer({"keys": [jwk]}) as server:
        yield server


async def test_jwks_verifies_a_token_by_its_kid_and_caches_the_keys(
    jwks_server: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    verifier = JwtVerifier(jwks_url=jwks_server.url, issuer=ISSUER, audience=AUDIENCE)
    before = jwks_server.fetches

    first = await verifier.verify(sign(rsa_key, kid="key-2026"))
    second = await verifier.verify(sign(rsa_key, kid="key-2026", sub="citizen-2"))

    assert (first.subject, second.subject) == ("citizen-1", "citizen-2")
    assert first.roles == frozenset({"citizen"})
    assert jwks_server.fetches - before == 1


async def test_jwks_refuses_an_unknown_kid_and_a_foreign_key(
    jwks_server: JwksServer, rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    verifier = JwtVerifier(jwks_url=jwks_server.url, issuer=ISSUER, audience=AUDIENCE)

    with pytest.raises(Unauthorized, match="signing key is not known"):
        await verifier.verify(sign(rsa_key, kid="unknown"))
    with pytest.raises(Unauthorized, match="signature"):
        await verifier.verify(sign(other_rsa_key, kid="key-2026"))


async def test_an_unreachable_jwks_is_a_401(rsa_key: rsa.RSAPrivateKey) -> None:
    with JwksServer({"keys": []}) as server:
        url = server.url
    verifier = JwtVerifier(jwks_url=url, issuer=ISSUER, audience=AUDIENCE)

    with pytest.raises(Unauthorized, match="could not be checked"):
        await verifier.verify(sign(rsa_key, kid="key-2026"))


def test_jwks_over_http_through_the_app(
    jwks_server: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    app = build_app(JwtVerifier(jwks_url=jwks_server.url, issuer=ISSUER, audience=AUDIENCE))

    response = TestClient(app).get("/v1/me", headers=bearer(sign(rsa_key, kid="key-2026")))

    assert response.status_code == 200


# --- developer tokens -------------------------------------------------------------------------


def test_dev_keys_are_generated_once_with_a_private_key_only_its_owner_reads(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "dev-keys"

    private_path, public_path = devtoken.ensure_dev_keys(directory)
    first = private_path.read_bytes()
    again = devtoken.ensure_dev_keys(directory)

    assert (private_path.name, public_path.name) == ("jwt-private.pem", "jwt-public.pem")
    assert stat.S_IMODE(os.stat(private_path).st_mode) == 0o600
    assert again == (private_path, public_path)
    assert private_path.read_bytes() == first


def test_a_lost_public_key_is_derived_again(tmp_path: Path) -> None:
    _, public_path = devtoken.ensure_dev_keys(tmp_path)
    public = public_path.read_text()
    public_path.unlink()

    devtoken.ensure_dev_keys(tmp_path)

    assert public_path.read_text() == public


async def test_a_dev_token_round_trips_through_the_verifier(tmp_path: Path) -> None:
    private_path, public_path = devtoken.ensure_dev_keys(tmp_path)
    token = devtoken.mint_token(
        "citizen-1",
        ["citizen", "finance.approver"],
        private_key_pem=private_path.read_text(),
        name="Omar",
        audience=AUDIENCE,
    )
    verifier = JwtVerifier(
        public_key_pem=public_path.read_text(), issuer="amman-dev", audience=AUDIENCE
    )

    principal = await verifier.verify(token)

    assert principal == Principal("citizen-1", frozenset({"citizen", "finance.approver"}), "Omar")
    # By default a dev token carries the issuer and audience every non-production service
    # expects (JWT_ISSUER / JWT_AUDIENCE unset).
    default = jwt.decode(
        devtoken.mint_token("u", [], private_key_pem=private_path.read_text()),
        options={"verify_signature": False},
    )
    settings = ServiceSettings(jwt_public_key=public_path.read_text())
    assert (default["iss"], default["aud"]) == (settings.jwt_issuer, settings.jwt_audience)


def test_the_devtoken_command_prints_a_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    keys = tmp_path / "keys"

    exit_code = devtoken.main(
        ["--sub", "clerk-7", "--roles", "licensing.clerk,finance.approver", "--keys-dir", str(keys)]
    )

    token = capsys.readouterr().out.strip()
    assert exit_code == 0
    payload = jwt.decode(
        token,
        (keys / "jwt-public.pem").read_text(),
        algorithms=["RS256"],
        issuer="amman-dev",
        audience="amman-eservices",
    )
    assert payload["sub"] == "clerk-7"
    assert payload["roles"] == ["licensing.clerk", "finance.approver"]
    assert payload["exp"] - payload["iat"] == 480 * 60


def test_the_devtoken_command_refuses_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")

    with pytest.raises(SystemExit, match="production"):
        devtoken.main(["--sub", "x", "--keys-dir", str(tmp_path / "keys")])
    assert not (tmp_path / "keys").exists()
