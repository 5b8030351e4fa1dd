"""Every route of the web UI, bound to one `UI` (templates, signer, login limiter)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from skein.ui import (
    diagnostics,
    export,
    live,
    login,
    repair,
    session,
    sessions,
    settings_page,
    trace,
)
from skein.ui import traces as traces_list
from skein.ui.web import STATIC_DIR, UI, UIOptions


def ui_routes(options: UIOptions | None = None) -> list[BaseRoute]:
    ui = UI(options)
    return [
        Route("/", home, methods=["GET"]),
        Route("/sessions", ui.page(sessions.sessions_page), methods=["GET"]),
        Route("/sessions/{session_id:path}/export.json", ui.page(export.export_json)),
        Route("/sessions/{session_id:path}/transcript.md", ui.page(export.export_markdown)),
        Route(
            "/sessions/{session_id:path}/bookmark",
            ui.action(sessions.bookmark_action),
            methods=["POST"],
        ),
        Route(
            "/sessions/{session_id:path}/comments/{comment_id}/delete",
            ui.action(session.delete_comment_action),
            methods=["POST"],
        ),
        Route(
            "/sessions/{session_id:path}/comments",
            ui.action(session.comment_action),
            methods=["POST"],
        ),
        *repair_routes(ui),
        Route("/sessions/{session_id:path}", ui.page(session.session_page), methods=["GET"]),
        Route("/traces", ui.page(traces_list.traces_page), methods=["GET"]),
        Route(
            "/traces/{trace_id}/observations/{observation_id}",
            ui.page(trace.observation_fragment),
        ),
        Route("/traces/{trace_id}", ui.page(trace.trace_page), methods=["GET"]),
        Route("/diagnostics", ui.page(diagnostics.diagnostics_page), methods=["GET"]),
        Route("/settings", ui.page(settings_page.settings_page), methods=["GET"]),
        Route("/settings/keys", ui.action(settings_page.create_key_action), methods=["POST"]),
        Route(
            "/settings/keys/revoke", ui.action(settings_page.revoke_key_action), methods=["POST"]
        ),
        Route("/settings/prices", ui.action(settings_page.create_price_action), methods=["POST"]),
        Route(
            "/settings/prices/delete",
            ui.action(settings_page.delete_price_action),
            methods=["POST"],
        ),
        Route(
            "/settings/projects",
            ui.action(settings_page.create_project_action),
            methods=["POST"],
        ),
        Route("/login", bound(ui, login.login_page), methods=["GET"]),
        Route("/login", bound(ui, login.login_action), methods=["POST"]),
        Route("/logout", bound(ui, login.logout_action), methods=["POST"]),
        Route("/ui/events", bound(ui, live.events_endpoint), methods=["GET"]),
        Route("/ui/waterfall/{trace_id}", ui.page(trace.waterfall_fragment)),
        Route("/ui/value/{trace_id}/{source}/{field}", ui.page(trace.value_endpoint)),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]


def repair_routes(ui: UI) -> list[BaseRoute]:
    """The session repair forms: edits on the session page, backfill and rules on the
    diagnostics page, undo on both."""
    edits = {
        "rename": repair.rename_action,
        "merge": repair.merge_action,
        "split": repair.split_action,
        "move": repair.move_action,
    }
    return [
        *(
            Route(f"/sessions/{{session_id:path}}/{name}", ui.action(handler), methods=["POST"])
            for name, handler in edits.items()
        ),
        Route("/diagnostics/backfill", ui.action(repair.backfill_action), methods=["POST"]),
        Route("/diagnostics/rules", ui.action(repair.add_rule_action), methods=["POST"]),
        Route("/diagnostics/rules/delete", ui.action(repair.remove_rule_action), methods=["POST"]),
        Route("/audit/{audit_id}/undo", ui.action(repair.undo_action), methods=["POST"]),
    ]


async def home(request: Request) -> Response:
    return RedirectResponse("/sessions", status_code=307)


def bound(
    ui: UI, handler: Callable[[UI, Request], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await handler(ui, request)

    return endpoint
