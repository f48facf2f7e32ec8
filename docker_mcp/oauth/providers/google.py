"""Google's authorization server issues a refresh token only when the authorization request says
`access_type=offline`, and again for a user who consented before only with `prompt=consent`; without
them the gateway's token ends after an hour with nothing to refresh it.
https://developers.google.com/identity/protocols/oauth2/web-server#offline"""

from __future__ import annotations

from urllib.parse import urlsplit

# Google's authorization endpoint, as its discovery document names it (v2), and the older path it still serves.
AUTHORIZATION_ENDPOINTS = (
    "https://accounts.google.com/o/oauth2/v2/auth",
    "https://accounts.google.com/o/oauth2/auth",
)
OFFLINE_PARAMETERS = {"access_type": "offline", "prompt": "consent"}


def authorization_parameters(authorization_endpoint: str) -> dict[str, str]:
    """`access_type=offline` and `prompt=consent` for Google's authorization endpoint (scheme, host and
    path compared; a query is ignored), else nothing."""
    parts = urlsplit(authorization_endpoint)
    base = f"{parts.scheme}://{(parts.hostname or '').lower()}{parts.path.rstrip('/')}"
    return dict(OFFLINE_PARAMETERS) if base in AUTHORIZATION_ENDPOINTS else {}
