"""The API reference pages render their operations in a real browser, with nothing from the
internet: the app is served by uvicorn on a loopback port and Debian's Chromium loads
``/schema`` (Scalar) and ``/schema/swagger`` (Swagger UI) headless. Every request Chromium
would send to another host goes to a recording proxy that answers nothing, so the test sees
both that the page did not need it and that it was not attempted.

Skips, loudly, only where no Chromium is installed (``.ci/run`` installs Debian's).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
import uvicorn

from service.app import create_app
from service.static.pages import CONTENT_SECURITY_POLICY
from tests.conftest import settings_for

# Chromium's own background services (component updates, sign-in, network time), which these
# flags do not all silence; the page's requests are anything else that leaves the machine.
BROWSER_OWN = {
    "update.googleapis.com",
    "accounts.google.com",
    "clients2.google.com",
    "redirector.gvt1.com",
    "edgedl.me.gvt1.com",
    "clientservices.googleapis.com",
}

CHROMIUM = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium") if p and Path(p).exists()), None)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="NO CHROMIUM FOUND: the docs pages were NOT tested in a browser. Install Debian's `chromium` "
    "(apt-get install -y chromium; .ci/run does so) to run tests/test_docs_pages.py.",
)


class _Recorder(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.seen: list[str] = []
        super().__init__(("127.0.0.1", 0), _RecordFirstLine)


class _RecordFirstLine(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        line = self.rfile.readline(2048).decode("latin-1").strip()
        self.server.seen.append(line)  # type: ignore[attr-defined]  # _Recorder's list


@contextlib.contextmanager
def proxy() -> Iterator[_Recorder]:
    """A proxy that records each request's first line (``CONNECT host:443`` or ``GET http://...``)
    and closes the connection."""
    server = _Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def serve(dsn: str) -> Iterator[str]:
    """The app under uvicorn on a free loopback port; yields its base URL once it answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings_for(dsn)), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # poll until it answers
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health/live", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            pytest.fail("uvicorn did not start")
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def render(url: str, proxy_port: int, profile: Path) -> str:
    """The DOM Chromium holds after running the page's scripts (virtual time, so the budget
    is the page's own clock, not a wait)."""
    assert CHROMIUM is not None
    done = subprocess.run(  # noqa: S603  # a fixed program and our own arguments
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--metrics-recording-only",
            "--disable-domain-reliability",
            "--disable-client-side-phishing-detection",
            "--safebrowsing-disable-auto-update",
            "--no-pings",
            "--disable-breakpad",
            "--bwsi",
            "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate,"
            "AutofillServerCommunication,CertificateTransparencyComponentUpdater,PushMessaging,SafeBrowsing",
            f"--user-data-dir={profile}",
            f"--proxy-server=http://127.0.0.1:{proxy_port}",  # loopback bypasses it; all else is recorded
            "--virtual-time-budget=20000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,  # a stuck browser fails the test instead of hanging the suite
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.replace("<wbr>", "")  # Scalar's line-break hints inside titles


def operations(base: str) -> list[tuple[str, str, str]]:
    spec = msgspec.json.decode(httpx.get(f"{base}/schema/openapi.json").content)
    return [
        (op["operationId"], op["summary"], path)
        for path, item in spec["paths"].items()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]


@pytest.mark.parametrize("page", ["/schema", "/schema/swagger"])
def test_docs_page_renders_every_operation_offline(db_dsn: str, tmp_path: Path, page: str) -> None:
    with proxy() as recorder, serve(db_dsn) as base:
        r = httpx.get(base + page)
        assert r.status_code == 200 and r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self';" in CONTENT_SECURITY_POLICY and "http" not in r.text.split("<body>")[1]
        dom = render(base + page, recorder.server_address[1], tmp_path / "profile")
        ops = operations(base)
    assert len(ops) > 50
    missing = [summary for _, summary, _ in ops if summary.replace("&", "&amp;") not in dom]
    assert not missing, f"{page}: {len(missing)} of {len(ops)} summaries not rendered, e.g. {missing[:5]}"
    assert "/v1/innovations/{id}/lineage" in dom or "GetInnovationLineage" in dom
    left = [line for line in recorder.seen if _host(line) not in BROWSER_OWN]
    assert left == [], f"{page} sent requests off this machine: {left[:5]}"


def _host(first_line: str) -> str:
    """``CONNECT host:443 HTTP/1.1`` or ``GET http://host/path HTTP/1.1`` -> host."""
    target = first_line.split(" ")[1] if " " in first_line else first_line
    return target.removeprefix("http://").split("/")[0].split(":")[0]


def test_docs_assets_are_pinned_files_of_the_package(db_dsn: str) -> None:
    with serve(db_dsn) as base:
        for name in ("scalar/standalone.js", "swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css"):
            r = httpx.get(f"{base}/schema/static/{name}")
            assert r.status_code == 200 and len(r.content) > 100_000, name
        assert httpx.get(f"{base}/schema/static/../pages.py").status_code == 404
