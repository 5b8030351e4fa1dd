"""SQLite: a project's own model prices (matched before Skein's price table)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from skein.prices import ModelPrice

PRICE_COLUMNS = "id, model_name, match_pattern, prices, unit, created_ns"
SELECT_PRICES = (
    f"SELECT {PRICE_COLUMNS} FROM model_prices WHERE project_id = ?"
    " ORDER BY created_ns DESC, id DESC"
)
UPSERT_PRICE = (
    f"INSERT INTO model_prices (project_id, {PRICE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (project_id, id) DO UPDATE SET model_name = excluded.model_name,"
    " match_pattern = excluded.match_pattern, prices = excluded.prices, unit = excluded.unit,"
    " created_ns = excluded.created_ns"
)
DELETE_PRICE = "DELETE FROM model_prices WHERE project_id = ? AND id = ?"


def list_prices(connection: sqlite3.Connection, project_id: str) -> list[ModelPrice]:
    """The project's prices, newest first (the order they are matched in)."""
    rows = connection.execute(SELECT_PRICES, (project_id,)).fetchall()
    return [_price_from_row(project_id, row) for row in rows]


def put_price(connection: sqlite3.Connection, price: ModelPrice) -> None:
    """Store a project price (one with the same id is replaced)."""
    if price.project_id is None:
        raise ValueError("only project prices are stored")
    prices = json.dumps(dict(price.prices), separators=(",", ":"))
    row = (price.project_id, price.id, price.model_name, price.match_pattern, prices,
           price.unit, price.created_ns)  # fmt: skip
    connection.execute(UPSERT_PRICE, row)


def delete_price(connection: sqlite3.Connection, project_id: str, price_id: str) -> bool:
    return connection.execute(DELETE_PRICE, (project_id, price_id)).rowcount > 0


def _price_from_row(project_id: str, row: tuple[Any, ...]) -> ModelPrice:
    price_id, model_name, match_pattern, prices, unit, created_ns = row
    return ModelPrice(
        id=price_id,
        model_name=model_name,
        match_pattern=match_pattern,
        prices=json.loads(prices),
        unit=unit,
        project_id=project_id,
        created_ns=created_ns,
    )
