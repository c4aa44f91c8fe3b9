"""A small fake OpenAI-compatible server with faulty behaviours, for testing our client."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _event(text: str) -> bytes:
    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fake",
             "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    return f"data: {json.dumps(chunk)}\n\n".encode()


class FaultServer:
    """mode: 'garbage' (invalid UTF-8), 'endless' (valid tokens forever), 'hang' (no reply)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.stopping = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if outer.mode == "hang":
                    outer.stopping.wait(60)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                try:
                    if outer.mode == "garbage":
                        self.wfile.write(b"data: \xff\xfe\xfa\x80\x81{bad\n\n" * 5)
                        self.wfile.flush()
                        return
                    while not outer.stopping.is_set():
                        self.wfile.write(_event("word "))
                        self.wfile.flush()
                        time.sleep(0.01)  # a fast model: 100 tokens/s, forever
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        time.sleep(0)
