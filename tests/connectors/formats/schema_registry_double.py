"""A wire-compatible stand-in for Confluent's Schema Registry (tests only): the REST calls the
avro-confluent format makes, on 127.0.0.1 at a free port, in a thread of the test process.

- ``POST /subjects/<subject>/versions`` ``{"schema": "..."}`` → ``{"id": n}`` (the same schema
  text gets the same id, as the real registry does);
- ``GET /schemas/ids/<id>`` → ``{"schema": "..."}``, or 404 with error code 40403;
- ``GET /subjects/<subject>/versions/latest`` → ``{"subject", "version", "id", "schema"}``.
With ``user_info`` set, a request without that HTTP Basic authorization gets 401. Ids start
at a random base (as a real registry's need not start at 1), so a client's per-URL cache never
mixes two stand-ins that happened to get the same port.
"""

from __future__ import annotations

import base64
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SchemaRegistryDouble:
    def __init__(self, user_info: str | None = None) -> None:
        self.schemas: list[str] = []  # id - base -> schema text
        self.base = random.randrange(1, 1 << 24)
        self.subjects: dict[str, list[int]] = {}
        self.user_info = user_info
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                return

            def _reply(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                if registry.user_info is None:
                    return True
                expected = "Basic " + base64.b64encode(registry.user_info.encode()).decode()
                if self.headers.get("Authorization") == expected:
                    return True
                self._reply(401, {"error_code": 401, "message": "Unauthorized"})
                return False

            def do_POST(self) -> None:
                if not self._authorized():
                    return
                parts = self.path.strip("/").split("/")
                if len(parts) != 3 or parts[0] != "subjects" or parts[2] != "versions":
                    return self._reply(404, {"error_code": 404, "message": "not found"})
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                text = body["schema"]
                if text not in registry.schemas:
                    registry.schemas.append(text)
                sid = registry.schemas.index(text) + registry.base
                versions = registry.subjects.setdefault(parts[1], [])
                if sid not in versions:
                    versions.append(sid)
                self._reply(200, {"id": sid})

            def do_GET(self) -> None:
                if not self._authorized():
                    return
                parts = self.path.strip("/").split("/")
                if len(parts) == 3 and parts[:2] == ["schemas", "ids"] and parts[2].isdigit():
                    sid = int(parts[2]) - registry.base
                    if 0 <= sid < len(registry.schemas):
                        return self._reply(200, {"schema": registry.schemas[sid]})
                    return self._reply(404, {"error_code": 40403, "message": "Schema not found"})
                if len(parts) == 4 and parts[0] == "subjects" and parts[2:] == ["versions", "latest"]:
                    versions = registry.subjects.get(parts[1])
                    if versions:
                        sid = versions[-1]
                        return self._reply(200, {"subject": parts[1], "version": len(versions),
                                                 "id": sid, "schema": registry.schemas[sid - registry.base]})
                self._reply(404, {"error_code": 40401, "message": "Subject not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def register(self, subject: str, schema: dict) -> int:
        """Register directly (as another producer would)."""
        text = json.dumps(schema)
        if text not in self.schemas:
            self.schemas.append(text)
        sid = self.schemas.index(text) + self.base
        self.subjects.setdefault(subject, []).append(sid)
        return sid

    def __enter__(self) -> SchemaRegistryDouble:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
