"""Provider quirks, one module each: fixes of token responses, applied as requests-oauthlib compliance hooks (each
recognises its provider from the response itself, so it holds for the real provider and a stand-in alike), and
authorization-request parameters a provider needs (recognised by its authorization endpoint)."""

from __future__ import annotations

from typing import Any

from . import google, slack

HOOKS = (slack.token_response,)
AUTHORIZATION_PARAMETERS = (google.authorization_parameters,)


def fix_token_response(response: Any) -> Any:
    """Every provider's token-response fix, in order (each leaves other providers' responses alone)."""
    for hook in HOOKS:
        response = hook(response)
    return response


def authorization_parameters(authorization_endpoint: str, configured: dict[str, str]) -> dict[str, str]:
    """The extra parameters of an authorization request to `authorization_endpoint`: what its provider
    needs (Google: access_type=offline, prompt=consent), with the catalog's oauth.authorizationParameters
    (`configured`) winning over them."""
    parameters: dict[str, str] = {}
    for supply in AUTHORIZATION_PARAMETERS:
        parameters.update(supply(authorization_endpoint))
    return {**parameters, **configured}
