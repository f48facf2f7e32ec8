"""What the test servers remember about each request: names and shapes, never values."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class RecordedRequest:
    """One request as a test server saw it.

    ``params`` holds the parameter names of the query string and of a form or JSON body, in the
    order they came (a name sent twice appears twice); ``auth`` the scheme of the Authorization
    header (``"Basic"``, ``"Bearer"``) or None; ``error`` the error code the server answered with
    (an OAuth ``error``, Slack's ``{"ok": false, "error": …}``, or the ``error`` of an error
    redirect), else None. No parameter value, secret or token is ever kept.
    """

    method: str
    path: str
    params: tuple[str, ...]
    auth: str | None
    status: int
    error: str | None = None

    def has(self, *names: str) -> bool:
        return all(name in self.params for name in names)


class RequestLog:
    """A thread-safe list of RecordedRequest: servers append, tests read copies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RecordedRequest] = []

    def append(self, request: RecordedRequest) -> None:
        with self._lock:
            self._items.append(request)

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def count(self, path: str | None = None, method: str | None = None, status: int | None = None) -> int:
        return sum(
            1
            for r in self.snapshot()
            if (path is None or r.path == path)
            and (method is None or r.method == method)
            and (status is None or r.status == status)
        )

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def auth_scheme(header: str | None) -> str | None:
    """The scheme of an Authorization header, normalised to its usual capitalisation."""
    if not header:
        return None
    scheme = header.split(None, 1)[0]
    return {"basic": "Basic", "bearer": "Bearer"}.get(scheme.lower(), scheme)


class RecordingMiddleware:
    """ASGI middleware that appends each HTTP request's names and outcome to a RequestLog, never a value.

    Recorded: the query's and the body's parameter names (a form, or a JSON object or batch), the
    Authorization scheme, the status, and the error an answer names (a JSON ``error``, or the ``error`` of a
    redirect's query). ``on_rpc`` hears each JSON-RPC method a body carries. A streamed answer
    (text/event-stream) is recorded when it starts; any other answer is held back until its body is
    complete and recorded first, so a client that has its answer (even a body-less 302) finds it in the log.
    """

    MAX_BODY = 1 << 20

    def __init__(self, app: Any, log: RequestLog, on_rpc: Callable[[str], None] | None = None) -> None:
        self.app, self.log, self.on_rpc = app, log, on_rpc

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, response_body = bytearray(), bytearray()
        status, location, json_response, recorded = 0, None, False, False
        held_start: dict[str, Any] | None = None

        async def recording_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request" and len(body) < self.MAX_BODY:
                body.extend(message.get("body", b""))
            return message

        def record() -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            names = [k for k, _ in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)]
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if body and content_type == "application/x-www-form-urlencoded":
                names += [k for k, _ in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)]
            elif body:
                loaded = _json(body)
                for item in loaded if isinstance(loaded, list) else [loaded]:
                    if isinstance(item, dict):
                        names += [str(k) for k in item]
                        if self.on_rpc is not None and isinstance(item.get("method"), str):
                            self.on_rpc(item["method"])
            error: str | None = None
            if response_body:
                answer = _json(response_body)
                if isinstance(answer, dict) and isinstance(answer.get("error"), str):
                    error = answer["error"]
            elif location:
                error = dict(parse_qsl(urlsplit(location).query)).get("error")
            self.log.append(
                RecordedRequest(
                    method=scope["method"],
                    path=scope["path"],
                    params=tuple(names),
                    auth=auth_scheme(headers.get("authorization")),
                    status=status,
                    error=error,
                )
            )

        async def recording_send(message: Any) -> None:
            nonlocal status, location, json_response, held_start
            if message["type"] == "http.response.start":
                status = int(message["status"])
                content_type = b""
                for key, value in message.get("headers", []):
                    if key.lower() == b"location":
                        location = value.decode("latin-1")
                    elif key.lower() == b"content-type":
                        content_type = value.lower()
                json_response = b"json" in content_type
                if b"event-stream" in content_type:
                    record()
                    await send(message)
                else:
                    held_start = message
                return
            if message["type"] == "http.response.body":
                if json_response and status >= 400:
                    response_body.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    record()
            if held_start is not None:
                start, held_start = held_start, None
                await send(start)
            await send(message)

        try:
            await self.app(scope, recording_receive, recording_send)
        finally:
            record()


def _json(data: bytes | bytearray) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None
