"""A local stand-in for Sentry's ingestion: a threaded HTTP server on a free 127.0.0.1 port that
records every envelope the SDK posts (https://develop.sentry.dev/sdk/envelopes/)."""

import gzip
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Envelope:
    raw: bytes
    header: dict
    items: list[tuple[dict, bytes]]

    def events(self) -> list[dict]:
        return [json.loads(payload) for item, payload in self.items if item.get("type") == "event"]


def parse_envelope(raw: bytes) -> Envelope:
    header_line, _, rest = raw.partition(b"\n")
    items = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        item = json.loads(item_line)
        if "length" in item:
            payload, rest = rest[: item["length"]], rest[item["length"] :]
            rest = rest.removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((item, payload))
    return Envelope(raw=raw, header=json.loads(header_line), items=items)


@dataclass
class FakeSentry:
    envelopes: list[Envelope] = field(default_factory=list)

    def start(self) -> "FakeSentry":
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path.endswith("/envelope/"):
                    recorder.envelopes.append(parse_envelope(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def dsn(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://publickey@{host}:{port}/42"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def events(self) -> list[dict]:
        return [event for envelope in self.envelopes for event in envelope.events()]

    def raw(self) -> bytes:
        return b"\n".join(envelope.raw for envelope in self.envelopes)
