"""What the browser tests share: the app served by `streamlit run` on 127.0.0.1, Debian's
Chromium through Playwright, and a recorder that blocks every off-machine request."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
MAP_FRAME = 'iframe[title="streamlit_folium\\.st_folium"]'
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    """Until the Streamlit server at `url` answers its health check; fails the test with its log if the process
    ends or `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"streamlit did not start:\n{log_path.read_text()}")
        time.sleep(0.3)


@contextmanager
def serve_app(database: Path, workdir: Path, env: Mapping[str, str] | None = None,
              script: Path = ROOT / "app.py", start_timeout: float = 60) -> Iterator[str]:
    """`streamlit run app.py` (or `script`) on a free port with its own registry and data dir;
    yields the base URL."""
    port = free_port()
    full_env = {**os.environ, "TRACKER_DATABASE": str(database), "TRACKER_DATA_DIR": str(workdir / "data"),
                "TRACKER_CONFIG": str(workdir / "none.toml"), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
                **(env or {})}
    if "TRACKER_OFFLINE" not in (env or {}):
        full_env.pop("TRACKER_OFFLINE", None)
    log_path = workdir / "streamlit.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             # no file watcher: a source file saved while a test runs must not reload modules under the app
             "--server.fileWatcherType", "none", "--server.runOnSave", "false"],
            cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc, log_path, start_timeout)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def launch_chromium() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium (make browser installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Recorder:
    """What the page tried: blocked off-machine requests, dialogs, failed local scripts/styles."""

    def __init__(self) -> None:
        self.blocked: list[tuple[str, str]] = []  # (resource type, url)
        self.dialogs: list[str] = []
        self.local_assets: list[tuple[int, str, str]] = []  # (status, content type, url)

    def route(self, route) -> None:
        request = route.request
        if urlsplit(request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.blocked.append((request.resource_type, request.url))
            route.abort("internetdisconnected")

    def dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def response(self, response) -> None:
        if response.request.resource_type in ("script", "stylesheet"):
            self.local_assets.append((response.status, response.headers.get("content-type", ""), response.url))

    def attach(self, page) -> None:
        page.route("**/*", self.route)
        page.on("dialog", self.dialog)
        page.on("response", self.response)
