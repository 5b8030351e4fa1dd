"""Who may see the pages: the login policy, signed session cookies, CSRF tokens, and a limit
on login attempts.

- No login while the server listens on loopback only (`settings.host` 127.x, ::1 or
  localhost), unless `SKEIN_UI_LOGIN=required`.
- Otherwise a person logs in with a project's public + secret key pair (and sees that
  project) or with `SKEIN_UI_ADMIN_PASSWORD` (and sees every project).
- The session cookie is `payload.signature`, HMAC-SHA256 with a secret kept in the data
  directory (`ui-secret`, created on first use, mode 0600): HttpOnly, SameSite=Lax, Secure
  behind https.
- Every POST form carries a CSRF token derived from the browser's nonce (the session's, or
  a `skein_csrf` cookie when there is no login) with the same secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from skein.settings import Settings

SESSION_COOKIE = "skein_session"
CSRF_COOKIE = "skein_csrf"
PROJECT_COOKIE = "skein_project"
SESSION_SECONDS = 7 * 86_400
SECRET_FILE = "ui-secret"
ALL_PROJECTS = "*"

LOGIN_ATTEMPTS = 10
LOGIN_WINDOW_SECONDS = 300.0


def is_loopback(host: str) -> bool:
    """Whether an address to listen on is reachable from this machine only."""
    name = host.strip().strip("[]").lower()
    if name in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def login_required(settings: Settings) -> bool:
    return settings.ui_login == "required" or not is_loopback(settings.host)


def load_secret(data_dir: Path) -> bytes:
    """The signing secret in the data directory, created (0600) when missing."""
    path = data_dir / SECRET_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


@dataclass(frozen=True, slots=True)
class Login:
    """A logged-in browser: which projects it may see, and through which key (if any)."""

    scope: str  # a project id, or ALL_PROJECTS for the admin password
    public_key: str | None
    nonce: str
    expires: int

    @property
    def is_admin(self) -> bool:
        return self.scope == ALL_PROJECTS


class Signer:
    """Signs and checks cookie values and CSRF tokens with one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def sign(self, payload: dict[str, object]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._mac(body)}"

    def unsign(self, value: str | None) -> dict[str, object] | None:
        if not value or value.count(".") != 1:
            return None
        body, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            payload = json.loads(_unb64(body))
        except (binascii.Error, ValueError):
            return None
        return payload if isinstance(payload, dict) else None

    def csrf_token(self, nonce: str) -> str:
        return self._mac("csrf:" + nonce)[:32]

    def check_csrf(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token:
            return False
        return hmac.compare_digest(self.csrf_token(nonce), token)

    def _mac(self, text: str) -> str:
        digest = hmac.new(self._secret, text.encode(), hashlib.sha256).digest()
        return _b64(digest)


def new_login(scope: str, public_key: str | None, now: float | None = None) -> Login:
    now = time.time() if now is None else now
    return Login(scope, public_key, secrets.token_urlsafe(16), int(now) + SESSION_SECONDS)


def encode_login(signer: Signer, login: Login) -> str:
    payload = {"s": login.scope, "k": login.public_key, "n": login.nonce, "e": login.expires}
    return signer.sign(dict(payload))


def decode_login(signer: Signer, value: str | None, now: float | None = None) -> Login | None:
    payload = signer.unsign(value)
    if payload is None:
        return None
    scope, key, nonce, expires = (payload.get(k) for k in ("s", "k", "n", "e"))
    if not isinstance(scope, str) or not isinstance(nonce, str) or not isinstance(expires, int):
        return None
    if expires <= (time.time() if now is None else now):
        return None
    return Login(scope, key if isinstance(key, str) else None, nonce, expires)


def check_password(expected: str | None, given: str) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


class LoginLimiter:
    """At most `attempts` failed logins per client address in a sliding window."""

    def __init__(
        self, attempts: int = LOGIN_ATTEMPTS, window_seconds: float = LOGIN_WINDOW_SECONDS
    ) -> None:
        self._attempts = attempts
        self._window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allowed(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = self._recent(client, now)
            return len(recent) < self._attempts

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._recent(client, now).append(now)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        if len(self._failures) > 10_000:  # bound memory under a spray of addresses
            self._failures = {client: times}
        return times


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
