"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests: canned answers, streamed.

It speaks the same wire format as Ollama/vLLM (``POST /v1/chat/completions`` with
``stream: true`` answered by server-sent events) and records every request body, so tests
can assert what opsgen sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[dict[str, Any]], str]


class StubServer:
    """Serves ``answers`` in order (the last repeats), or a function of the request body."""

    def __init__(self, answers: Sequence[str] | Answer, status: int = 200) -> None:
        self.answers = answers
        self.status = status
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def _answer(self, body: dict[str, Any]) -> str:
        if callable(self.answers):
            return self.answers(body)
        return self.answers[min(len(self.requests), len(self.answers)) - 1]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                stub.requests.append(body)
                stub.headers.append(dict(self.headers))
                if self.path != "/v1/chat/completions" or stub.status != 200:
                    self.send_response(stub.status if stub.status != 200 else 404)
                    self.end_headers()
                    self.wfile.write(b'{"error": "nope"}')
                    return
                text = stub._answer(body)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = text.split(" ")
                try:
                    for i, word in enumerate(words):
                        piece = word if i == len(words) - 1 else word + " "
                        event = {"choices": [{"index": 0, "delta": {"content": piece}}]}
                        self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                        self.wfile.flush()
                    self.wfile.write(b"data: [DONE]\n\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading at the closing fence: expected

        return Handler


@contextmanager
def serve(answers: Sequence[str] | Answer, status: int = 200) -> Iterator[StubServer]:
    """Run a :class:`StubServer` in a thread for the duration of the block."""
    stub = StubServer(answers, status)
    thread = threading.Thread(target=stub.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.server.shutdown()
        stub.server.server_close()
