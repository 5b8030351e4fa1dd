from __future__ import annotations

import base64
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import cast

import pytest

from skein.errors import Unauthorized
from skein.keys import (
    Authenticator,
    generate_key_pair,
    hash_secret,
    parse_basic_auth,
    verify_secret,
)
from skein.store.base import ApiKey, Store


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


class OneKey:
    """The only part of a store the authenticator reads: one key, found by its public key."""

    def __init__(self, key: ApiKey) -> None:
        self.key = key

    def find_key(self, public_key: str) -> ApiKey | None:
        return self.key if public_key == self.key.public_key else None


def counting_check(calls: list[str], seconds: float = 0.0) -> Callable[[str, str], bool]:
    """`verify_secret`, recording each secret it checks and taking at least `seconds`."""

    def check(secret: str, stored: str) -> bool:
        calls.append(secret)
        time.sleep(seconds)
        return verify_secret(secret, stored)

    return check


def authenticator_of(secret: str, calls: list[str], seconds: float = 0.0) -> Authenticator:
    key = ApiKey("pk-one", "project-one", hash_secret(secret), created_ns=0)
    return Authenticator(cast(Store, OneKey(key)), verify=counting_check(calls, seconds))


def test_requests_bringing_one_credential_at_once_share_one_check() -> None:
    calls: list[str] = []
    authenticator = authenticator_of("sk-one", calls, seconds=0.2)
    header = basic("pk-one", "sk-one")
    with ThreadPoolExecutor(max_workers=8) as requests:
        projects = list(requests.map(lambda _: authenticator.project_for(header), range(8)))
    assert projects == ["project-one"] * 8
    assert calls == ["sk-one"]


def test_a_wrong_secret_is_checked_each_time_and_never_remembered() -> None:
    calls: list[str] = []
    authenticator = authenticator_of("sk-one", calls)
    for _ in range(2):
        with pytest.raises(Unauthorized):
            authenticator.project_for(basic("pk-one", "sk-wrong"))
    assert authenticator.project_for(basic("pk-one", "sk-one")) == "project-one"
    assert authenticator.project_for(basic("pk-one", "sk-one")) == "project-one"
    assert calls == ["sk-wrong", "sk-wrong", "sk-one"]
