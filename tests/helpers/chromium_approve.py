#!/usr/bin/env python3
"""A real browser for the OAuth tests: headless Debian Chromium, driven by Playwright, signs in and consents.

As a module:   from tests.helpers.chromium_approve import approve, chromium_available
               result = approve(auth_url)   # {"url", "status", "body", "callback", "callback_query"}
As BROWSER:    BROWSER="/work/main/.venv/bin/python /work/main/tests/helpers/chromium_approve.py %s"
               (same environment as browser_approve.py: BROWSER_LOG, BROWSER_ACTION, BROWSER_LOGIN)

Playwright only drives /usr/bin/chromium (Debian's package); it never downloads a browser. Requests to
anything but loopback are aborted (oidc-provider's pages @import a web font).
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.helpers.user_agent import (
    UserAgentError,
    browser_action,
    callback_summary,
    write_browser_log,
)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000
MAX_STEPS = 10


def chromium_available() -> bool:
    """Debian's chromium and the playwright package are both installed."""
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return False
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss"):
        return True  # data:, about:, blob:
    host = (parts.hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def approve(auth_url: str, login: str = "alice", password: str = "password", action: str = "approve") -> dict[str, Any]:
    """Open auth_url in headless Chromium, sign in, consent (action "approve"), or cancel at the consent
    page ("deny") or the login page ("deny-login"); return where the browser ended: the client's callback.
    """
    if action not in ("approve", "deny", "deny-login"):
        raise ValueError(f"unknown action {action!r}")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    server = _origin(auth_url)
    callback: dict[str, Any] = {}

    def on_request(request: Any) -> None:
        if request.is_navigation_request() and _origin(request.url) != server and "requested" not in callback:
            callback["requested"] = request.url

    def on_response(response: Any) -> None:
        if response.request.is_navigation_request() and _origin(response.url) != server and "url" not in callback:
            callback.update(url=response.url, status=response.status)

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            env={**os.environ, "HOME": profile},
        )
        try:
            context = browser.new_context()
            context.set_default_timeout(TIMEOUT_MS)
            context.route("**/*", lambda route: route.continue_() if _loopback(route.request.url) else route.abort())
            page = context.new_page()
            page.on("request", on_request)
            page.on("response", on_response)
            try:
                _drive(page, auth_url, login, password, action)
            except Exception as exc:
                if "requested" in callback and "url" not in callback:
                    where = callback_summary(callback["requested"])["callback"]
                    raise UserAgentError(f"the browser could not load the client's callback {where}: {exc}") from exc
                raise
            if "url" not in callback:
                where = callback_summary(callback.get("requested", page.url))["callback"]
                raise UserAgentError(f"the browser could not load the client's callback {where} (now at {page.url})")
            body = page.locator("body").inner_text() if page.locator("body").count() else page.content()
            return {
                "url": page.url,
                "status": callback.get("status"),
                "body": body,
                **callback_summary(page.url),
            }
        finally:
            browser.close()


def _drive(page: Any, auth_url: str, login: str, password: str, action: str) -> None:
    """Sign in and consent (or cancel) until the page is off the authorization server."""
    server = _origin(auth_url)
    page.goto(auth_url, wait_until="domcontentloaded")
    for _ in range(MAX_STEPS):
        if _origin(page.url) != server:
            break
        login_input = page.locator("input[name=login]")
        consent = page.locator("form:has(input[name=prompt][value=consent]) button[type=submit]")
        if login_input.count():
            if action == "deny-login":
                with page.expect_navigation(wait_until="domcontentloaded"):
                    page.get_by_text("[ Cancel ]").click()
                continue
            login_input.fill(login)
            page.locator("input[name=password]").fill(password)
            with page.expect_navigation(wait_until="domcontentloaded"):
                page.locator("button[type=submit]").click()
        elif consent.count():
            with page.expect_navigation(wait_until="domcontentloaded"):
                if action == "deny":
                    page.get_by_text("[ Cancel ]").click()
                else:
                    consent.click()
        else:
            text = page.locator("body").inner_text()[:500]
            raise UserAgentError(f"{page.url} shows no login or consent form: {text}")
        # the last redirect may still be under way
        page.wait_for_load_state("domcontentloaded")
    else:
        raise UserAgentError(f"no redirect to the client after {MAX_STEPS} steps (last: {page.url})")
    page.wait_for_load_state("load")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: chromium_approve.py URL", file=sys.stderr)
        return 2
    url = argv[1]
    action, login = browser_action()
    record: dict[str, Any] = {"agent": "chromium", "action": action, "url": url}
    if not chromium_available():
        record.update(ok=False, error=f"{CHROMIUM} or the playwright package is not installed")
        write_browser_log(record)
        print(f"chromium_approve: {record['error']}", file=sys.stderr)
        return 1
    try:
        result = approve(url, login=login, action=action)
    except Exception as exc:
        record.update(ok=False, error=f"{type(exc).__name__}: {exc}")
        write_browser_log(record)
        print(f"chromium_approve: {record['error']}", file=sys.stderr)
        return 1
    result.pop("url", None)
    result["body"] = str(result.get("body", ""))[:2000]
    record.update(ok=True, **result)
    write_browser_log(record)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
