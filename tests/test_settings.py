from __future__ import annotations

from pathlib import Path

import pytest

from skein.settings import Settings

DOCS = Path(__file__).parent.parent / "docs" / "settings.md"


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text()
    missing = [n for n in Settings.model_fields if f"`SKEIN_{n.upper()}`" not in text]
    assert missing == []


def test_environment_is_read_and_arguments_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKEIN_PORT", "4100")
    monkeypatch.setenv("SKEIN_HOST", "127.0.0.2")
    settings = Settings(port=4200)
    assert (settings.host, settings.port) == ("127.0.0.2", 4200)


def test_default_database_lives_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'skein.db'}"
    explicit = Settings(data_dir=tmp_path, database_url="sqlite:///x.db")
    assert explicit.resolved_database_url() == "sqlite:///x.db"


def test_secret_is_not_shown_in_repr() -> None:
    settings = Settings(init_public_key="pk", init_secret_key="sk-very-secret")
    assert "sk-very-secret" not in repr(settings)
