"""Projects and their keys: the default project and key pair a first start creates."""

from __future__ import annotations

import time

from skein.keys import KeyPair, generate_key_pair, hash_secret, verify_secret
from skein.settings import Settings
from skein.store.base import ApiKey, Project, Store

DEFAULT_PROJECT_NAME = "default"


class KeyConflict(Exception):
    """SKEIN_INIT_PUBLIC_KEY names an existing key whose secret is different."""


def default_project(store: Store) -> Project:
    """The oldest project, created on first use."""
    projects = store.list_projects()
    if projects:
        return min(projects, key=lambda p: (p.created_ns, p.id))
    return store.create_project(DEFAULT_PROJECT_NAME)


def create_key(store: Store, project_id: str, note: str = "") -> KeyPair:
    pair = generate_key_pair()
    add_key(store, project_id, pair, note)
    return pair


def add_key(store: Store, project_id: str, pair: KeyPair, note: str = "") -> None:
    key = ApiKey(
        public_key=pair.public_key,
        project_id=project_id,
        secret_hash=hash_secret(pair.secret_key),
        created_ns=time.time_ns(),
        note=note,
    )
    store.add_key(key)


def bootstrap(store: Store, settings: Settings) -> KeyPair | None:
    """Make sure a project with a working key exists; return a key pair made just now."""
    project = default_project(store)
    if settings.init_public_key and settings.init_secret_key:
        pair = KeyPair(settings.init_public_key, settings.init_secret_key.get_secret_value())
        _ensure_key(store, project.id, pair)
        return None
    if any(k.revoked_ns is None for k in store.list_keys(project.id)):
        return None
    return create_key(store, project.id, note="created on first start")


def _ensure_key(store: Store, project_id: str, pair: KeyPair) -> None:
    existing = store.find_key(pair.public_key)
    if existing is None:
        add_key(store, project_id, pair, note="from SKEIN_INIT_PUBLIC_KEY")
    elif existing.revoked_ns is not None or not verify_secret(
        pair.secret_key, existing.secret_hash
    ):
        raise KeyConflict(
            f"public key {pair.public_key} already exists with another secret or is revoked;"
            " choose another SKEIN_INIT_PUBLIC_KEY"
        )
