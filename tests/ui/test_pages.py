"""The pages in process (Starlette's TestClient): status, key content, readable without
JavaScript (everything asserted here is in the server-rendered HTML), errors as pages."""

from __future__ import annotations

import json
import re

import pytest
from starlette.testclient import TestClient

from skein.records import IngestWarning, MappedBatch, Observation
from skein.store.base import Store
from tests.ui.factories import (
    START_NS,
    chat_turn,
    csrf_of,
    project_of,
    trace_id,
    write_chat,
    write_observations,
)


def listed_sessions(html: str) -> list[str]:
    return re.findall(r'class="session-id" href="[^"]+">([^<]+)<', html)


def test_home_leads_to_sessions(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code in (302, 307) and response.headers["location"] == "/sessions"


def test_sessions_list_shows_each_session_with_its_rollups(
    client: TestClient, store: Store
) -> None:
    write_chat(store, project_of(store), "chat-alpha", 3)
    write_chat(store, project_of(store), "chat-beta", 2)
    page = client.get("/sessions")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "chat-alpha" in html and "chat-beta" in html
    assert "Question number 0?" in html  # the first input, as a preview
    assert 'href="/sessions/chat-alpha"' in html
    assert "2 sessions" in html


def test_sessions_list_filters_and_sorts(client: TestClient, store: Store) -> None:
    write_chat(store, project_of(store), "chat-alpha", 3)
    write_chat(store, project_of(store), "other-beta", 1)
    filtered = client.get("/sessions", params={"q": "alpha"}).text
    assert "chat-alpha" in filtered and "other-beta" not in filtered
    by_turns = client.get("/sessions", params={"sort": "trace_count:asc"}).text
    assert listed_sessions(by_turns) == ["other-beta", "chat-alpha"]
    assert listed_sessions(client.get("/sessions", params={"sort": "trace_count"}).text) == [
        "chat-alpha",
        "other-beta",
    ]
    none = client.get("/sessions", params={"errors": "1"}).text
    assert "No sessions match these filters" in none


def test_an_empty_project_says_how_to_start(client: TestClient) -> None:
    assert "skein demo" in client.get("/sessions").text


def test_replay_shows_turns_with_repeated_history_hidden(client: TestClient, store: Store) -> None:
    write_chat(store, project_of(store), "chat-1", 3)
    html = client.get("/sessions/chat-1").text
    assert html.count('class="turn') >= 3
    assert "You are a helpful travel agent." in html
    assert html.count("You are a helpful travel agent.") == 1  # the system prompt, once
    assert "Question number 2?" in html and "Answer number 2." in html
    assert "earlier messages repeated from previous turns" in html
    assert 'data-live="/ui/events?session=chat-1"' in html


def test_replay_pages_long_sessions(client: TestClient, store: Store) -> None:
    write_chat(store, project_of(store), "long", 120)
    first = client.get("/sessions/long").text
    assert 'id="turn-50"' in first and 'id="turn-51"' not in first
    assert "Page 1 of 3" in first
    second = client.get("/sessions/long", params={"page": 2}).text
    assert 'id="turn-51"' in second and 'id="turn-100"' in second and 'id="turn-50"' not in second
    assert "Question number 50?" in second and "Question number 49?" not in second
    last = client.get("/sessions/long", params={"page": "last"}).text
    assert 'id="turn-120"' in last and "Page 3 of 3" in last


def test_tool_calls_and_errors_are_inline(client: TestClient, store: Store) -> None:
    made, history = chat_turn(
        "tools",
        0,
        [],
        "Weather in Rome?",
        "Sunny.",
        tool=("get_weather", {"city": "Rome"}, {"t": 22}),
    )
    failed, _ = chat_turn("tools", 1, history, "And Oslo?", "Snow.", error="RateLimitError: 429")
    write_observations(store, project_of(store), made + failed)
    html = client.get("/sessions/tools").text
    assert "get_weather" in html and "{&#34;city&#34;: &#34;Rome&#34;}" in html
    assert "RateLimitError: 429" in html and "1 error" in html


def test_unknown_ids_answer_the_error_page(client: TestClient) -> None:
    for url in ("/sessions/no-such-session", "/traces/" + "0" * 32):
        response = client.get(url)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "not found" in response.text and 'class="error-page"' in response.text


def test_trace_view_has_the_tree_the_detail_and_the_session(
    client: TestClient, store: Store
) -> None:
    made, _ = chat_turn("s-trace", 0, [], "Hi?", "Hello.", tool=("lookup", {"q": 1}, {"r": 2}))
    write_observations(store, project_of(store), made)
    tid = trace_id(0, "s-trace")
    html = client.get(f"/traces/{tid}").text
    assert html.count('class="wf-row') == 3
    assert "lookup" in html and '<span class="wf-name">llm</span>' in html
    assert 'href="/sessions/s-trace?page=1#turn-1"' in html
    selected = client.get(f"/traces/{tid}", params={"observation": made[2].id}).text
    assert (
        'class="panel observation-detail" id="detail" data-observation="' + made[2].id in selected
    )


def test_traces_list_filters_by_session(client: TestClient, store: Store) -> None:
    write_chat(store, project_of(store), "one", 2)
    write_chat(store, project_of(store), "two", 1)
    html = client.get("/traces", params={"session": "two"}).text
    assert "1 trace" in html and trace_id(0, "two")[:16] in html
    assert trace_id(0, "one")[:16] not in html


def test_fragments_for_the_script(client: TestClient, store: Store) -> None:
    made, _ = chat_turn("frag", 0, [], "Hi?", "Hello.")
    write_observations(store, project_of(store), made)
    tid = trace_id(0, "frag")
    waterfall = client.get(f"/ui/waterfall/{tid}")
    assert waterfall.status_code == 200 and waterfall.text.count('class="wf-row') == 2
    assert "<html" not in waterfall.text
    detail = client.get(f"/traces/{tid}/observations/{made[1].id}")
    assert detail.status_code == 200 and "gpt-4o-mini" in detail.text
    assert client.get(f"/traces/{tid}/observations/ffffffffffffffff").status_code == 404


def test_a_huge_input_is_cut_and_the_full_value_is_one_request_away(
    client: TestClient, store: Store
) -> None:
    huge = "token " * 900_000  # over 5 MB
    made, _ = chat_turn("big", 0, [], huge, "ok")
    write_observations(store, project_of(store), made)
    tid = trace_id(0, "big")
    page = client.get("/sessions/big")
    assert page.status_code == 200 and len(page.text) < 300_000
    link = re.search(r'href="(/ui/value/[^"]+)" data-expand', page.text)
    assert link, "no expand link"
    full = client.get(link.group(1).replace("&amp;", "&"))
    assert full.status_code == 200 and full.text.count("token") == 900_000
    raw = client.get(f"/ui/value/{tid}/io/input")
    assert json.loads(raw.text)[0]["content"] == huge
    assert client.get(f"/ui/value/{tid}/io/nonsense").status_code == 404


def test_downloads(client: TestClient, store: Store) -> None:
    write_chat(store, project_of(store), "dl", 3)
    exported = client.get("/sessions/dl/export.json")
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    body = exported.json()
    assert body["session"]["session_id"] == "dl" and len(body["traces"]) == 3
    assert body["traces"][0]["input"][-1] == {"role": "user", "content": "Question number 0?"}
    assert len(body["traces"][0]["observations"]) == 2
    transcript = client.get("/sessions/dl/transcript.md").text
    assert transcript.startswith("# Session dl")
    assert "## Turn 3" in transcript and "Question number 2?" in transcript
    assert transcript.count("You are a helpful travel agent.") == 1


def test_posts_need_the_csrf_token(client: TestClient, store: Store) -> None:
    write_chat(store, project_of(store), "star", 1)
    refused = client.post("/sessions/star/bookmark", data={"on": "1"})
    assert refused.status_code == 403
    assert store.list_bookmarks(project_of(store)) == []
    token = csrf_of(client.get("/sessions").text)
    done = client.post(
        "/sessions/star/bookmark", data={"on": "1", "csrf": token, "back": "/sessions"},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/sessions"
    assert store.list_bookmarks(project_of(store)) == ["star"]
    assert "star" in client.get("/sessions", params={"bookmarked": "1"}).text


def test_comments_on_a_session(client: TestClient, store: Store) -> None:
    write_chat(store, project_of(store), "talk", 1)
    token = csrf_of(client.get("/sessions/talk").text)
    client.post("/sessions/talk/comments", data={"csrf": token, "body": "Looks <b>wrong</b>"})
    html = client.get("/sessions/talk").text
    assert "Looks &lt;b&gt;wrong&lt;/b&gt;" in html  # escaped
    (comment,) = store.list_comments(project_of(store), "session", "talk")
    assert comment.author == "local"
    client.post(f"/sessions/talk/comments/{comment.id}/delete", data={"csrf": token})
    assert store.list_comments(project_of(store), "session", "talk") == []


def test_settings_create_a_key_once_and_revoke_it(client: TestClient, store: Store) -> None:
    page = client.get("/settings")
    assert page.status_code == 200 and "pk-ui-test" in page.text
    token = csrf_of(page.text)
    created = client.post("/settings/keys", data={"csrf": token, "note": "ci"})
    secret = re.search(r"(sk-skein-[A-Za-z0-9_-]+)", created.text)
    public = re.search(r"(pk-skein-[0-9a-f]+)", created.text)
    assert secret and public and created.headers["cache-control"] == "no-store"
    assert secret.group(1) not in client.get("/settings").text  # shown once
    key = store.find_key(public.group(1))
    assert key is not None and key.note == "ci" and key.revoked_ns is None
    client.post("/settings/keys/revoke", data={"csrf": token, "public_key": public.group(1)})
    revoked = store.find_key(public.group(1))
    assert revoked is not None and revoked.revoked_ns is not None


def test_settings_projects_and_prices(client: TestClient, store: Store) -> None:
    token = csrf_of(client.get("/settings").text)
    response = client.post(
        "/settings/prices",
        data={"csrf": token, "model_name": "my-model", "input_price": "2", "output_price": "8"},
    )
    assert response.status_code == 200
    (price,) = store.list_model_prices(project_of(store))
    assert price.prices == {"input": pytest.approx(2e-6), "output": pytest.approx(8e-6)}
    assert "my-model" in response.text and "$2.00" in response.text
    bad = client.post(
        "/settings/prices", data={"csrf": token, "model_name": "x", "input_price": "-1"}
    )
    assert bad.status_code == 400 and "non-negative" in bad.text
    client.post("/settings/prices/delete", data={"csrf": token, "price_id": price.id})
    assert store.list_model_prices(project_of(store)) == []
    added = client.post("/settings/projects", data={"csrf": token, "name": "Staging"})
    (staging,) = [p for p in store.list_projects() if p.name == "Staging"]
    assert "Staging" in added.text and f"<code>{staging.id}</code>" in added.text


def test_project_switcher(client: TestClient, store: Store) -> None:
    other = store.create_project("Second")
    write_observations(store, other.id, chat_turn("elsewhere", 0, [], "q", "a")[0])
    assert "elsewhere" not in client.get("/sessions").text
    switched = client.get("/sessions", params={"project": other.id})
    assert "elsewhere" in switched.text
    assert "elsewhere" in client.get("/sessions").text  # remembered in a cookie


def test_diagnostics_say_what_is_missing(client: TestClient, store: Store) -> None:
    lost = Observation(
        id="1" * 16, trace_id="e" * 32, parent_id=None, is_root=True, name="job", type="SPAN",
        start_ns=START_NS, end_ns=START_NS + 1, metadata={"chatSessionIdentifier": "x"},
    )  # fmt: skip
    write_observations(store, project_of(store), [lost])
    write_chat(store, project_of(store), "ok", 1)
    html = client.get("/diagnostics", params={"range": ""}).text
    assert "1 of 2 traces (50%) have no session id." in html
    assert "chatSessionIdentifier" in html
    assert 'href="/traces/' + "e" * 32 in html


def test_a_warning_on_no_trace_names_its_observation_instead_of_a_link(
    client: TestClient, store: Store
) -> None:
    warning = IngestWarning("", "obs-1", "attribute_truncated", "field 'output' was cut")
    store.write([MappedBatch(project_of(store), (), (warning,))])
    html = client.get("/diagnostics", params={"range": ""}).text
    assert "observation obs-1" in html and 'href="/traces/"' not in html


def test_static_files_are_served(client: TestClient) -> None:
    assert client.get("/static/skein.css").status_code == 200
    assert "EventSource" in client.get("/static/skein.js").text
