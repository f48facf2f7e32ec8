"""Provider quirks, one module each, applied as requests-oauthlib compliance hooks on token responses. Each recognises its
provider from the response itself, so it holds for the real provider and a stand-in alike."""

from __future__ import annotations

from typing import Any

from . import slack

HOOKS = (slack.token_response,)


def fix_token_response(response: Any) -> Any:
    """Every provider's token-response fix, in order (each leaves other providers' responses alone)."""
    for hook in HOOKS:
        response = hook(response)
    return response
