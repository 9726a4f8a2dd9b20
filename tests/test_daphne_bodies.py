"""prism_site.serve_daphne refuses bodies over PRISM_MAX_BODY_BYTES before Twisted and daphne store them."""

import json
import socket
import threading

import httpx2 as httpx
import pytest

from tests.conftest import PrismProcess
from tests.openapi import assert_valid

LIMIT = 200_000


@pytest.fixture
def daphne(upstream, transactional_db):
    prism = PrismProcess(upstream.url, server="daphne", PRISM_MAX_BODY_BYTES=str(LIMIT))
    yield prism
    prism.stop()


def post_head(prism, headers: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", prism.port), timeout=10)
    sock.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode())
    return sock


def answer(sock: socket.socket) -> tuple[int, dict]:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def assert_too_large(status, error):
    assert status == 413 and error["error"]["code"] == "request_too_large"
    assert_valid("ErrorResponse", error)


def test_a_content_length_over_the_limit_is_refused_before_the_body_is_sent(daphne):
    with post_head(daphne, f"Content-Type: application/json\r\nContent-Length: {100 * 1024 * 1024}\r\n") as sock:
        assert_too_large(*answer(sock))


def send_body(prism, size: int, chunked: bool) -> None:
    """Send `size` bytes of body as fast as the server takes them, then wait for the answer; the server may
    answer and close the connection before."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    piece = b"x" * 65536
    with post_head(prism, f"Content-Type: application/json\r\n{framing}\r\n") as sock:
        sock.settimeout(60)
        try:
            for _ in range(size // len(piece)):
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
            sock.recv(65536)
        except OSError:
            pass  # refused and closed


@pytest.mark.parametrize("chunked", [False, True])
def test_four_100_mb_bodies_do_not_grow_daphnes_memory(daphne, chunked):
    before = daphne.rss_kib()
    senders = [threading.Thread(target=send_body, args=(daphne, 100 * 1024 * 1024, chunked)) for _ in range(4)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    assert daphne.rss_kib() - before < 64 * 1024  # KiB; an unbounded daphne grows by about 400 MiB
    assert httpx.get(f"{daphne.url}/healthz").status_code == 200


def test_a_chunked_body_over_the_limit_is_refused(daphne):
    with post_head(daphne, "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n") as sock:
        piece = b" " * 65536
        try:
            for _ in range(LIMIT // len(piece) + 2):
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        except OSError:
            pass
        assert_too_large(*answer(sock))


def test_bodies_within_the_limit_are_served(daphne, api_key):
    padded = json.dumps({"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]}) + " " * (LIMIT - 1000)
    response = httpx.post(f"{daphne.url}/v1/chat/completions", content=padded, timeout=30,
                          headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
