"""A request body limit, answered ``413`` before the body is buffered (pure ASGI).

Contract: a request whose ``Content-Length`` exceeds ``limit`` bytes is answered
``413 {"errors": [...]}`` at once, without reading its body. Otherwise the body is read chunk
by chunk while counting; as soon as the count exceeds ``limit`` (a chunked upload, or a
client sending more than it announced) reading stops and the answer is 413. A body within the
limit is handed to the app unchanged (so the app never holds more than ``limit`` bytes of a
request). FastAPI has no such limit of its own.
"""

from __future__ import annotations

from flowsql.gateway.rest.errors import send_errors

DEFAULT_LIMIT = 1 << 20  # 1 MiB: statements are text


class BodyLimit:
    def __init__(self, app, limit: int = DEFAULT_LIMIT) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > self.limit:
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send) -> None:
        await send_errors(send, 413, f"request body too large: the limit is {self.limit} bytes")


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
