"""The Secrets Engine's read path, as the Go plugin speaks it (go-plugin-plumbing.md §3.6): Connect-RPC
unary over HTTP/1.1 on a unix socket, `POST /resolver.v1.ResolverService/GetSecrets` with the JSON form
of `GetSecretsRequest{pattern}` (connect-go servers take JSON as well as protobuf). One second for the
response headers, then `read_timeout` (None: no limit) for the body; a Connect `not_found` means "no such
secret"."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import DockerMcpError
from .detect import SocketHTTPConnection, secrets_engine_socket

HEADER_TIMEOUT_SECONDS = 1.0
GET_SECRETS = "/resolver.v1.ResolverService/GetSecrets"


class SecretsEngineError(DockerMcpError):
    """The Secrets Engine could not be reached, or answered with an error."""


@dataclass(frozen=True)
class Envelope:
    """One secret as the engine resolves it."""

    id: str
    value: bytes = field(repr=False)
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def expiry(self) -> datetime | None:
        """`metadata.ExpiryAt` (RFC 3339), which Desktop sets on the OAuth tokens it holds."""
        raw = self.metadata.get("ExpiryAt")
        if not raw:
            return None
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None


class SecretsEngineClient:
    def __init__(self, home: str, timeout: float = HEADER_TIMEOUT_SECONDS, read_timeout: float | None = None) -> None:
        self.socket = secrets_engine_socket(home)
        self.timeout = timeout
        self.read_timeout = read_timeout

    def get_secrets(self, pattern: str) -> list[Envelope]:
        """The secrets whose IDs match `pattern` (an exact ID, or a `**` pattern); none is an empty list."""
        answer = self._call(GET_SECRETS, {"pattern": pattern})
        envelopes = answer.get("envelopes") if isinstance(answer, dict) else None
        return [_envelope(e) for e in envelopes or [] if isinstance(e, dict)]

    def get_secret(self, secret_id: str) -> Envelope | None:
        """The secret with this exact ID, or None (the first envelope, as the Go plugin takes it)."""
        found = self.get_secrets(secret_id)
        return found[0] if found else None

    def _call(self, procedure: str, message: dict[str, Any]) -> Any:
        body = json.dumps(message, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "Connect-Protocol-Version": "1"}
        connection = SocketHTTPConnection(self.socket, self.timeout)
        try:
            try:
                connection.connect()
            except OSError as e:
                raise SecretsEngineError(
                    f"secrets engine is not available: cannot connect to {self.socket}: {e.strerror or e}"
                ) from None
            try:
                connection.request("POST", procedure, body=body, headers=headers)
                response = connection.getresponse()
                if connection.sock is not None:
                    connection.sock.settimeout(self.read_timeout)  # `timeout` is for the headers only
                status, data = response.status, response.read()
            except OSError as e:
                raise SecretsEngineError(f"failed to query Secrets Engine: {e.strerror or e}") from None
        finally:
            connection.close()
        if status == 200:
            try:
                return json.loads(data) if data.strip() else {}
            except ValueError:
                raise SecretsEngineError("failed to query Secrets Engine: its answer is not JSON") from None
        code, text = _connect_error(data)
        if code == "not_found":
            return {}
        raise SecretsEngineError(f"failed to query Secrets Engine: {code or f'HTTP {status}'}: {text}")


def _envelope(data: dict[str, Any]) -> Envelope:
    raw = data.get("value") or ""
    try:
        # protobuf's JSON form of bytes: base64, standard or URL-safe, padded or not
        value = base64.b64decode(str(raw).replace("-", "+").replace("_", "/") + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise SecretsEngineError(
            f"the Secrets Engine sent {data.get('id')!r} with a value that is not base64"
        ) from None
    metadata = data.get("metadata")
    return Envelope(
        id=str(data.get("id") or ""),
        value=value,
        metadata={str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {},
    )


def _connect_error(body: bytes) -> tuple[str, str]:
    """A Connect error's code and message (`{"code": "not_found", "message": "…"}`)."""
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        return "", " ".join(text.split())[:300]
    if not isinstance(data, dict):
        return "", " ".join(text.split())[:300]
    code, message = data.get("code"), data.get("message")
    return (code if isinstance(code, str) else ""), (message if isinstance(message, str) else "")
