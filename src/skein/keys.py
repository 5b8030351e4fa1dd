"""API keys: generation, slow hashing of secrets, and the request authenticator.

Secrets are stored as scrypt hashes and compared in constant time. Verifying scrypt on
every request would cost tens of milliseconds, so the authenticator remembers digests of
credentials that verified (never the secrets themselves).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from skein.errors import Unauthorized
from skein.store.base import ApiKey, Store

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1


@dataclass(frozen=True, slots=True)
class KeyPair:
    public_key: str
    secret_key: str


def generate_key_pair() -> KeyPair:
    return KeyPair(
        public_key="pk-skein-" + secrets.token_hex(12),
        secret_key="sk-skein-" + secrets.token_urlsafe(24),
    )


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    parts = ["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)]
    return "$".join(parts)


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = _scrypt(secret, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, binascii.Error):
        return False
    return scheme == "scrypt" and hmac.compare_digest(actual, expected)


def parse_basic_auth(header: str | None) -> tuple[str, str]:
    """The (public_key, secret_key) of an `Authorization: Basic` header."""
    if not header or not header[:6].lower() == "basic ":
        raise Unauthorized("missing credentials: send HTTP Basic public_key:secret_key")
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise Unauthorized("malformed Basic authorization header") from error
    public_key, sep, secret_key = decoded.partition(":")
    if not sep or not public_key or not secret_key:
        raise Unauthorized("malformed Basic authorization header: expected public:secret")
    return public_key, secret_key


class Authenticator:
    """Maps an Authorization header to the project id its key belongs to.

    The key is looked up on every request, so a revoked key stops working at once, in every
    server process. Only the slow scrypt check is remembered: a credential that verified
    against a stored hash is not verified again while that hash stays the same. Requests
    that bring the same credential at once (every client of a restarted server) wait for
    one check instead of each running its own (~0.1 s of CPU each).
    """

    def __init__(
        self,
        store: Store,
        capacity: int = 10_000,
        verify: Callable[[str, str], bool] = verify_secret,
    ) -> None:
        self._store = store
        self._capacity = capacity
        self._check = verify
        self._verified: set[bytes] = set()
        self._checking: dict[bytes, threading.Lock] = {}
        self._lock = threading.Lock()

    def project_for(self, header: str | None) -> str:
        public_key, secret_key = parse_basic_auth(header)
        key = self._store.find_key(public_key)
        if key is None or key.revoked_ns is not None or not self._verify(secret_key, key):
            raise Unauthorized("invalid API keys")
        return key.project_id

    def _verify(self, secret_key: str, key: ApiKey) -> bool:
        fingerprint = hashlib.sha256(f"{key.secret_hash}\0{secret_key}".encode()).digest()
        with self._lock:
            if fingerprint in self._verified:
                return True
            gate = self._checking.setdefault(fingerprint, threading.Lock())
        with gate:
            with self._lock:
                if fingerprint in self._verified:
                    return True
            verified = self._check(secret_key, key.secret_hash)
            with self._lock:
                self._checking.pop(fingerprint, None)
                if verified:
                    self._remember(fingerprint)
        return verified

    def _remember(self, fingerprint: bytes) -> None:
        if len(self._verified) >= self._capacity:
            self._verified.clear()
        self._verified.add(fingerprint)


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
