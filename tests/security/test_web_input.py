"""koho serve against hostile requests (issue 12): streamed bodies, nested JSON, bad UTF-8,
Host-header redirects. Real uvicorn on loopback, as in tests/test_mail_web.py."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx


def test_chunked_body_without_length_is_capped_while_streaming(service):
    sent = 0

    def body():
        nonlocal sent
        for _ in range(200):  # 200 x 64 KiB = 12.5 MiB offered
            sent += 65536
            yield b" " * 65536

    answer = service.http.post("sns", content=body(), headers={"x-amz-sns-message-type": "Notification"})
    assert answer.status_code == 413
    assert answer.request.headers.get("transfer-encoding") == "chunked"


def test_chunked_form_is_capped_too(service):
    answer = service.http.post(
        "",
        content=(b"address=" + b"a" * 4096 for _ in range(10)),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413


def test_deeply_nested_json_on_sns_is_a_400(service):
    answer = service.http.post("sns", content=b"[" * 200_000, headers={"x-amz-sns-message-type": "Notification"})
    assert answer.status_code == 400


def test_invalid_utf8_in_a_form_is_a_400_and_nothing_is_stored(service):
    for raw in (
        b"address=%FF%FEtaro@example.jp&topics=bousai&language=ja",
        b"address=\xff\xfetaro@example.jp&topics=bousai&language=ja",
    ):
        answer = service.http.post("", content=raw, headers={"content-type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 400
    counts, _, _ = service.store.counts()
    assert sum(counts.values()) == 0


def test_the_slash_redirect_ignores_the_host_header(service, settings):
    url = urlsplit(service.base)
    with socket.create_connection((url.hostname, url.port)) as conn:
        conn.sendall(b"GET /mail HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += conn.recv(4096)
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].split()[1] in ("301", "307", "308")
    location = next(line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("location:"))
    assert location == settings.mail_web_url
    assert "evil" not in head.decode("latin-1")


def test_other_paths_with_a_slash_are_not_redirected_to_the_host(service):
    answer = httpx.get(service.base + "static/style.css/", headers={"host": "evil.example"})
    assert "evil" not in answer.headers.get("location", "")
