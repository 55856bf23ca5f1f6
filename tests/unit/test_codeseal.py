"""Sealed one-time codes (services/common/codeseal.py): only the private key opens them."""

from __future__ import annotations

from pathlib import Path

import pytest
from nacl.public import PrivateKey, SealedBox

from services.common import codeseal


def test_sealed_values_open_only_with_the_notifiers_private_key() -> None:
    private, public = codeseal.new_key_pair()
    sealed = codeseal.seal_values({"code": "482913"}, codeseal.public_key(public))

    assert "482913" not in sealed
    assert codeseal.open_values(sealed, codeseal.private_key(private)) == {"code": "482913"}
    other, _ = codeseal.new_key_pair()
    with pytest.raises(codeseal.SealError):
        codeseal.open_values(sealed, codeseal.private_key(other))
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(codeseal.SealError):
        codeseal.open_values(tampered, codeseal.private_key(private))


def test_the_format_is_libsodiums_sealed_box() -> None:
    # Any libsodium binding opens it: crypto_box_seal_open of the base64-decoded bytes.
    import base64
    import json

    key = PrivateKey.generate()
    sealed = codeseal.seal_values({"code": "0042"}, key.public_key)
    assert json.loads(SealedBox(key).decrypt(base64.b64decode(sealed))) == {"code": "0042"}


@pytest.mark.parametrize("text", ["", "not base64!", "AAAA"])
def test_a_malformed_key_is_refused(text: str) -> None:
    with pytest.raises(codeseal.SealError):
        codeseal.public_key(text)


def test_keys_come_from_the_setting_its_file_or_outside_production_the_dev_files(
    tmp_path: Path,
) -> None:
    codeseal.ensure_dev_code_keys(tmp_path)
    dev_public = (tmp_path / codeseal.PUBLIC_KEY_FILE).read_text()
    private, public = codeseal.new_key_pair()

    loaded = codeseal.load_public_key(public, None, production=False, dev_dir=tmp_path)
    assert loaded == codeseal.public_key(public)
    assert codeseal.load_public_key(
        None, None, production=False, dev_dir=tmp_path
    ) == codeseal.public_key(dev_public)
    with pytest.raises(codeseal.SealError, match="NOTIFIER_CODE_PUBLIC_KEY"):
        codeseal.load_public_key(None, None, production=True, dev_dir=tmp_path)
    assert codeseal.load_private_key(None, None, production=True, dev_dir=tmp_path) is None
    file = tmp_path / "private.key"
    file.write_text(private + "\n")
    assert codeseal.load_private_key(
        None, file, production=True, dev_dir=tmp_path
    ) == codeseal.private_key(private)
