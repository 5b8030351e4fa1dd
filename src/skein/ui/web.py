"""What every page shares: templates, who is looking (`Viewer`), forms, errors, cookies.

A page handler is a plain synchronous function `(ui, call) -> Response` run in the thread
pool (store reads block); `UI.page` and `UI.action` wrap it into a Starlette endpoint that
resolves the viewer first (redirecting to the login page when one is needed), checks the
CSRF token of a POST, and turns `PageError` into the HTML error page.
"""

from __future__ import annotations

import hashlib
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from skein import __version__
from skein.errors import BadRequest
from skein.projects import default_project
from skein.request_body import read_body
from skein.services import Services
from skein.store.base import Project, Store
from skein.ui import auth, format, replay, values

PACKAGE_DIR = Path(__file__).parent
STATIC_DIR = PACKAGE_DIR / "static"
TEMPLATE_DIR = PACKAGE_DIR / "templates"
MAX_FORM_BYTES = 1024 * 1024
NAV = (
    ("sessions", "/sessions", "Sessions"),
    ("traces", "/traces", "Traces"),
    ("diagnostics", "/diagnostics", "Diagnostics"),
    ("settings", "/settings", "Settings"),
)


@dataclass(frozen=True, slots=True)
class UIOptions:
    """Tunables of the pages (tests shrink the live-update timings)."""

    turns_per_page: int = 50
    rows_per_page: int = 50
    poll_seconds: float = 1.0
    stream_seconds: float = 20.0
    heartbeat_seconds: float = 10.0


class PageError(Exception):
    """An error shown as an HTML page."""

    def __init__(self, status: int, title: str, message: str = "") -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.message = message


class LoginNeeded(Exception):
    """The page needs a login this browser does not have."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking at a page, in which project, and their CSRF token."""

    services: Services
    project: Project
    projects: tuple[Project, ...]
    login: auth.Login | None
    login_required: bool
    nonce: str
    csrf: str
    cookies: dict[str, str] = field(default_factory=dict)  # to set on the response

    @property
    def store(self) -> Store:
        return self.services.store

    @property
    def can_manage_projects(self) -> bool:
        return not self.login_required or (self.login is not None and self.login.is_admin)


@dataclass(frozen=True, slots=True)
class Call:
    """One request as a handler sees it (safe to use from the thread pool)."""

    request: Request
    viewer: Viewer
    form: Mapping[str, str] = field(default_factory=dict)

    @property
    def query(self) -> Mapping[str, str]:
        return self.request.query_params

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])


Handler = Callable[["UI", Call], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


class UI:
    """The web UI of one app: its templates, cookie signer and login limiter."""

    def __init__(self, options: UIOptions | None = None) -> None:
        self.options = options or UIOptions()
        self.templates = make_environment()
        self.limiter = auth.LoginLimiter()
        self.static_version = static_fingerprint()
        self._signer: auth.Signer | None = None
        self._lock = threading.Lock()

    # Endpoints

    def page(self, handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            return await run_in_threadpool(self.handle, handler, request, {})

        return endpoint

    def action(self, handler: Handler) -> Endpoint:
        """A POST form handler; the form's CSRF token is checked before it runs."""

        async def endpoint(request: Request) -> Response:
            form = await read_form(request)
            return await run_in_threadpool(self.handle, handler, request, form)

        return endpoint

    def handle(self, handler: Handler, request: Request, form: Mapping[str, str]) -> Response:
        try:
            viewer = self.viewer(request)
        except LoginNeeded:
            return login_redirect(request)
        try:
            if request.method == "POST" and not self.signer(viewer).check_csrf(
                viewer.nonce, form.get("csrf")
            ):
                raise PageError(403, "Form expired", "Reload the page and try again.")
            response = handler(self, Call(request, viewer, form))
        except PageError as error:
            response = self.error_page(request, viewer, error)
        except BadRequest as error:
            response = self.error_page(
                request, viewer, PageError(400, "Bad request", error.message)
            )
        for name, value in viewer.cookies.items():
            set_cookie(response, request, name, value)
        return response

    # Viewer

    def signer(self, viewer_or_services: Viewer | Services) -> auth.Signer:
        services = (
            viewer_or_services.services
            if isinstance(viewer_or_services, Viewer)
            else viewer_or_services
        )
        with self._lock:
            if self._signer is None:
                self._signer = auth.Signer(auth.load_secret(services.settings.data_dir))
            return self._signer

    def viewer(self, request: Request, *, anonymous: bool = False) -> Viewer:
        """Who is asking; LoginNeeded when a login is required and missing (unless anonymous)."""
        services: Services = request.app.state.services
        signer = self.signer(services)
        required = auth.login_required(services.settings)
        login = current_login(services, signer, request) if required else None
        if required and login is None and not anonymous:
            raise LoginNeeded()
        cookies: dict[str, str] = {}
        nonce = login.nonce if login else request.cookies.get(auth.CSRF_COOKIE, "")
        if not nonce:
            nonce = auth.new_login("", None).nonce
            cookies[auth.CSRF_COOKIE] = nonce
        projects = visible_projects(services, login, required)
        project = chosen_project(request, projects, cookies) if projects else None
        if project is None:
            project = default_project(services.store)
        return Viewer(
            services, project, projects, login, required, nonce, signer.csrf_token(nonce), cookies
        )

    # Rendering

    def render(
        self,
        call: Call,
        template: str,
        context: Mapping[str, Any],
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        return self.render_page(call.request, call.viewer, template, context, status, headers)

    def render_page(
        self,
        request: Request,
        viewer: Viewer | None,
        template: str,
        context: Mapping[str, Any],
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        html = self.templates.get_template(template).render(
            **self.base_context(request, viewer), **context
        )
        response = HTMLResponse(html, status_code=status, headers=dict(headers or {}))
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def fragment(self, template: str, macro: str, *args: Any, **kwargs: Any) -> HTMLResponse:
        """One macro of a template, as an HTML fragment for the page's script."""
        module = self.templates.get_template(template).make_module(self.fragment_context())
        html = getattr(module, macro)(*args, **kwargs)
        return HTMLResponse(str(html), headers={"Cache-Control": "no-store"})

    def fragment_context(self) -> dict[str, Any]:
        return {"now_ns": time.time_ns()}

    def base_context(self, request: Request, viewer: Viewer | None) -> dict[str, Any]:
        path = request.url.path
        active = next((key for key, href, _ in NAV if path.startswith(href)), "")
        return {
            "viewer": viewer,
            "nav": NAV,
            "active": active,
            "path": path,
            "full_path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "static": lambda name: f"/static/{name}?v={self.static_version}",
            "now_ns": time.time_ns(),
            "version": __version__,
        }

    def error_page(self, request: Request, viewer: Viewer | None, error: PageError) -> Response:
        context = {"status": error.status, "title": error.title, "message": error.message}
        return self.render_page(request, viewer, "error.html", context, status=error.status)


def make_environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(format.FILTERS)
    environment.globals.update(
        clip=values.clip,
        score_label=replay.label_of,
        ago=format.ago,
        percent=format.percent,
        query_with=query_with,
    )
    return environment


def static_fingerprint() -> str:
    """Changes whenever a static file does, so browsers never run stale script or style."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.iterdir()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def query_with(query: Mapping[str, str], **changes: Any) -> str:
    """The query string of `query` with some parameters changed (None removes one)."""
    merged = {key: value for key, value in query.items()}
    for key, value in changes.items():
        if value is None or value == "":
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    return ("?" + urllib.parse.urlencode(merged)) if merged else "?"


# -- Logins and projects ----------------------------------------------------------------------


def current_login(services: Services, signer: auth.Signer, request: Request) -> auth.Login | None:
    """The browser's login, if it is valid and its key (if any) still works."""
    login = auth.decode_login(signer, request.cookies.get(auth.SESSION_COOKIE))
    if login is None or login.public_key is None:
        return login
    key = services.store.find_key(login.public_key)
    if key is None or key.revoked_ns is not None or key.project_id != login.scope:
        return None
    return login


def visible_projects(
    services: Services, login: auth.Login | None, required: bool
) -> tuple[Project, ...]:
    projects = tuple(services.store.list_projects())
    if required and login is not None and not login.is_admin:
        return tuple(p for p in projects if p.id == login.scope)
    return projects


def chosen_project(
    request: Request, projects: tuple[Project, ...], cookies: dict[str, str]
) -> Project | None:
    by_id = {p.id: p for p in projects}
    asked = request.query_params.get("project")
    if asked in by_id:
        if asked != request.cookies.get(auth.PROJECT_COOKIE):
            cookies[auth.PROJECT_COOKIE] = asked
        return by_id[asked]
    remembered = request.cookies.get(auth.PROJECT_COOKIE)
    if remembered in by_id:
        return by_id[remembered]
    return min(projects, key=lambda p: (p.created_ns, p.id))


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = "/sessions"
    return RedirectResponse("/login?" + urllib.parse.urlencode({"next": target}), 303)


def safe_next(target: str | None) -> str:
    """A local path to go to after logging in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/sessions"
    return target


# -- Requests and responses -----------------------------------------------------------------------


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body (the only kind the pages send), first value of each field."""
    body = await read_body(request, MAX_FORM_BYTES)
    fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int | None = None
) -> None:
    if max_age is None:
        max_age = auth.SESSION_SECONDS if name == auth.SESSION_COOKIE else 365 * 86_400
    response.set_cookie(
        name,
        value,
        max_age=max_age if value else 0,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
