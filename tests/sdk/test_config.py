"""Configuration order: arguments, then SKEIN_*, then LANGFUSE_*, then defaults."""

from __future__ import annotations

from skein.sdk.config import DEFAULT_BASE_URL, resolve_config


def test_defaults() -> None:
    config = resolve_config(environ={})
    assert config.base_url == DEFAULT_BASE_URL == "http://127.0.0.1:3000"
    assert config.public_key is None
    assert config.traces_url == "http://127.0.0.1:3000/api/public/otel/v1/traces"
    assert config.scores_url.endswith("/api/public/scores")
    assert config.projects_url.endswith("/api/public/projects")


def test_langfuse_names_keep_existing_deployments_working() -> None:
    environ = {
        "LANGFUSE_HOST": "http://host:1/",
        "LANGFUSE_PUBLIC_KEY": "pk-lf",
        "LANGFUSE_SECRET_KEY": "sk-lf",
        "LANGFUSE_TRACING_ENVIRONMENT": "staging",
        "LANGFUSE_RELEASE": "r1",
        "LANGFUSE_FLUSH_AT": "10",
        "LANGFUSE_FLUSH_INTERVAL": "0.5",
    }
    config = resolve_config(environ=environ)
    assert config.base_url == "http://host:1"
    assert (config.public_key, config.secret_key) == ("pk-lf", "sk-lf")
    assert (config.environment, config.release) == ("staging", "r1")
    assert (config.flush_at, config.flush_interval_seconds) == (10, 0.5)


def test_base_url_order() -> None:
    environ = {"LANGFUSE_HOST": "http://c", "LANGFUSE_BASE_URL": "http://b"}
    assert resolve_config(environ=environ).base_url == "http://b"
    environ["SKEIN_BASE_URL"] = "http://a"
    assert resolve_config(environ=environ).base_url == "http://a"
    assert resolve_config(host="http://host-arg", environ=environ).base_url == "http://host-arg"
    assert resolve_config(base_url="http://arg", host="http://h", environ=environ).base_url == (
        "http://arg"
    )


def test_skein_names_win_over_langfuse_names_and_arguments_over_both() -> None:
    environ = {"SKEIN_PUBLIC_KEY": "pk-skein", "LANGFUSE_PUBLIC_KEY": "pk-lf"}
    assert resolve_config(environ=environ).public_key == "pk-skein"
    assert resolve_config(public_key="pk-arg", environ=environ).public_key == "pk-arg"


def test_a_malformed_number_is_ignored() -> None:
    config = resolve_config(environ={"SKEIN_TIMEOUT": "soon", "SKEIN_FLUSH_AT": "-3"})
    assert config.timeout_seconds == 10.0
    assert config.flush_at is None
