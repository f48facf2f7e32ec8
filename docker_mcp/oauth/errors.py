"""OAuth failures a user can act on; each message says what to do next and never holds a secret."""

from __future__ import annotations

from ..errors import DockerMcpError


class OAuthError(DockerMcpError):
    pass


class DiscoveryError(OAuthError):
    pass


class RegistrationError(OAuthError):
    pass


class TokenError(OAuthError):
    """The token endpoint refused or failed a request."""

    def __init__(self, message: str, error: str | None = None, client_auth_rejected: bool = False) -> None:
        super().__init__(message)
        self.error = error
        self.client_auth_rejected = client_auth_rejected


class CallbackError(OAuthError):
    """The authorization response did not bring a code. `error`: the OAuth `error` it carried (RFC 6749
    §4.1.2.1), None when it carried none (a timeout, no code, a wrong `iss`)."""

    def __init__(self, message: str, error: str | None = None) -> None:
        super().__init__(message)
        self.error = error


class NotAuthorizedError(OAuthError):
    pass
