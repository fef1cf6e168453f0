"""Read a published page the way a reader's browser does: headless Chromium, offline, driven over its pipe.

The tests open each page from ``file://`` in Chromium with every network request sent to a
dead proxy, then ask the page (Chrome DevTools Protocol over ``--remote-debugging-pipe``, no
extra package) what a reader would see: its width against the window, the charts plotly
drew, the visible text, what the console logged and every request that left the file
system.  :meth:`Browser.read` returns a :class:`PageReading`; :meth:`Browser.print_reading`
lays the page out as printed on A4 and returns the tables that pass its right edge.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)

# Headless, no GPU, no network: every host resolves to nothing and every request goes to a dead proxy.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)

# A4 is 210 mm wide; Chromium's default print margins are 0.4 in on each side, at 96 px per inch.
A4_PRINTABLE_PX = round(210 / 25.4 * 96 - 2 * 0.4 * 96)

_READ = """(() => {
  const doc = document.documentElement;
  const charts = [...document.querySelectorAll('.plotly-graph-div')];
  const tables = [...document.querySelectorAll('table')];
  return JSON.stringify({
    scrollWidth: Math.max(doc.scrollWidth, document.body ? document.body.scrollWidth : 0),
    clientWidth: doc.clientWidth,
    charts: charts.length,
    drawn: charts.filter(d => d.classList.contains('js-plotly-plot') && d.querySelector('svg.main-svg')).length,
    text: document.body ? document.body.innerText : '',
    wideTables: tables.filter(t => t.getBoundingClientRect().right > doc.clientWidth + 1)
      .map(t => (t.innerText || '').slice(0, 80)),
  });
})()"""

_PRINT = """(() => {
  const width = document.documentElement.clientWidth;
  return JSON.stringify([...document.querySelectorAll('table')]
    .filter(t => t.getBoundingClientRect().right > width + 1 || t.scrollWidth > t.clientWidth + 1)
    .map(t => (t.innerText || '').slice(0, 80)));
})()"""


@dataclass
class PageReading:
    """What a reader's browser saw on one page."""

    url: str
    scroll_width: int
    client_width: int
    charts: int
    drawn: int
    text: str
    wide_tables: list[str]
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)


class Browser:
    """One headless Chromium, driven over ``--remote-debugging-pipe``; use as a context manager."""

    def __init__(self, *, width: int = 1280, height: int = 900, settle: float = 15.0):
        if CHROMIUM is None:
            raise RuntimeError("Chromium is not installed (Debian package 'chromium')")
        self.width, self.height, self.settle = width, height, settle
        self._id = 0
        self._buffer = b""
        self._events: list[dict] = []

    def __enter__(self) -> Browser:
        self._profile = tempfile.TemporaryDirectory(prefix="pagecheck-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def fds() -> None:  # Chromium reads commands on fd 3 and writes replies on fd 4
            read_end = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)  # out of the way of 3 and 4 first
            write_end = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self._proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self._profile.name}", "--remote-debugging-pipe", "about:blank"],
            pass_fds=(3, 4, to_chrome_r, from_chrome_w),
            preexec_fn=fds,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._send("Browser.close")
        except Exception:  # the browser may already be gone; it is killed below either way
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        self._profile.cleanup()

    # -- protocol -------------------------------------------------------------------------
    def _message(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def _send(self, method: str, params: dict | None = None, *, session: str | None = None, timeout: float = 60):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._message(timeout)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def _open(self, url: str, *, width: int, media: str | None = None) -> str:
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self._send(f"{domain}.enable", session=session)
        self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        if media:
            self._send("Emulation.setEmulatedMedia", {"media": media}, session=session)
        self._events.clear()
        self._send("Page.navigate", {"url": url}, session=session)
        self._wait_for_load(session)
        return session

    def _wait_for_load(self, session: str) -> None:
        deadline = time.monotonic() + self.settle
        loaded = any(e.get("method") == "Page.loadEventFired" for e in self._events)
        while not loaded and time.monotonic() < deadline:
            event = self._message(deadline - time.monotonic())
            self._events.append(event)
            loaded = event.get("method") == "Page.loadEventFired" and event.get("sessionId") == session
        # plotly draws after load: wait until every chart div is drawn, or the time is up
        while time.monotonic() < deadline:
            state = self._eval(
                session,
                "[...document.querySelectorAll('.plotly-graph-div')].every(d => d.querySelector('svg.main-svg'))",
            )
            if state:
                break
            time.sleep(0.2)

    def _eval(self, session: str, expression: str):
        result = self._send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def _close(self, session: str) -> None:
        target = self._send("Target.getTargetInfo", session=session)["targetInfo"]["targetId"]
        self._send("Target.closeTarget", {"targetId": target})

    # -- readings -------------------------------------------------------------------------
    def read(self, page: Path) -> PageReading:
        """Open ``page`` in a window ``width`` pixels wide and read it as a reader would."""
        url = Path(page).resolve().as_uri()
        session = self._open(url, width=self.width)
        seen = json.loads(self._eval(session, _READ))
        errors, outside = [], []
        for event in self._events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                errors.append(json.dumps(params.get("exceptionDetails", {}))[:300])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                errors.append(params["entry"].get("text", "") + " " + params["entry"].get("url", ""))
            elif method == "Network.requestWillBeSent":
                request_url = params.get("request", {}).get("url", "")
                if not request_url.startswith(("file:", "data:", "blob:", "about:")):
                    outside.append(request_url)
        self._close(session)
        return PageReading(
            url=url,
            scroll_width=seen["scrollWidth"],
            client_width=seen["clientWidth"],
            charts=seen["charts"],
            drawn=seen["drawn"],
            text=seen["text"],
            wide_tables=seen["wideTables"],
            errors=errors,
            outside=outside,
        )

    def print_reading(self, page: Path, pdf: Path | None = None) -> list[str]:
        """Lay ``page`` out for print on A4 (portrait, default margins); the tables cut at the right edge.

        With ``pdf``, also prints the page to that file (Chromium's print-to-PDF).
        """
        url = Path(page).resolve().as_uri()
        session = self._open(url, width=A4_PRINTABLE_PX, media="print")
        cut = json.loads(self._eval(session, _PRINT))
        if pdf is not None:
            data = self._send(
                "Page.printToPDF", {"paperWidth": 210 / 25.4, "paperHeight": 297 / 25.4}, session=session, timeout=120
            )["data"]
            Path(pdf).write_bytes(base64.b64decode(data))
        self._close(session)
        return cut


def dump_dom(page: Path, profile: Path, *, budget_ms: int = 15000) -> tuple[str, str]:
    """The DOM of ``page`` after its scripts ran (``--dump-dom``), and the browser's console log."""
    run = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--virtual-time-budget={budget_ms}",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            Path(page).resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-2000:])
    return run.stdout, run.stderr


def screenshot(page: Path, shot: Path, profile: Path, *, width: int = 1280, height: int = 2000) -> None:
    """A PNG of ``page`` in a window ``width`` × ``height`` pixels."""
    run = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            "--virtual-time-budget=15000",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={shot}",
            Path(page).resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-2000:])
