"""Schemathesis over the OpenAPI document the server serves, against the app in process (its
lifespan runs, on a seeded SQLite store): for generated requests to every described
operation, no answer is a server error, and every answer conforms to the document — its
status code is described, its content type is the described one, its body fits the schema.

Example counts are bounded (`MAX_EXAMPLES` per operation) to keep the run near a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette

from skein.api.openapi import build_spec
from skein.app import create_app
from skein.projects import bootstrap
from skein.store import open_store
from tests.api.factories import PUBLIC_A, SECRET_A, basic_auth, make_settings
from tests.store.query_factories import seed

MAX_EXAMPLES = 12
# Answers only: whether the document describes every input constraint (schemathesis's
# positive/negative data checks) is not what this test is about.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
SPEC = "/api/public/openapi.json"
OPERATIONS = [
    f"{method.upper()} {path}"
    for path, item in build_spec()["paths"].items()
    for method in item
    if method in ("get", "post", "put", "patch", "delete") and path != SPEC
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Starlette]:
    data_dir: Path = tmp_path_factory.mktemp("schemathesis")
    settings_ = make_settings(data_dir)
    store = open_store(settings_.resolved_database_url())
    try:
        bootstrap(store, settings_)  # the lifespan's own bootstrap then finds the key
        key = store.find_key(PUBLIC_A)
        assert key is not None
        seed(store, key.project_id)  # lists and items have rows for their schemas to check
        yield create_app(settings_, store)
    finally:
        store.close()


@pytest.fixture(scope="module")
def api_schema(app: Starlette) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_asgi(SPEC, app)
    first = schema.get_all_operations()
    assert first
    return schema


def operation_named(schema: schemathesis.BaseSchema, label: str) -> APIOperation:
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label == label:
            return operation
    raise AssertionError(f"{label} is not in the served document")


@pytest.mark.parametrize("label", OPERATIONS)
def test_the_api_answers_as_its_openapi_document_says(
    api_schema: schemathesis.BaseSchema, label: str
) -> None:
    operation = operation_named(api_schema, label)

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Case) -> None:
        case.call_and_validate(headers=basic_auth(PUBLIC_A, SECRET_A), checks=CHECKS)

    check()
