"""A small headless-Chromium driver for the browser tests: the DevTools protocol over a pipe.

Chromium is started with ``--remote-debugging-pipe``: it reads protocol messages (JSON, each
ended by a NUL byte) from file descriptor 3 and writes to 4. No port, no websocket, no extra
package: only the Debian ``chromium`` binary (``.ci/run`` installs it when it can).

    with Browser.launch() as b:
        page = b.new_page()
        page.goto("file:///tmp/x.html")
        page.evaluate("document.title")

:func:`find_chromium` returns the binary or None; :func:`skip_reason` says why the browser
tests cannot run here (None when they can).
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
         "--remote-debugging-pipe")


def find_chromium():
    """The path of a Chromium/Chrome binary on PATH (``$CHROMIUM`` first), or None."""
    env = os.environ.get("CHROMIUM")
    if env and shutil.which(env):
        return shutil.which(env)
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


_REASON = {}


def skip_reason():
    """Why the browser tests cannot run here, or None (checked once: a launch and a close)."""
    if "r" in _REASON:
        return _REASON["r"]
    exe = find_chromium()
    if exe is None:
        reason = ("no Chromium on PATH (install Debian's `chromium`, as .ci/run does with apt, "
                  "or set CHROMIUM)")
    else:
        try:
            with Browser.launch(exe) as b:
                b.send("Browser.getVersion")
            reason = None
        except Exception as e:  # noqa: BLE001 - the reason is reported as the skip message
            reason = f"Chromium at {exe} does not start headless here: {type(e).__name__}: {e}"
    _REASON["r"] = reason
    return reason


class CDPError(RuntimeError):
    """The browser answered a command with an error, or did not answer in time."""


def _high_fd(fd):
    new = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return new


class Browser:
    """One headless Chromium with its own empty profile folder; use as a context manager."""

    def __init__(self, proc, to_browser, from_browser, profile):
        self.proc, self._w, self._r, self.profile = proc, to_browser, from_browser, profile
        self._next = 0
        self._replies = {}
        self.events = []
        self._cv = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def launch(cls, exe=None, width=1400, height=1000):
        """Start Chromium (``exe`` or :func:`find_chromium`) headless, with a fresh profile."""
        exe = exe or find_chromium()
        if exe is None:
            raise FileNotFoundError("no Chromium found")
        profile = tempfile.mkdtemp(prefix="cdp-profile-")
        r_in, w_in = (_high_fd(fd) for fd in os.pipe())    # we write, the browser reads (fd 3)
        r_out, w_out = (_high_fd(fd) for fd in os.pipe())  # the browser writes (fd 4), we read

        def child():
            os.dup2(r_in, 3)
            os.dup2(w_out, 4)

        proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={profile}",
                                 f"--window-size={width},{height}", "about:blank"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, pass_fds=(3, 4), preexec_fn=child)
        os.close(r_in)
        os.close(w_out)
        return cls(proc, w_in, r_out, profile)

    # --- protocol
    def _read(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self._r, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cv:
                    self._closed = True
                    self._cv.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                with self._cv:
                    if "id" in msg:
                        self._replies[msg["id"]] = msg
                    else:
                        self.events.append(msg)
                    self._cv.notify_all()

    def send(self, method, params=None, session=None, timeout=20.0):
        """Send one command; return its result (CDPError on an error or after ``timeout`` s)."""
        with self._cv:
            self._next += 1
            cid = self._next
        msg = {"id": cid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        end = time.monotonic() + timeout
        with self._cv:
            while cid not in self._replies:
                left = end - time.monotonic()
                if left <= 0 or getattr(self, "_closed", False):
                    raise CDPError(f"{method}: no answer from the browser")
                self._cv.wait(left)
            reply = self._replies.pop(cid)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def wait_event(self, method, session=None, since=0, timeout=20.0):
        """The first event ``method`` (of ``session``) at index >= ``since`` of :attr:`events`."""
        end = time.monotonic() + timeout
        with self._cv:
            while True:
                for ev in self.events[since:]:
                    if ev.get("method") == method and (session is None or ev.get("sessionId") == session):
                        return ev
                left = end - time.monotonic()
                if left <= 0:
                    raise CDPError(f"no {method} event within {timeout} s")
                self._cv.wait(left)

    def new_page(self, width=1400, height=1000):
        """A new tab with Runtime, Log, Page and Network events on: a :class:`Page`."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Runtime", "Log", "Page", "Network"):
            page.send(f"{domain}.enable")
        page.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        return page

    # --- life
    def close(self):
        """Close the browser and remove its profile folder."""
        try:
            self.send("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - it may be gone already
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._w, self._r):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Page:
    """One tab of a :class:`Browser` (a flattened CDP session)."""

    def __init__(self, browser, session):
        self.browser, self.session = browser, session
        self.start = len(browser.events)

    def send(self, method, params=None, timeout=20.0):
        return self.browser.send(method, params, self.session, timeout)

    def events(self, method=None):
        """This page's events since it was opened (or last :meth:`goto`), optionally of one kind."""
        return [e for e in self.browser.events[self.start:]
                if e.get("sessionId") == self.session and (method is None or e["method"] == method)]

    def offline(self, on=True):
        """Emulate a browser without network (every request fails)."""
        self.send("Network.emulateNetworkConditions",
                  {"offline": on, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})

    def goto(self, url, timeout=20.0):
        """Open ``url`` and wait for its load event."""
        self.start = len(self.browser.events)
        self.send("Page.navigate", {"url": url})
        self.browser.wait_event("Page.loadEventFired", self.session, self.start, timeout)

    def evaluate(self, expression):
        """The value of a JavaScript expression (JSON-able); CDPError if it throws."""
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                             "awaitPromise": True})
        if "exceptionDetails" in res:
            d = res["exceptionDetails"]
            raise CDPError(f"JavaScript error: {d.get('exception', {}).get('description') or d.get('text')}")
        return res["result"].get("value")

    def hover(self, selector):
        """Move the mouse over the centre of the first element matching ``selector``."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return null; e.scrollIntoView({block: 'center', inline: 'center'});"
            " const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        if box is None:
            raise CDPError(f"hover: nothing matches {selector!r}")
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": box[0], "y": box[1]})

    def click(self, selector):
        """A left click at the centre of the first element matching ``selector``."""
        self.hover(selector)
        box = self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1],
                                                   "button": "left", "clickCount": 1})

    def errors(self):
        """Console errors, uncaught exceptions and error log entries seen on this page."""
        out = []
        for e in self.events():
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append(d.get("exception", {}).get("description") or d.get("text"))
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description"))) for a in p.get("args", [])))
            elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(p["entry"].get("text"))
        return out

    def screenshot(self, path):
        """Save a PNG of the whole page (not only the window) to ``path``."""
        self.evaluate("window.scrollTo(0, 0)")   # sticky parts at their place in a full-page shot
        m = self.send("Page.getLayoutMetrics")
        size = m.get("cssContentSize") or m["contentSize"]
        w, h = int(size["width"]), int(min(size["height"], 8000))
        data = self.send("Page.captureScreenshot",
                         {"format": "png", "captureBeyondViewport": True,
                          "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1}})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path
