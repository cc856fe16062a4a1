"""A local feed server for tests and the trigger benchmark: serves fixtures or bytes set by
the test, answers conditional GETs with 304, and can be told to fail (500, garbage, a
timeout) per path."""
from __future__ import annotations

import hashlib
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeFeeds:
    def __init__(self):
        self.bodies: dict[str, bytes] = {}
        self.modified: dict[str, float] = {}
        self.failures: dict[str, str] = {}  # path -> "500" | "garbage" | "timeout" | "404"
        self.requests: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeFeeds:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def publish(self, path: str, body: bytes) -> str:
        """Serve `body` at `path` from now on (a new ETag and Last-Modified); returns the URL."""
        with self.lock:
            self.bodies[path] = body
            self.modified[path] = time.time()
            self.failures.pop(path, None)
        return self.url(path)

    def fail(self, path: str, how: str) -> None:
        with self.lock:
            self.failures[path] = how

    def hits(self, path: str) -> list[dict]:
        with self.lock:
            return [headers for p, headers in self.requests if p == path]

    def _handler(self):
        feeds = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                with feeds.lock:
                    feeds.requests.append((self.path, dict(self.headers)))
                    failure = feeds.failures.get(self.path)
                    body = feeds.bodies.get(self.path)
                    modified = feeds.modified.get(self.path)
                if failure == "timeout":
                    time.sleep(3)
                    failure = "500"
                if failure in ("500", "404"):
                    self.send_response(int(failure))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if failure == "garbage":
                    body, modified = b"\x00<<not a feed>>\xff", time.time()
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                last_modified = formatdate(int(modified), usegmt=True)
                if self.headers.get("If-None-Match") == etag or (
                        not self.headers.get("If-None-Match") and self.headers.get("If-Modified-Since") == last_modified):
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", last_modified)
                self.end_headers()
                self.wfile.write(body)

        return Handler
