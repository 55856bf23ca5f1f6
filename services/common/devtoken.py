"""Developer tokens: a local RSA key pair and RS256 JWTs signed with it. Never for production.

    python -m services.common.devtoken --sub citizen-1 --roles citizen
    python -m services.common.devtoken --sub clerk-7 --roles licensing.clerk,finance.approver

The first run writes `.local/dev-keys/jwt-private.pem` (mode 0600) and `jwt-public.pem`; in
development every service reads `jwt-public.pem` by itself (`ServiceSettings.jwt_key_pem()`), so
the printed token works against a locally started service at once. Only the token goes to stdout
(`TOKEN=$(python -m services.common.devtoken ...)`).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.common.settings import DEV_JWT_AUDIENCE, DEV_JWT_ISSUER, DEV_KEYS_DIR

PRIVATE_KEY_FILE = "jwt-private.pem"
PUBLIC_KEY_FILE = "jwt-public.pem"
DEV_ISSUER = DEV_JWT_ISSUER
DEV_AUDIENCE = DEV_JWT_AUDIENCE


def _refuse_in_production(environ: Mapping[str, str] | None = None) -> None:
    # Read straight from the environment: building ServiceSettings here would fail on production's
    # own checks with a less useful message. Settings are case-insensitive, so is this check.
    environ = os.environ if environ is None else environ
    for key, value in environ.items():
        if key.upper() == "ENVIRONMENT" and value.strip().lower() == "production":
            raise SystemExit("devtoken refuses to run with ENVIRONMENT=production")


def _write_private(path: Path, pem: bytes) -> None:
    # Created with 0600 from the start (no window where another user could read it), then moved
    # into place so that a crash never leaves half a key.
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    os.replace(temporary, path)


def ensure_dev_keys(directory: Path = DEV_KEYS_DIR) -> tuple[Path, Path]:
    """The (private, public) PEM paths, generating an RSA 2048 key pair on first use."""
    _refuse_in_production()
    private_path, public_path = directory / PRIVATE_KEY_FILE, directory / PUBLIC_KEY_FILE
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if private_path.exists():
        if public_path.exists():
            return private_path, public_path
        private_key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    else:
        # A public key alone is useless here: start over with a fresh pair.
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write_private(
            private_path,
            private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
    public_path.write_bytes(
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path


def mint_token(
    subject: str,
    roles: Sequence[str],
    *,
    private_key_pem: str,
    minutes: int = 480,
    name: str | None = None,
    issuer: str = DEV_ISSUER,
    audience: str | None = DEV_AUDIENCE,
) -> str:
    """An RS256 JWT: `sub`, `roles`, `iat`, `exp`, `iss`, `aud` (the development services'
    unless told; None leaves it out, which every service refuses), and `name` when given."""
    if minutes <= 0:
        raise ValueError("minutes must be positive")
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": subject,
        "roles": list(roles),
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
        "iss": issuer,
    }
    if name is not None:
        claims["name"] = name
    if audience is not None:
        claims["aud"] = audience
    return jwt.encode(claims, _signing_key(private_key_pem), algorithm="RS256")


@functools.lru_cache(maxsize=8)
def _signing_key(private_key_pem: str) -> rsa.RSAPrivateKey:
    """The key parsed once per PEM: parsing checks the RSA key, about 35 ms on this project's
    machine, which a test suite or a benchmark minting thousands of tokens paid for each one."""
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the development key must be an RSA private key (RS256)")
    return key


def _roles(values: Sequence[str]) -> list[str]:
    # Accept both `--roles a b` and `--roles a,b`.
    return [role.strip() for value in values for role in value.split(",") if role.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.common.devtoken",
        description="Print a development JWT signed with the local dev key (never in production).",
    )
    parser.add_argument("--sub", required=True, help="the user id (JWT sub)")
    parser.add_argument("--roles", nargs="*", default=[], help="roles, space or comma separated")
    parser.add_argument("--name", default=None, help="display name (JWT name)")
    parser.add_argument("--minutes", type=int, default=480, help="lifetime (default 480)")
    parser.add_argument(
        "--aud", default=DEV_AUDIENCE, help=f"audience (JWT aud); default {DEV_AUDIENCE}"
    )
    parser.add_argument(
        "--keys-dir", type=Path, default=DEV_KEYS_DIR, help=f"default {DEV_KEYS_DIR}"
    )
    args = parser.parse_args(argv)
    _refuse_in_production()
    if args.minutes <= 0:
        parser.error("--minutes must be positive")

    private_path, _ = ensure_dev_keys(args.keys_dir)
    token = mint_token(
        args.sub,
        _roles(args.roles),
        private_key_pem=private_path.read_text(),
        minutes=args.minutes,
        name=args.name,
        audience=args.aud,
    )
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
