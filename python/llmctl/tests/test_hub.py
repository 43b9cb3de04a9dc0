"""The Hub client: ranges of remote files, errors, and where the token goes."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest

from llmctl.errors import HubError
from llmctl.hub.client import HubClient, find_token
from testkit.http_server import QuietHTTPServer

REPO = "fake-org/Range-GGUF"
CONTENT = b"GGUF" + bytes(range(256)) * 400


@pytest.fixture
def hub(hub_emulator):
    hub_emulator.add_repo(REPO, {"Range-Q4_K_M.gguf": CONTENT, "README.md": b"hello\n"})
    return hub_emulator


def test_open_range_reads_a_slice_through_the_cdn_redirect(hub):
    client = HubClient()
    ref = client.resolve_revision(REPO)
    url = client.file_url(ref, "Range-Q4_K_M.gguf")
    assert client.open_range(url, 0, 4) == b"GGUF"
    assert client.open_range(url, 1000, 300) == CONTENT[1000:1300]
    assert client.open_range(url, len(CONTENT) - 10, 100) == CONTENT[-10:]
    assert client.open_range(url, len(CONTENT) + 5, 10) == b""
    assert [e["range"] for e in hub.log if e["server"] == "cdn"][:2] == ["bytes=0-3", "bytes=1000-1299"]
    hub.ignore_range = True
    assert client.open_range(url, 1000, 300) == CONTENT[1000:1300]


@pytest.mark.parametrize(("redirect", "cdn_sees_token"), [("cdn", False), ("same-origin", True)])
def test_authorization_is_dropped_only_when_a_redirect_leaves_the_hub_origin(hub, redirect, cdn_sees_token):
    hub.redirect = redirect
    client = HubClient(token="hf_token_value")
    ref = client.resolve_revision(REPO)
    client.open_range(client.file_url(ref, "Range-Q4_K_M.gguf"), 0, 4)
    [served] = [e for e in hub.log if e["path"].startswith("/cdn/")]
    assert served["server"] == ("hub" if redirect == "same-origin" else "cdn")
    assert (served["authorization"] == "Bearer hf_token_value") is cdn_sees_token
    assert "hf_token_value" not in repr(client)


def test_hub_errors_are_mapped_from_x_error_code(hub):
    client = HubClient()
    with pytest.raises(HubError, match="repository not found"):
        client.resolve_revision("nobody/Nothing")
    with pytest.raises(HubError, match="revision not found"):
        client.resolve_revision(REPO, "v9")
    ref = client.resolve_revision(REPO)
    with pytest.raises(HubError, match="file not found"):
        client.open_range(client.file_url(ref, "missing.gguf"), 0, 4)


def test_token_sources_in_order(monkeypatch, tmp_path):
    assert find_token() is None
    (tmp_path / "hf-home").mkdir(exist_ok=True)
    (tmp_path / "hf-home" / "token").write_text("from-home\n")
    assert find_token() == "from-home"
    monkeypatch.setenv("HF_TOKEN", "from-env")
    assert find_token() == "from-env"
    (tmp_path / "file").write_text("from-file\n")
    assert find_token(tmp_path / "file") == "from-file"


class _LoginPage(BaseHTTPRequestHandler):
    """A captive proxy: every URL answers 200 with an HTML page."""

    def do_GET(self) -> None:
        body = b"<html>please log in</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args) -> None:
        pass


def test_an_answer_that_is_not_the_hubs_json_is_a_hub_error():
    server = QuietHTTPServer(("127.0.0.1", 0), _LoginPage).start()
    try:
        client = HubClient(endpoint=server.url)
        with pytest.raises(HubError, match="not the Hub's JSON") as raised:
            client.resolve_revision(REPO)
        assert "HF_ENDPOINT" in raised.value.hint
    finally:
        server.stop()
