from __future__ import annotations

import os
from pathlib import Path

import pytest

from skein.settings import Settings
from skein.ui import auth


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("::", False),
        ("example.test", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert auth.is_loopback(host) is loopback


def test_login_policy() -> None:
    assert not auth.login_required(Settings(host="127.0.0.1"))
    assert auth.login_required(Settings(host="0.0.0.0"))
    assert auth.login_required(Settings(host="127.0.0.1", ui_login="required"))


def test_the_secret_is_made_once_and_private(tmp_path: Path) -> None:
    first = auth.load_secret(tmp_path / "data")
    assert auth.load_secret(tmp_path / "data") == first and len(first) == 32
    assert os.stat(tmp_path / "data" / auth.SECRET_FILE).st_mode & 0o077 == 0


def test_signed_values_round_trip_and_resist_tampering() -> None:
    signer = auth.Signer(b"k" * 32)
    value = signer.sign({"a": 1})
    assert signer.unsign(value) == {"a": 1}
    body, mac = value.split(".")
    assert signer.unsign(body[:-1] + ("A" if body[-1] != "A" else "B") + "." + mac) is None
    assert auth.Signer(b"other" * 8).unsign(value) is None
    assert signer.unsign("garbage") is None and signer.unsign(None) is None


def test_logins_expire() -> None:
    signer = auth.Signer(b"k" * 32)
    login = auth.new_login("project-1", "pk-1", now=1000.0)
    cookie = auth.encode_login(signer, login)
    assert auth.decode_login(signer, cookie, now=1001.0) == login
    assert auth.decode_login(signer, cookie, now=1000.0 + auth.SESSION_SECONDS) is None
    assert not login.is_admin and auth.new_login(auth.ALL_PROJECTS, None).is_admin


def test_csrf_tokens_belong_to_their_nonce() -> None:
    signer = auth.Signer(b"k" * 32)
    token = signer.csrf_token("nonce-a")
    assert signer.check_csrf("nonce-a", token)
    assert not signer.check_csrf("nonce-b", token)
    assert not signer.check_csrf("nonce-a", None) and not signer.check_csrf(None, token)


def test_passwords() -> None:
    assert auth.check_password("s3cret", "s3cret")
    assert not auth.check_password("s3cret", "s3cre")
    assert not auth.check_password(None, "anything") and not auth.check_password("x", "")


def test_the_limiter_blocks_after_repeated_failures_and_forgets_them() -> None:
    limiter = auth.LoginLimiter(attempts=3, window_seconds=60)
    for t in (0.0, 1.0, 2.0):
        assert limiter.allowed("1.2.3.4", now=t)
        limiter.failed("1.2.3.4", now=t)
    assert not limiter.allowed("1.2.3.4", now=3.0)
    assert limiter.allowed("5.6.7.8", now=3.0)
    assert limiter.allowed("1.2.3.4", now=61.5)
    limiter.failed("5.6.7.8", now=4.0)
    limiter.succeeded("5.6.7.8")
    assert limiter.allowed("5.6.7.8", now=4.0)
