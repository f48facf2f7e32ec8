"""What the test servers remember about each request: names and shapes, never values."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass


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
