"""One-time codes sealed for the notifier: only the notifier's private key opens them.

A command ``notifier.sms.send.v1`` that carries a secret (a one-time code) puts its template
values in ``sealed_values``: a libsodium **sealed box** (``crypto_box_seal``: an ephemeral X25519
key, XSalsa20-Poly1305) of the UTF-8 JSON object of the values, for the notifier's public key,
in standard base64. Anyone who reads the broker (or the sender's database) sees only that; the
notifier, which alone holds the private key, opens it just before it renders the SMS.

Keys are 32 bytes, in standard base64: ``NOTIFIER_CODE_PUBLIC_KEY`` for the senders,
``NOTIFIER_CODE_PRIVATE_KEY`` for the notifier only (or ``..._FILE`` variables naming a file that
holds it). Production requires them. In development ``make run`` creates a pair under
``.local/dev-keys/`` before any service starts (:func:`ensure_dev_code_keys`), as it does the
JWT keys, and gives the private half's file to the notifier alone.

    python -m services.common.codeseal   # print a new pair, for an operator's secret store
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

__all__ = [
    "PRIVATE_KEY_FILE",
    "PUBLIC_KEY_FILE",
    "SealError",
    "ensure_dev_code_keys",
    "load_private_key",
    "load_public_key",
    "new_key_pair",
    "open_values",
    "private_key",
    "public_key",
    "seal_values",
]

PRIVATE_KEY_FILE = "notifier-code-private.key"
PUBLIC_KEY_FILE = "notifier-code-public.key"


class SealError(ValueError):
    """A key or a sealed value that cannot be used (wrong key, tampered or malformed)."""


def _decode(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SealError(f"{what} is not base64") from None
    if len(raw) != 32:
        raise SealError(f"{what} must be 32 bytes (base64 of an X25519 key)")
    return raw


def public_key(text: str) -> PublicKey:
    """The notifier's public key from its base64 text."""
    return PublicKey(_decode(text, "the notifier's public code key"))


def private_key(text: str) -> PrivateKey:
    """The notifier's private key from its base64 text."""
    return PrivateKey(_decode(text, "the notifier's private code key"))


def new_key_pair() -> tuple[str, str]:
    """A fresh (private, public) pair, base64."""
    key = PrivateKey.generate()
    return (
        base64.b64encode(bytes(key)).decode(),
        base64.b64encode(bytes(key.public_key)).decode(),
    )


def seal_values(values: Mapping[str, str], key: PublicKey) -> str:
    """``values`` as a sealed box for the notifier, base64."""
    document = json.dumps(dict(values), ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(SealedBox(key).encrypt(document.encode("utf-8"))).decode()


def open_values(sealed: str, key: PrivateKey) -> dict[str, str]:
    """The values of a sealed box; SealError if it is not for this key or was tampered with."""
    try:
        raw = base64.b64decode(sealed, validate=True)
        document = json.loads(SealedBox(key).decrypt(raw).decode("utf-8"))
    except (binascii.Error, ValueError, CryptoError):
        raise SealError("the sealed values cannot be opened with the notifier's key") from None
    if not isinstance(document, dict) or not all(
        isinstance(name, str) and isinstance(value, str) for name, value in document.items()
    ):
        raise SealError("the sealed values are not an object of strings")
    return document


def _configured(text: str | None, file: Path | None, dev_file: Path, production: bool) -> str:
    if text:
        return text
    if file is not None:
        return file.read_text()
    if not production and dev_file.exists():
        return dev_file.read_text()
    return ""


def load_public_key(
    text: str | None, file: Path | None, *, production: bool, dev_dir: Path
) -> PublicKey:
    """A sender's copy of the notifier's public key: the setting, its file, or (outside
    production) the development key ``make run`` created. SealError when there is none."""
    found = _configured(text, file, dev_dir / PUBLIC_KEY_FILE, production)
    if not found:
        raise SealError(
            "NOTIFIER_CODE_PUBLIC_KEY (or NOTIFIER_CODE_PUBLIC_KEY_FILE) is needed to seal "
            "one-time codes for the notifier; in development `make run` creates one"
        )
    return public_key(found)


def load_private_key(
    text: str | None, file: Path | None, *, production: bool, dev_dir: Path
) -> PrivateKey | None:
    """The notifier's private key, or None when none is configured (outside production)."""
    found = _configured(text, file, dev_dir / PRIVATE_KEY_FILE, production)
    return private_key(found) if found else None


def _write_private(path: Path, text: str) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text + "\n")
    os.replace(temporary, path)


def ensure_dev_code_keys(directory: Path) -> tuple[Path, Path]:
    """The (private, public) key files under ``directory``, created on first use (development)."""
    for name, value in os.environ.items():
        if name.upper() == "ENVIRONMENT" and value.strip().lower() == "production":
            raise SystemExit("development code keys are refused with ENVIRONMENT=production")
    private_path, public_path = directory / PRIVATE_KEY_FILE, directory / PUBLIC_KEY_FILE
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if private_path.exists():
        key = private_key(private_path.read_text())
    else:
        key = PrivateKey.generate()
        _write_private(private_path, base64.b64encode(bytes(key)).decode())
    public_path.write_text(base64.b64encode(bytes(key.public_key)).decode() + "\n")
    return private_path, public_path


def main() -> int:
    private, public = new_key_pair()
    print(f"NOTIFIER_CODE_PRIVATE_KEY={private}  # the notifier only")
    print(f"NOTIFIER_CODE_PUBLIC_KEY={public}  # every service that sends codes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
