"""Logging in and out of the web UI (only asked for when `auth.login_required`)."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from skein.keys import verify_secret
from skein.services import Services
from skein.ui import auth
from skein.ui.web import UI, Viewer, client_address, read_form, redirect, safe_next, set_cookie

logger = logging.getLogger(__name__)


async def login_page(ui: UI, request: Request) -> Response:
    return await run_in_threadpool(_login_page, ui, request)


def _login_page(ui: UI, request: Request, error: str = "", status: int = 200) -> Response:
    viewer = ui.viewer(request, anonymous=True)
    if not viewer.login_required or viewer.login is not None:
        return _with_cookies(redirect(safe_next(request.query_params.get("next"))), request, viewer)
    context = {
        "next": safe_next(request.query_params.get("next")),
        "error": error,
        "has_password": viewer.services.settings.ui_admin_password is not None,
    }
    response = ui.render_page(request, None, "login.html", {**context, "csrf": viewer.csrf}, status)
    return _with_cookies(response, request, viewer)


async def login_action(ui: UI, request: Request) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_login, ui, request, form)


def _login(ui: UI, request: Request, form: dict[str, str]) -> Response:
    viewer = ui.viewer(request, anonymous=True)
    if not viewer.login_required:
        return redirect("/sessions")
    if not ui.signer(viewer).check_csrf(viewer.nonce, form.get("csrf")):
        return _login_page(ui, request, "The form expired; try again.", 403)
    client = client_address(request)
    if not ui.limiter.allowed(client):
        return _login_page(ui, request, "Too many failed attempts; wait a few minutes.", 429)
    login = _authenticate(viewer.services, form)
    if login is None:
        ui.limiter.failed(client)
        logger.warning("failed web UI login from %s", client)
        return _login_page(ui, request, "Those credentials are not valid.", 401)
    ui.limiter.succeeded(client)
    response = redirect(safe_next(form.get("next")))
    set_cookie(response, request, auth.SESSION_COOKIE, auth.encode_login(ui.signer(viewer), login))
    return response


def _authenticate(services: Services, form: dict[str, str]) -> auth.Login | None:
    password = form.get("password", "")
    expected = services.settings.ui_admin_password
    if password:
        if auth.check_password(expected.get_secret_value() if expected else None, password):
            return auth.new_login(auth.ALL_PROJECTS, None)
        return None
    public_key, secret_key = form.get("public_key", "").strip(), form.get("secret_key", "").strip()
    if not public_key or not secret_key:
        return None
    key = services.store.find_key(public_key)
    if key is None or key.revoked_ns is not None or not verify_secret(secret_key, key.secret_hash):
        return None
    return auth.new_login(key.project_id, key.public_key)


async def logout_action(ui: UI, request: Request) -> Response:
    form = await read_form(request)
    viewer = await run_in_threadpool(ui.viewer, request, anonymous=True)
    if not ui.signer(viewer).check_csrf(viewer.nonce, form.get("csrf")):
        return redirect("/sessions")
    response = redirect("/login")
    set_cookie(response, request, auth.SESSION_COOKIE, "", max_age=0)
    return response


def _with_cookies(response: Response, request: Request, viewer: Viewer) -> Response:
    for name, value in viewer.cookies.items():
        set_cookie(response, request, name, value)
    return response
