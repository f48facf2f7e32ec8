"""HTTP requests that a hostile or broken server cannot stretch: one deadline for the whole exchange
(connect, headers and body), a cap on the body, and no redirect unless the caller allows it.

requests' own `timeout` bounds each socket read, so a server sending one byte every few seconds keeps a
request alive for ever; and `allow_redirects=True` re-sends a POST's body to whatever host a `307`
names. Every OAuth request (oauth/http.py) and every catalog download goes through here instead.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import socket
import sys
import threading
from typing import Any
from urllib.parse import urljoin

from .errors import terminal_safe

DEADLINE_ENV = "DOCKER_MCP_HTTP_TIMEOUT"
DEFAULT_DEADLINE_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10.0
MAX_REDIRECTS = 10
_CHUNK_BYTES = 8 * 1024  # small reads: a compressed body is checked against the cap often
_tracked = threading.local()  # the sockets of the request this worker thread is making


class ResponseRefused(Exception):
    """A response that was not used: a redirect the caller did not allow, a body over the cap, or no
    complete answer before the deadline. `reason` is one line that never holds the body or headers."""

    def __init__(self, url: str, reason: str, kind: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.kind = kind  # "redirect", "too-large" or "deadline"


MAX_DEADLINE_SECONDS = 3600.0


def deadline_seconds() -> float:
    """The whole-exchange deadline in seconds: $DOCKER_MCP_HTTP_TIMEOUT when it is a number of seconds
    in (0, 3600], else 30 (with one warning on stderr naming the value)."""
    return _deadline(os.environ.get(DEADLINE_ENV, ""))


@functools.cache
def _deadline(raw: str) -> float:
    if not raw:
        return DEFAULT_DEADLINE_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if 0 < value <= MAX_DEADLINE_SECONDS:
        return value
    sys.stderr.write(
        f"! {DEADLINE_ENV}={terminal_safe(raw)[:40]} is not a number of seconds from 0 to "
        f"{MAX_DEADLINE_SECONDS:g}: using {DEFAULT_DEADLINE_SECONDS:g}\n"
    )
    return DEFAULT_DEADLINE_SECONDS


def size_text(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n % (1024 * 1024) == 0 else f"{n} bytes"


def bounded_session_class(base: type, max_bytes: int, follow_redirects: bool = False) -> Any:
    """A subclass of the requests.Session subclass `base` (requests.Session, requests-oauthlib's
    OAuth2Session) whose every request is bounded: `deadline_seconds()` for the whole exchange,
    `max_bytes` of body (bytes, after content decoding). A redirect is refused unless `follow_redirects`
    (then GET and HEAD follow up to 10 hops, each hop's body unread, all within the one deadline).

    `request()` returns a requests.Response with its body already read, or raises ResponseRefused;
    connection failures raise requests' own exceptions, as before. `request(..., json_only=True)` (for
    discovery documents): a body whose Content-Type is given and is not JSON is not read at all — the
    connection is closed, the response comes back with an empty body and `body_skipped` True — so that,
    say, an endless `text/event-stream` costs nothing."""
    return _session_class(base, max_bytes, follow_redirects)


@functools.cache
def _session_class(base: type, max_bytes: int, follow_redirects: bool) -> Any:
    class BoundedSession(base):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            adapter = _adapter_class()()
            self.mount("http://", adapter)
            self.mount("https://", adapter)
            self.headers["Accept-Encoding"] = "identity"  # nothing to inflate past the cap

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            json_only = kwargs.pop("json_only", False)
            seconds = deadline_seconds()
            # requests would read a redirect's body without a cap, and re-send a POST's body: hops are ours
            kwargs.update(allow_redirects=False, stream=True, timeout=(min(CONNECT_TIMEOUT_SECONDS, seconds), seconds))
            send = super().request

            def exchange() -> Any:
                target = url
                for _ in range(MAX_REDIRECTS + 1):
                    response = send(method, target, *args, **kwargs)
                    if not response.is_redirect:
                        if json_only and not is_json_response(response):
                            return _unread(response)
                        return _read(response, target, max_bytes)
                    response.close()
                    if not follow_redirects or method.upper() not in ("GET", "HEAD"):
                        raise ResponseRefused(
                            target,
                            f"answered with a redirect (HTTP {response.status_code}), which is not followed for this request",
                            "redirect",
                        )
                    target = urljoin(target, response.headers["Location"])
                raise ResponseRefused(url, f"redirected more than {MAX_REDIRECTS} times", "redirect")

            return _within_deadline(exchange, url, seconds)

    BoundedSession.__name__ = f"Bounded{base.__name__}"
    return BoundedSession


def is_json_response(response: Any) -> bool:
    """Whether the response's Content-Type is JSON: `application/json` or a `+json` type (RFC 6839 §3.1),
    parameters aside. A response without a Content-Type may be JSON."""
    value = response.headers.get("Content-Type")
    if value is None:
        return True
    media_type = str(value).split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _unread(response: Any) -> Any:
    """The response with its body left unread and its connection closed."""
    response.close()
    response._content = b""
    response._content_consumed = True
    response.body_skipped = True
    return response


def _read(response: Any, url: str, max_bytes: int) -> Any:
    """Read the body into the response (bytes), refusing one over the cap."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        response.close()
        raise _too_large(url, max_bytes)
    body = bytearray()
    for chunk in response.iter_content(_CHUNK_BYTES):
        body += chunk
        if len(body) > max_bytes:
            response.close()
            raise _too_large(url, max_bytes)
    response._content = bytes(body)
    response._content_consumed = True
    return response


def _too_large(url: str, max_bytes: int) -> ResponseRefused:
    return ResponseRefused(url, f"sent more than {size_text(max_bytes)}, the most this request reads", "too-large")


def _within_deadline(work: Any, url: str, seconds: float) -> Any:
    """Run `work` in a worker thread and wait at most `seconds` for it. At the deadline the sockets it
    opened are shut down (which ends a blocked read) and ResponseRefused is raised here at once."""
    done = threading.Event()
    outcome: dict[str, Any] = {}
    sockets: list[Any] = []

    def run() -> None:
        _tracked.sockets = sockets
        try:
            outcome["value"] = work()
        except BaseException as e:  # handed to the caller's thread
            outcome["error"] = e
        finally:
            _tracked.sockets = None
            done.set()

    threading.Thread(target=run, name="bounded-http", daemon=True).start()
    if not done.wait(seconds):
        for sock in list(sockets):
            with contextlib.suppress(OSError, AttributeError, ValueError):
                sock.shutdown(socket.SHUT_RDWR)
        raise ResponseRefused(url, f"gave no complete answer within {seconds:g} s", "deadline")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _track(sock: Any) -> None:
    sockets = getattr(_tracked, "sockets", None)
    if sockets is not None and sock is not None:
        sockets.append(sock)


@functools.cache
def _adapter_class() -> Any:
    """An HTTPAdapter whose connections register their sockets with the request's worker thread, so
    the deadline can shut them down (new connections, TLS ones before and after the handshake, and
    kept-alive ones taken from the pool)."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class TrackedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> Any:
            sock = super()._new_conn()
            _track(sock)
            return sock

    class TrackedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> Any:
            sock = super()._new_conn()
            _track(sock)
            return sock

        def connect(self) -> None:
            super().connect()
            _track(self.sock)  # the TLS socket took over the plain one's descriptor

    def pool(base: Any, connection: Any) -> Any:
        class TrackedPool(base):  # type: ignore[misc]
            ConnectionCls = connection

            def _get_conn(self, timeout: float | None = None) -> Any:
                conn = super()._get_conn(timeout)
                if getattr(conn, "sock", None) is not None:
                    _track(conn.sock)
                return conn

        return TrackedPool

    pools = {
        "http": pool(HTTPConnectionPool, TrackedHTTPConnection),
        "https": pool(HTTPSConnectionPool, TrackedHTTPSConnection),
    }

    class TrackedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

    return TrackedAdapter
