from __future__ import annotations

import base64
from pathlib import Path

import pytest

from skein.cli import main
from skein.errors import Unauthorized
from skein.keys import Authenticator
from skein.store import open_store


def basic(public: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{public}:{secret}".encode()).decode()


def created_keys(output: str) -> tuple[str, str]:
    fields = dict(line.split(": ", 1) for line in output.splitlines() if ": " in line)
    return fields["public key"].strip(), fields["secret key"].strip()


def test_keys_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert main(["keys", "create", "--note", "ci", *data]) == 0
    public, secret = created_keys(capsys.readouterr().out)
    store = open_store(f"sqlite:///{tmp_path / 'skein.db'}")
    try:
        authenticator = Authenticator(store)
        project = authenticator.project_for(basic(public, secret))
        assert main(["keys", "list", *data]) == 0
        listing = capsys.readouterr().out
        assert f"{public}\t{project}\tactive" in listing and secret not in listing
        assert main(["keys", "revoke", public, *data]) == 0
        with pytest.raises(Unauthorized):
            authenticator.project_for(basic(public, secret))
    finally:
        store.close()
    assert main(["keys", "revoke", "pk-unknown", *data]) == 1


def test_keys_create_for_an_unknown_project_fails(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["keys", "create", "--project", "nope", "--data-dir", str(tmp_path)])


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "serve" in capsys.readouterr().out
