"""Comments and session bookmarks (every backend, through the contract suite's
fixtures)."""

from __future__ import annotations

from skein.store.base import Comment, Store
from tests.store.factories import PROJECT_ID
from tests.store.test_contract import make_store, store

__all__ = ["make_store", "store"]  # fixtures


def comment(id: str, object_id: str = "s1", created_ns: int = 1, **extra: str) -> Comment:
    fields = {"object_type": "session", "body": f"body {id}", "author": "local", **extra}
    return Comment(id=id, object_id=object_id, created_ns=created_ns, **fields)  # type: ignore[arg-type]


def test_comments_list_per_object_oldest_first(store: Store) -> None:
    store.add_comment(PROJECT_ID, comment("b", created_ns=2))
    store.add_comment(PROJECT_ID, comment("a", created_ns=1))
    store.add_comment(PROJECT_ID, comment("c", object_id="s2"))
    store.add_comment("other-project", comment("d"))
    listed = store.list_comments(PROJECT_ID, "session", "s1")
    assert [c.id for c in listed] == ["a", "b"]
    assert listed[0] == comment("a", created_ns=1)
    assert store.list_comments(PROJECT_ID, "trace", "s1") == []


def test_deleting_a_comment(store: Store) -> None:
    store.add_comment(PROJECT_ID, comment("a"))
    assert not store.delete_comment("other-project", "a")
    assert store.delete_comment(PROJECT_ID, "a")
    assert not store.delete_comment(PROJECT_ID, "a")
    assert store.list_comments(PROJECT_ID, "session", "s1") == []


def test_bookmarks_are_set_once_and_removed(store: Store) -> None:
    store.set_bookmark(PROJECT_ID, "s1", True)
    store.set_bookmark(PROJECT_ID, "s1", True)
    store.set_bookmark(PROJECT_ID, "s2", True)
    assert sorted(store.list_bookmarks(PROJECT_ID)) == ["s1", "s2"]
    assert store.bookmarked(PROJECT_ID, ["s1", "s3"]) == {"s1"}
    assert store.bookmarked("other-project", ["s1"]) == set()
    store.set_bookmark(PROJECT_ID, "s1", False)
    assert store.list_bookmarks(PROJECT_ID) == ["s2"]
    assert store.bookmarked(PROJECT_ID, []) == set()
