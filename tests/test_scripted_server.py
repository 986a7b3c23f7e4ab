"""The scripted loopback server the fake Zohos are built from does what the tests rely on."""

from __future__ import annotations

import socket

import pytest
import requests

from tests.support.scripted_server import DROP, HANG, Raw, Reply, ScriptedServer


def test_answers_are_given_in_order_then_the_default_and_every_request_is_recorded():
    """Two scripted answers, then the default; method, path, headers and body are kept."""
    script = [Reply(503, {"code": "X"}), (201, b"made", {"X-Id": "1"})]
    with ScriptedServer(script, default=Reply(204)) as server, requests.Session() as session:
        answers = [
            session.post(f"{server.url}/a?b=1", data=b"one", headers={"X-T": "t"}, timeout=5),
            session.put(f"{server.url}/c", data=b"two", timeout=5),
            session.get(f"{server.url}/d", timeout=5),
        ]
    assert [(a.status_code, a.content) for a in answers] == [
        (503, b'{"code": "X"}'),
        (201, b"made"),
        (204, b""),
    ]
    assert answers[1].headers["X-Id"] == "1"
    assert [(r.method, r.path, r.body) for r in server.requests] == [
        ("POST", "/a?b=1", b"one"),
        ("PUT", "/c", b"two"),
        ("GET", "/d", b""),
    ]
    assert server.requests[0].headers["X-T"] == "t"


def test_with_repeat_last_the_last_answer_is_given_again_and_again():
    """repeat_last: a script of one answer is every answer."""
    with ScriptedServer([Reply(401)], repeat_last=True) as server:
        codes = [requests.get(server.url, timeout=5).status_code for _ in range(3)]
    assert codes == [401, 401, 401]


def test_a_redirect_is_an_answer_like_any_other():
    """A 307 with a Location header goes out as scripted."""
    moved = Reply(307, b"", {"Location": "http://127.0.0.2:9/steal"})
    with ScriptedServer([moved]) as server:
        answer = requests.get(server.url, timeout=5, allow_redirects=False)
    assert (answer.status_code, answer.headers["Location"]) == (307, "http://127.0.0.2:9/steal")


def test_a_dropped_connection_ends_without_an_answer():
    """DROP: the client sees the connection close, not a status."""
    with ScriptedServer([DROP]) as server, pytest.raises(requests.ConnectionError):
        requests.get(server.url, timeout=5)


def test_raw_bytes_go_out_as_they_are_and_the_connection_closes():
    """An answer without a length ends where the server closes the connection."""
    with ScriptedServer([Raw(b"HTTP/1.0 200 OK\r\n\r\n", b"partial")]) as server:
        answer = requests.get(server.url, timeout=5)
    assert (answer.status_code, answer.content) == (200, b"partial")


def test_a_hanging_answer_holds_the_client_until_its_read_timeout():
    """HANG: nothing comes back; the server still stops when the test ends."""
    with ScriptedServer([HANG]) as server, pytest.raises(requests.ReadTimeout):
        requests.get(server.url, timeout=0.2)


def test_every_connection_is_counted_even_one_that_sends_no_request():
    """A connection that closes without a word is counted but is no request."""
    with ScriptedServer() as server:
        socket.create_connection((server.host, server.port)).close()
        requests.get(server.url, timeout=5)
    assert server.connections == 2
    assert len(server.requests) == 1
