from __future__ import annotations

import base64

import pytest

from skein.errors import Unauthorized
from skein.keys import generate_key_pair, hash_secret, parse_basic_auth, verify_secret


def basic(public: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{public}:{secret}".encode()).decode()


def test_hashed_secret_verifies_only_the_same_secret() -> None:
    stored = hash_secret("sk-one")
    assert stored.startswith("scrypt$")
    assert "sk-one" not in stored
    assert verify_secret("sk-one", stored)
    assert not verify_secret("sk-two", stored)


def test_two_hashes_of_one_secret_differ_by_salt() -> None:
    assert hash_secret("same") != hash_secret("same")


@pytest.mark.parametrize(
    "stored", ["", "scrypt$x", "bcrypt$1$1$1$AA==$AA==", "scrypt$2$1$1$!!$AA=="]
)
def test_malformed_stored_hash_never_verifies(stored: str) -> None:
    assert not verify_secret("anything", stored)


def test_generated_pairs_are_distinct_and_prefixed() -> None:
    first, second = generate_key_pair(), generate_key_pair()
    assert first != second
    assert first.public_key.startswith("pk-skein-")
    assert first.secret_key.startswith("sk-skein-")


def test_basic_auth_parses_public_and_secret() -> None:
    assert parse_basic_auth(basic("pk", "sk:with:colons")) == ("pk", "sk:with:colons")
    assert parse_basic_auth(basic("pk", "sk").replace("Basic", "basic")) == ("pk", "sk")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer abc",
        "Basic !!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b":secret").decode(),
        "Basic " + base64.b64encode(b"\xff:x").decode(),
    ],
)
def test_bad_authorization_headers_are_unauthorized(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        parse_basic_auth(header)
