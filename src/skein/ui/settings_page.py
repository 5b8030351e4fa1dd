"""The settings page: projects, their API keys (created with the secret shown once, and
revoked), and model prices."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from skein.keys import KeyPair
from skein.prices import ModelPrice, PriceError, price_from_body
from skein.projects import create_key
from skein.store.base import ApiKey, Project
from skein.ui.web import UI, Call, PageError, redirect

MAX_NAME_CHARS = 100
MAX_NOTE_CHARS = 200


@dataclass(frozen=True, slots=True)
class PriceRow:
    """A model price as the table shows it: USD per million units, input and output."""

    price: ModelPrice
    input: float | None
    output: float | None
    other: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class SettingsView:
    projects: tuple[Project, ...]
    keys: tuple[ApiKey, ...]
    project_prices: tuple[PriceRow, ...]
    builtin_prices: tuple[PriceRow, ...]
    created: KeyPair | None = None
    price_error: str = ""


def settings_page(ui: UI, call: Call) -> Response:
    return _render(ui, call, _view(call))


def _view(call: Call, created: KeyPair | None = None, price_error: str = "") -> SettingsView:
    own = call.viewer.store.list_model_prices(call.viewer.project.id)
    builtin = call.viewer.services.prices.builtin
    return SettingsView(
        call.viewer.projects,
        _keys(call),
        tuple(price_row(p) for p in own),
        tuple(price_row(p) for p in builtin),
        created,
        price_error,
    )


def price_row(price: ModelPrice) -> PriceRow:
    """Prices per million units (as price lists quote them)."""
    per_million = {key: value * 1_000_000 for key, value in price.prices.items()}
    other = tuple((k, v) for k, v in per_million.items() if k not in ("input", "output"))
    return PriceRow(price, per_million.get("input"), per_million.get("output"), other)


def _render(ui: UI, call: Call, view: SettingsView, status: int = 200) -> Response:
    # The page may show a secret: never cached, never stored by a proxy.
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    context = {"view": view, "base_url": str(call.request.base_url).rstrip("/")}
    return ui.render(call, "settings.html", context, status=status, headers=headers)


def _keys(call: Call) -> tuple[ApiKey, ...]:
    keys = call.viewer.store.list_keys(call.viewer.project.id)
    return tuple(sorted(keys, key=lambda k: (k.revoked_ns is not None, -k.created_ns)))


def create_key_action(ui: UI, call: Call) -> Response:
    """Make a key pair for the current project and show its secret, this once."""
    note = call.form.get("note", "").strip()[:MAX_NOTE_CHARS]
    pair = create_key(call.viewer.store, call.viewer.project.id, note=note or "created in the UI")
    return _render(ui, call, _view(call, created=pair))


def revoke_key_action(ui: UI, call: Call) -> Response:
    public_key = call.form.get("public_key", "")
    key = call.viewer.store.find_key(public_key)
    if key is None or key.project_id != call.viewer.project.id:
        raise PageError(404, "Key not found", f"There is no key {public_key!r} in this project.")
    call.viewer.store.revoke_key(public_key, time.time_ns())
    return redirect("/settings#keys")


def create_project_action(ui: UI, call: Call) -> Response:
    if not call.viewer.can_manage_projects:
        raise PageError(403, "Not allowed", "Log in with the admin password to add projects.")
    name = call.form.get("name", "").strip()[:MAX_NAME_CHARS]
    if not name:
        raise PageError(400, "Name missing", "A project needs a name.")
    project = call.viewer.store.create_project(name)
    return redirect(f"/settings?project={project.id}")


def create_price_action(ui: UI, call: Call) -> Response:
    """Add a project price (USD per million tokens in the form, per token when stored)."""
    form = call.form
    body: dict[str, Any] = {
        "modelName": form.get("model_name", "").strip(),
        "matchPattern": form.get("match_pattern", "").strip()
        or f"(?i)^{re.escape(form.get('model_name', '').strip())}$",
    }
    try:
        for field, key in (("input_price", "inputPrice"), ("output_price", "outputPrice")):
            if form.get(field, "").strip():
                body[key] = float(form[field]) / 1_000_000
        price = price_from_body(
            body,
            project_id=call.viewer.project.id,
            price_id=uuid.uuid4().hex,
            now_ns=time.time_ns(),
        )
    except (PriceError, ValueError) as error:
        return _render(ui, call, _view(call, price_error=str(error)), status=400)
    call.viewer.store.put_model_price(price)
    call.viewer.services.prices.invalidate(call.viewer.project.id)
    return redirect("/settings#prices")


def delete_price_action(ui: UI, call: Call) -> Response:
    price_id = call.form.get("price_id", "")
    if not call.viewer.store.delete_model_price(call.viewer.project.id, price_id):
        raise PageError(404, "Price not found", f"There is no price {price_id!r} in this project.")
    call.viewer.services.prices.invalidate(call.viewer.project.id)
    return redirect("/settings#prices")
