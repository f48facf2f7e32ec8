"""Provider quirks, one module each, as requests-oauthlib compliance hooks. Each recognises its
provider from the response itself, so it holds for the real provider and a stand-in alike."""

from __future__ import annotations

from typing import Any

from . import slack

HOOKS = (slack.token_response,)


def register(session: Any) -> None:
    for hook in HOOKS:
        session.register_compliance_hook("access_token_response", hook)
        session.register_compliance_hook("refresh_token_response", hook)
