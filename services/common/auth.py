"""Who is calling: JWT bearer authentication (asymmetric keys only) and the checks built on it.

The gateway's identity provider signs the tokens; a service holds only the public key (a PEM, or
the provider's JWKS URL), so no service can mint a token. `sub` is the user and `roles` their
roles (`citizen`, `licensing.inspector`, ...).

Wiring, once in a service's `app.py`:

    install_auth(app, verifier_from_settings(settings))

and in routes:

    @router.get("/v1/requests/{number}")
    async def get_request(number: str, user: CurrentUser, store: Store) -> RequestPublic:
        request = await store.get(number)
        ensure_owner(user, request.owner, staff_roles=("licensing.clerk",))

    @router.post("/v1/inspections", dependencies=[Depends(require_roles("licensing.inspector"))])

Authentication fails closed: an app with no verifier answers every protected call with 503
(the server is not configured; never a 401 that would look like a bad token), and says so in an
error-level log line at start naming the settings to set.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.common.problems import Forbidden, NotFound, Problem, Unauthorized
from services.common.settings import ServiceSettings

logger = logging.getLogger(__name__)

# Only signatures that a holder of the public key cannot forge. HS* would let anyone holding the
# "public" key (used as the HMAC secret) mint tokens; "none" is no signature at all.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

# urllib blocks a worker thread for this long at most when the identity provider is slow.
_JWKS_TIMEOUT_SECONDS = 5.0
# How long the fetched key set is trusted before it is fetched again (key rotation).
_JWKS_CACHE_SECONDS = 300.0

_APP_STATE_KEY = "jwt_verifier"

# A bearer token longer than this is refused before it is parsed. The identity provider's tokens
# are well under 2 KB; 8 KB leaves room for many roles and stays below common header limits.
MAX_TOKEN_BYTES = 8192

# The algorithms each kind of public key can verify. A token whose `alg` does not fit the key is
# refused as an unaccepted algorithm (401) rather than reaching the crypto library, which raises
# TypeError on, e.g., an ES256 token checked against an RSA key.
_RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


def algorithms_for_key(key: Any, configured: Sequence[str]) -> list[str]:
    """Of the `configured` algorithms, those the public `key` can verify (in configured order)."""
    fitting: frozenset[str]
    if isinstance(key, rsa.RSAPublicKey):
        fitting = _RSA_ALGORITHMS
    elif isinstance(key, ec.EllipticCurvePublicKey):
        curve_algorithm = _EC_ALGORITHMS.get(key.curve.name)
        fitting = frozenset({curve_algorithm} if curve_algorithm else ())
    elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        fitting = frozenset({"EdDSA"})
    else:
        fitting = frozenset()
    return [algorithm for algorithm in configured if algorithm in fitting]


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    subject: str
    roles: frozenset[str]
    name: str | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def has_any(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def is_citizen(self) -> bool:
        return "citizen" in self.roles


# General reasons only: the token itself, or which claim value failed, is never echoed.
_REASONS: list[tuple[type[jwt.PyJWTError] | tuple[type[jwt.PyJWTError], ...], str, str]] = [
    (jwt.ExpiredSignatureError, "The token has expired.", "انتهت صلاحية رمز الدخول."),
    (
        jwt.ImmatureSignatureError,
        "The token is not valid yet.",
        "رمز الدخول غير صالح بعد.",
    ),
    (
        jwt.InvalidSignatureError,
        "The token's signature is not valid.",
        "توقيع رمز الدخول غير صالح.",
    ),
    (
        jwt.InvalidAlgorithmError,
        "The token's signing algorithm is not accepted.",
        "خوارزمية توقيع رمز الدخول غير مقبولة.",
    ),
    (
        jwt.InvalidAudienceError,
        "The token is not meant for this service.",
        "رمز الدخول غير مخصص لهذه الخدمة.",
    ),
    (
        jwt.InvalidIssuerError,
        "The token was not issued by a trusted issuer.",
        "رمز الدخول صادر عن جهة غير موثوقة.",
    ),
    (
        jwt.MissingRequiredClaimError,
        "The token lacks a required claim.",
        "رمز الدخول ينقصه حقل مطلوب.",
    ),
    (
        jwt.InvalidKeyError,
        "The token's signature is not valid.",
        "توقيع رمز الدخول غير صالح.",
    ),
    (
        (jwt.PyJWKClientError, jwt.PyJWKSetError),
        "The token's signing key is not known.",
        "مفتاح توقيع رمز الدخول غير معروف.",
    ),
]
_MALFORMED = ("The token is malformed or invalid.", "رمز الدخول تالف أو غير صالح.")


def _reason(error: jwt.PyJWTError) -> Unauthorized:
    for error_class, detail, detail_ar in _REASONS:
        if isinstance(error, error_class):
            return Unauthorized(detail, detail_ar)
    return Unauthorized(*_MALFORMED)


class JwtVerifier:
    """Verifies bearer tokens against one public key or an identity provider's JWKS.

    Exactly one of `public_key_pem` / `jwks_url`. `issuer` and `audience` are required, in every
    environment, and a token must carry both, matching. Only the configured algorithms that fit
    the key are accepted (RS*/PS* for an RSA key, ES256 for a P-256 key, ...); a token over
    `MAX_TOKEN_BYTES` is refused unread, and any failure to decode one is a 401.
    """

    def __init__(
        self,
        *,
        public_key_pem: str | None = None,
        jwks_url: str | None = None,
        issuer: str | None = None,
        audience: str | None = None,
        algorithms: Sequence[str] = ("RS256", "ES256"),
        leeway_seconds: int = 30,
    ) -> None:
        if (public_key_pem is None) == (jwks_url is None):
            raise ValueError("give exactly one of public_key_pem or jwks_url")
        if not issuer or not audience:
            raise ValueError("JWT verification needs both an issuer and an audience")
        algorithms = list(algorithms)
        if not algorithms:
            raise ValueError("at least one signing algorithm is needed")
        refused = [alg for alg in algorithms if alg not in ASYMMETRIC_ALGORITHMS]
        if refused:
            raise ValueError(
                f"refused JWT algorithms {refused}: only asymmetric algorithms are accepted "
                f"({', '.join(sorted(ASYMMETRIC_ALGORITHMS))}); never 'none' or HS*"
            )
        if leeway_seconds < 0:
            raise ValueError("leeway_seconds must not be negative")

        self._algorithms = algorithms
        self._issuer: str = issuer
        self._audience: str = audience
        self._leeway = leeway_seconds
        self._key: PublicKeyTypes | None = None
        self._jwks: jwt.PyJWKClient | None = None
        if public_key_pem is not None:
            # Parsed once, here, so a wrong key fails the start-up, not the first request.
            self._key = load_pem_public_key(public_key_pem.encode())
            if isinstance(self._key, rsa.RSAPublicKey) and self._key.key_size < 2048:
                raise ValueError("an RSA public key must have at least 2048 bits")
            if not algorithms_for_key(self._key, algorithms):
                raise ValueError(
                    f"none of the JWT algorithms {algorithms} can be verified with the "
                    f"configured {type(self._key).__name__}"
                )
        else:
            assert jwks_url is not None
            if urlparse(jwks_url).scheme not in ("http", "https"):
                raise ValueError("jwks_url must be an http(s) URL")
            self._jwks = jwt.PyJWKClient(
                jwks_url,
                cache_jwk_set=True,
                lifespan=_JWKS_CACHE_SECONDS,
                cache_keys=True,
                timeout=_JWKS_TIMEOUT_SECONDS,
            )

    async def verify(self, token: str) -> Principal:
        """The principal the token speaks for; any failure raises `Unauthorized`."""
        if len(token) > MAX_TOKEN_BYTES:
            logger.info("bearer token refused: %d characters", len(token))
            raise Unauthorized(
                f"The token is larger than {MAX_TOKEN_BYTES} bytes.",
                f"حجم رمز الدخول أكبر من {MAX_TOKEN_BYTES} بايت.",
            )
        try:
            key: Any = self._key
            if self._jwks is not None:
                # PyJWKClient fetches with blocking urllib: keep it off the event loop. Keys are
                # cached, and an unknown `kid` refreshes at most once per cooldown.
                key = (await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)).key
            algorithms = algorithms_for_key(key, self._algorithms)
            if not algorithms:
                raise jwt.InvalidAlgorithmError("no configured algorithm fits the signing key")
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={
                    "require": ["sub", "exp", "iss", "aud"],
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt.PyJWKClientConnectionError as error:
            # The identity provider is unreachable: the caller cannot fix that, operators can.
            logger.error("JWKS fetch failed: %s", error)
            raise Unauthorized(
                "The token's signing key could not be checked; try again later.",
                "تعذر التحقق من مفتاح توقيع رمز الدخول؛ حاول لاحقًا.",
            ) from None
        except jwt.PyJWTError as error:
            logger.info("bearer token refused: %s", type(error).__name__)
            raise _reason(error) from None
        except Exception as error:
            # Whatever else a hostile token makes the JWT or crypto library raise (TypeError,
            # ValueError, ...): the caller's token is at fault, so a 401, and one log line.
            logger.info("bearer token refused: %s", type(error).__name__)
            raise Unauthorized(*_MALFORMED) from None
        return _principal(claims)


def _principal(claims: dict[str, Any]) -> Principal:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise Unauthorized(*_MALFORMED)
    roles = claims.get("roles", [])
    if roles is None:
        roles = []
    # A roles claim of the wrong shape is refused rather than guessed at (a bare string is not
    # read as one role): what a caller may do must never depend on a lenient parse.
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise Unauthorized(*_MALFORMED)
    name = claims.get("name")
    return Principal(
        subject=subject,
        roles=frozenset(roles),
        name=name if isinstance(name, str) else None,
    )


def verifier_from_settings(settings: ServiceSettings) -> JwtVerifier | None:
    """The verifier the settings describe, or None when none is configured.

    In development `settings.jwt_key_pem()` also finds the key written by `devtoken`. Reads a key
    file: call it from the app factory or lifespan, not per request.
    """
    explicit_key = settings.jwt_public_key or settings.jwt_public_key_file
    if settings.jwt_jwks_url:
        if explicit_key:
            raise ValueError("set either JWT_JWKS_URL or JWT_PUBLIC_KEY(_FILE), not both")
        return JwtVerifier(
            jwks_url=settings.jwt_jwks_url,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            algorithms=settings.jwt_algorithms,
        )
    pem = settings.jwt_key_pem()
    if pem is None:
        return None
    return JwtVerifier(
        public_key_pem=pem,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        algorithms=settings.jwt_algorithms,
    )


NOT_CONFIGURED_SETTINGS = "JWT_PUBLIC_KEY, JWT_PUBLIC_KEY_FILE or JWT_JWKS_URL"


class NotConfigured(Problem):
    """The server cannot check tokens: an operator's fault, not the caller's (never a 401)."""

    status = 503
    kind = "not-configured"
    title = "The server is not configured"
    title_ar = "الخادم غير مُعَدّ"


def install_auth(app: FastAPI, verifier: JwtVerifier | None) -> None:
    """Make `verifier` the app's token check. None means not configured: an error-level log line
    now, naming the settings, and every protected call answers 503; auth is never silently open."""
    if verifier is None:
        logger.error(
            "token verification is not configured: set %s (in development, `make run` or "
            "`make token` creates .local/dev-keys/jwt-public.pem); every authenticated call "
            "answers 503 until then",
            NOT_CONFIGURED_SETTINGS,
        )
    setattr(app.state, _APP_STATE_KEY, verifier)


# HTTPBearer gives the docs page its "Authorize" button; auto_error=False so that a missing token
# is answered by our own 401 problem instead of FastAPI's plain one.
_bearer = HTTPBearer(auto_error=False, description="A JWT from the identity provider.")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated caller, or a 401 problem."""
    verifier: JwtVerifier | None = getattr(request.app.state, _APP_STATE_KEY, None)
    if verifier is None:
        raise NotConfigured(
            "The server is not configured to check sign-in tokens; try again later. "
            f"(Operators: set {NOT_CONFIGURED_SETTINGS}.)",
            "الخادم غير مُعَدّ للتحقق من رموز الدخول؛ حاول لاحقًا.",
        )
    if credentials is None or not credentials.credentials:
        raise Unauthorized(
            "A bearer token is required (Authorization: Bearer <token>).",
            "يلزم إرسال رمز الدخول (Authorization: Bearer).",
        )
    return await verifier.verify(credentials.credentials)


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting a caller who holds at least one of `roles`; others get 403.

    Use as `dependencies=[Depends(require_roles("finance.approver"))]`, or as a parameter
    `user: Annotated[Principal, Depends(require_roles(...))]` when the route also needs the user.
    """
    if not roles:
        raise ValueError("require_roles needs at least one role")
    wanted = tuple(roles)

    async def principal_with_role(principal: CurrentUser) -> Principal:
        if not principal.has_any(*wanted):
            raise Forbidden(
                f"This action needs one of the roles: {', '.join(wanted)}.",
                f"هذا الإجراء يتطلب إحدى الصلاحيات: {'، '.join(wanted)}.",
            )
        return principal

    return principal_with_role


def ensure_owner(
    principal: Principal,
    owner_subject: str,
    *,
    staff_roles: Iterable[str] = (),
    not_found: NotFound | None = None,
) -> None:
    """Let through the owner of a resource and staff holding any of `staff_roles`.

    Anyone else gets **404, not 403**: a 403 would confirm that the resource exists, letting a
    citizen probe which request numbers are in use. Pass as `not_found` the very problem the
    service raises for a missing resource, so that the two answers cannot be told apart.
    """
    if principal.has_any(*staff_roles) or principal.subject == owner_subject:
        return
    raise not_found or NotFound(
        "The requested resource was not found.", "المورد المطلوب غير موجود."
    )
