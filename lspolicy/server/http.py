"""The HTTP front: a threaded stdlib server speaking HTTP/1.1 with keep-alive, handing each
request to `Service.handle`. It enforces the size limit before reading a body."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lspolicy.server.app import JSON_TYPE, Service
from lspolicy.server.auth import ReceivedRequest
from lspolicy.server.errors import ApiError

__all__ = ["MAX_BODY", "LightsailServer", "serve_in_thread"]

log = logging.getLogger("lspolicy.server")
MAX_BODY = 64 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes; with Nagle's algorithm on, the second waits for
    # the client's delayed ACK (~40 ms per call on a kept-alive connection)
    disable_nagle_algorithm = True
    server: LightsailServer

    def log_message(self, format: str, *args: Any) -> None:
        # `serve --verbose` sets INFO: "log every request" means this line, for each one
        log.info("%s " + format, self.address_string(), *args)

    def _send(self, status: int, body: bytes, headers: tuple[tuple[str, str], ...]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _reject(self, error: ApiError) -> None:
        self.server.service.log_rejection(error, self.headers.get("X-Amz-Target") or "")
        self.close_connection = True
        self._send(
            error.status,
            json.dumps(error.body()).encode(),
            (
                ("Content-Type", JSON_TYPE),
                ("x-amzn-ErrorType", error.code),
                ("Connection", "close"),
            ),
        )

    def do_POST(self) -> None:
        raw_length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            self._reject(
                ApiError("InvalidInputException", "Chunked request bodies are not supported.")
            )
            return
        try:
            length = int(raw_length) if raw_length is not None else 0
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._reject(
                ApiError(
                    "InvalidInputException", f"The request body must be at most {MAX_BODY} bytes."
                )
            )
            return
        body = self.rfile.read(length) if length else b""
        request = ReceivedRequest.from_target("POST", self.path, list(self.headers.items()), body)
        response = self.server.service.handle(request, source_ip=self.client_address[0])
        self._send(response.status, response.body, response.headers)

    def do_GET(self) -> None:
        self._reject(
            ApiError("InvalidInputException", "Lightsail's JSON protocol takes POST requests.")
        )


class LightsailServer(ThreadingHTTPServer):
    """The emulated endpoint bound to ``(host, port)`` (port 0 picks a free one)."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: a burst of concurrent clients (16 boto3
    # threads in the concurrency tests) overflowed it and saw connections reset
    request_queue_size = 256

    def __init__(self, service: Service, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.service = service

    @property
    def url(self) -> str:
        """``http://host:port``, ready for ``endpoint_url``."""
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{name}:{port}"


def serve_in_thread(server: LightsailServer) -> threading.Thread:
    """Start serving on a daemon thread; stop with ``server.shutdown()``."""
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="lspolicy-serve",
        daemon=True,
    )
    thread.start()
    return thread
