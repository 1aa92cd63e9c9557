"""Sealed boxes: only the backend's private key opens what a kiosk sealed."""

from __future__ import annotations

import pytest

from provisioning.sealing import (
    SealError,
    generate_key,
    load_private_key,
    private_key_pem,
    public_key_pem,
    seal,
    unseal,
)

IDENTITY = '{"id_number": "11010519491231002X", "name": "张三"}'.encode()


def test_a_sealed_identity_opens_with_the_private_key_only() -> None:
    backend, other = generate_key(), generate_key()
    token = seal(public_key_pem(backend), IDENTITY)
    assert b"11010519491231002X" not in token.encode()
    assert unseal(backend, token) == IDENTITY
    with pytest.raises(SealError):
        unseal(other, token)


def test_each_seal_differs_and_a_changed_token_is_refused() -> None:
    key = generate_key()
    first, second = seal(public_key_pem(key), IDENTITY), seal(public_key_pem(key), IDENTITY)
    assert first != second
    changed = first[:-3] + ("A" if first[-3] != "A" else "B") + first[-2:]
    with pytest.raises(SealError):
        unseal(key, changed)
    with pytest.raises(SealError):
        unseal(key, "not a token")


def test_the_private_key_is_stored_encrypted() -> None:
    key = generate_key()
    pem = private_key_pem(key, "a long passphrase for the test")
    assert b"ENCRYPTED" in pem
    reloaded = load_private_key(pem, "a long passphrase for the test")
    assert unseal(reloaded, seal(public_key_pem(key), IDENTITY)) == IDENTITY
    with pytest.raises(ValueError):
        load_private_key(pem, "the wrong passphrase")
