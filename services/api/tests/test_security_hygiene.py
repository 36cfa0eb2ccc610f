"""The portal page's headers (Content-Security-Policy) and the front door's logging of query strings."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prequel_api.app import PORTAL, create_app
from prequel_api.settings import ApiSettings

REPO = Path(__file__).resolve().parents[3]
NGINX_CONF = REPO / "dev" / "frontdoor.nginx.conf"
#: nginx variables that hold the query string (``$request`` is the whole request line)
QUERY_VARIABLES = re.compile(r"\$(request|request_uri|args|query_string|is_args)\b|\$arg_")


@pytest.fixture(scope="module")
def client() -> TestClient:
    settings = ApiSettings(
        nats_url="nats://127.0.0.1:1", redis_url="redis://127.0.0.1:1/0", api_tokens="t:0123456789abcdef0123"
    )
    return TestClient(create_app(settings))  # no lifespan: the page needs neither NATS nor Redis


def _csp(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


def test_the_portal_page_has_a_content_security_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    csp = _csp(response.headers["content-security-policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"], "no inline script, no eval, nothing from elsewhere"
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert all("unsafe" not in value for values in csp.values() for value in values)
    assert response.headers["x-content-type-options"] == "nosniff"


class _Inline(HTMLParser):
    """What a script-src/style-src 'self' policy would block in the page."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self._in_script_or_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.blocked.append("inline <script>")
        if tag == "style":
            self.blocked.append("<style>")
        self.blocked += [f"{tag} {name}=" for name in names if name.startswith("on") or name == "style"]
        self._in_script_or_style = tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if self._in_script_or_style and data.strip():
            self.blocked.append("inline script or style content")


def test_the_portal_page_needs_no_inline_script_or_style() -> None:
    parser = _Inline()
    parser.feed((PORTAL / "index.html").read_text())
    assert parser.blocked == []
    script = (PORTAL / "portal.js").read_text()
    for needs_unsafe in ("innerHTML", "eval(", "new Function", 'setAttribute("style"', "insertAdjacentHTML"):
        assert needs_unsafe not in script, needs_unsafe


def _directives(conf: str) -> list[str]:
    without_comments = re.sub(r"#[^\n]*", "", conf)
    return [" ".join(d.split()) for d in re.split(r"[;{}]", without_comments) if d.strip()]


def test_the_front_door_never_logs_a_query_string() -> None:
    conf = NGINX_CONF.read_text()
    directives = _directives(conf)
    formats = {}
    for directive in directives:
        if directive.startswith("log_format "):
            _, name, *parts = directive.split(" ", 2)
            formats[name] = " ".join(parts)
    access_logs = [d.split()[1:] for d in directives if d.startswith("access_log ")]
    server_level = conf.index("access_log") < conf.index("location")
    assert access_logs and server_level, (
        "no server-wide access_log: nginx's default format logs $request, the query string (?access_token=) included"
    )
    for args in access_logs:
        if args == ["off"]:
            continue
        assert len(args) >= 2, f"access_log {' '.join(args)}: the default format logs the query string"
        assert args[1] in formats, f"access_log {' '.join(args)}: the format is not defined here"
        assert not QUERY_VARIABLES.search(formats[args[1]]), f"log_format {args[1]} logs the query string"


def test_the_front_door_keeps_stream_requests_out_of_its_error_log() -> None:
    """nginx's error lines quote the request line, query string included: the stream locations log only crit."""
    conf = re.sub(r"#[^\n]*", "", NGINX_CONF.read_text())
    locations = re.findall(r"location\s+([^{]+)\{((?:[^{}]|\{[^{}]*\})*)\}", conf)
    streams = [(where.strip(), body) for where, body in locations if "events-gateway" in body]
    assert len(streams) == 2
    for where, body in streams:
        assert re.search(r"error_log\s+\S+\s+(crit|alert|emerg)\s*;", body), where
