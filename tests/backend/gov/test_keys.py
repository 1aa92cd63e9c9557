"""The backend's keys for citizen data: made once, encrypted at rest, refused with a wrong passphrase."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.gov import keys
from provisioning import sealing

PASSPHRASE = "a-long-test-passphrase-for-the-keys"


def test_data_keys_are_made_once_and_reopened(tmp_path: Path) -> None:
    first = keys.load_data_keys(tmp_path / "ca", PASSPHRASE)
    keys.load_data_keys.cache_clear()
    again = keys.load_data_keys(tmp_path / "ca", PASSPHRASE)
    assert first == again
    stored = (tmp_path / "ca" / keys.DATA_KEYS_FILE).read_bytes()
    assert first.encryption not in stored and first.lookup not in stored
    assert (tmp_path / "ca" / keys.DATA_KEYS_FILE).stat().st_mode & 0o777 == 0o600
    keys.load_data_keys.cache_clear()
    with pytest.raises(keys.KeyUnavailable):
        keys.load_data_keys(tmp_path / "ca", "another-passphrase-entirely")


def test_encryption_lookup_and_signatures(tmp_path: Path) -> None:
    k = keys.load_data_keys(tmp_path / "ca", PASSPHRASE)
    token = k.encrypt("11010519491231002X")
    assert "11010519491231002X" not in token and k.decrypt(token) == "11010519491231002X"
    assert k.encrypt("11010519491231002X") != token  # a fresh nonce each time
    assert k.lookup_hash("ric", "11010519491231002X") == k.lookup_hash("ric", "11010519491231002X")
    assert k.lookup_hash("ric", "x") != k.lookup_hash("phone", "x")
    signature = k.sign("licence", "RIC-1")
    assert k.verify("licence", "RIC-1", signature)
    assert not k.verify("licence", "RIC-2", signature)
    assert not k.verify("other", "RIC-1", signature)


def test_the_sealing_key_opens_what_kiosks_seal(tmp_path: Path) -> None:
    private = keys.load_sealing_key(tmp_path / "ca", PASSPHRASE)
    public = keys.sealing_public_key_pem(private)
    token = sealing.seal(public, b'{"id_number": "11010519491231002X", "name": "\\u5f20\\u4e09"}')
    assert sealing.unseal(private, token).startswith(b'{"id_number"')
    pem = (tmp_path / "ca" / keys.SEALING_KEY_FILE).read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    keys.load_sealing_key.cache_clear()
    with pytest.raises(keys.KeyUnavailable):
        keys.load_sealing_key(tmp_path / "ca", "wrong-passphrase-entirely-here")
