"""A scripted user agent for oidc-provider's devInteractions pages: sign in, then consent (or cancel).

    response = approve(auth_url)            # the client's callback page (GET redirect_uri?code=…&state=…)
    response = deny(auth_url)               # the callback with error=access_denied

It speaks plain HTTP with requests (no JavaScript), parses the forms with html.parser, and stops at the
first redirect that leaves the authorization server (scheme, host and port differ from the URL it
started at): that redirect is followed once, and its response returned.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests

MAX_STEPS = 20
TIMEOUT = 30


class UserAgentError(AssertionError):
    """The authorization server answered something this user agent cannot go on from."""


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Link:
    href: str
    text: str = ""


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.links: list[Link] = []
        self.text: list[str] = []
        self._form: Form | None = None
        self._link: Link | None = None
        self._skip = 0  # inside <style> or <script>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("style", "script"):
            self._skip += 1
        elif tag == "form":
            self._form = Form(action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms.append(self._form)
        elif tag in ("input", "button", "textarea", "select") and self._form is not None and a.get("name"):
            if a.get("type", "").lower() not in ("submit", "button", "image", "reset"):
                self._form.fields[a["name"]] = a.get("value", "")
        elif tag == "a" and "href" in a:
            self._link = Link(a["href"])
            self.links.append(self._link)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip = max(0, self._skip - 1)
        elif tag == "form":
            self._form = None
        elif tag == "a":
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._link is not None:
            self._link.text += data
        if data.strip():
            self.text.append(data.strip())


def parse_page(html: str) -> _PageParser:
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    return parser


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _snippet(response: requests.Response) -> str:
    try:
        text = " ".join(parse_page(response.text).text)
    except Exception:
        text = response.text
    return re.sub(r"\s+", " ", text)[:500]


def _walk(
    auth_url: str,
    *,
    login: str,
    password: str,
    action: str,
    session: requests.Session | None,
    follow_callback: bool = True,
) -> requests.Response:
    if action not in ("approve", "deny", "deny-login"):
        raise ValueError(f"unknown action {action!r}")
    s = session
    if s is None:
        s = requests.Session()
        s.trust_env = False  # loopback only: no proxy from the environment
    server = _origin(auth_url)
    method, url, data = "GET", auth_url, None
    for _ in range(MAX_STEPS):
        response = s.request(method, url, data=data, allow_redirects=False, timeout=TIMEOUT)
        if response.is_redirect:
            url = urljoin(response.url, response.headers["Location"])
            method, data = "GET", None
            if _origin(url) != server:
                # the client's redirect_uri: the last step, whatever it answers
                return s.get(url, timeout=TIMEOUT) if follow_callback else response
            continue
        if response.status_code != 200 or "html" not in response.headers.get("Content-Type", ""):
            raise UserAgentError(
                f"{response.request.method} {url} answered {response.status_code}: {_snippet(response)}"
            )
        page = parse_page(response.text)
        form = next((f for f in page.forms if "prompt" in f.fields), None)
        if form is None:
            raise UserAgentError(f"{url} shows no login or consent form: {_snippet(response)}")
        prompt = form.fields["prompt"]
        if (action == "deny" and prompt == "consent") or (action == "deny-login" and prompt == "login"):
            cancel = next((link for link in page.links if "/abort" in link.href or "Cancel" in link.text), None)
            if cancel is None:
                raise UserAgentError(f"{url} has no cancel link: {_snippet(response)}")
            method, url, data = "GET", urljoin(response.url, cancel.href), None
            continue
        fields = dict(form.fields)
        if prompt == "login":
            fields["login"] = login
            fields["password"] = password
        elif prompt != "consent":
            raise UserAgentError(f"{url} asks for an unknown prompt {prompt!r}")
        method, url, data = form.method.upper(), urljoin(response.url, form.action or response.url), fields
        if method == "GET":
            raise UserAgentError(f"{url}: the {prompt} form is not a POST form")
    raise UserAgentError(f"no redirect to the client after {MAX_STEPS} steps (last: {url})")


def approve(
    auth_url: str,
    login: str = "alice",
    password: str = "password",
    session: requests.Session | None = None,
    follow_callback: bool = True,
) -> requests.Response:
    """Sign in as `login`, consent, and return the response of the client's redirect_uri (its callback page).

    follow_callback=False: return the authorization server's redirect to the client instead (nothing
    needs to listen on redirect_uri; callback_params(response) reads code, state, iss or error from it).
    """
    return _walk(
        auth_url, login=login, password=password, action="approve", session=session, follow_callback=follow_callback
    )


def deny(
    auth_url: str,
    login: str = "alice",
    at: str = "consent",
    session: requests.Session | None = None,
    follow_callback: bool = True,
) -> requests.Response:
    """Sign in, then cancel at the consent page (at="login": cancel at the login page instead).

    oidc-provider redirects to the client with error=access_denied; returns the callback's response.
    """
    action = {"consent": "deny", "login": "deny-login"}[at]
    return _walk(
        auth_url, login=login, password="password", action=action, session=session, follow_callback=follow_callback
    )


def callback_params(response: requests.Response) -> dict[str, str]:
    """The query of the redirect to the client (follow_callback=False) or of the callback's own URL."""
    url = urljoin(response.url, response.headers["Location"]) if response.is_redirect else response.url
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


# -- shared by the BROWSER scripts (browser_approve.py, chromium_approve.py) --


def callback_summary(url: str) -> dict[str, Any]:
    """Where the callback went, without the authorization code's value."""
    parts = urlsplit(url)
    query = {k: ("<redacted>" if k == "code" else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)}
    return {"callback": f"{parts.scheme}://{parts.netloc}{parts.path}", "callback_query": query}


def write_browser_log(record: dict[str, Any]) -> None:
    """Append one JSON line to the file named by BROWSER_LOG (if set)."""
    path = os.environ.get("BROWSER_LOG")
    if not path:
        return
    record = {"time": time.time(), "pid": os.getpid(), **record}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def browser_action() -> tuple[str, str]:
    """BROWSER_ACTION (approve | deny | deny-login, default approve) and BROWSER_LOGIN (default alice)."""
    action = os.environ.get("BROWSER_ACTION", "approve")
    if action not in ("approve", "deny", "deny-login"):
        raise SystemExit(f"BROWSER_ACTION must be approve, deny or deny-login, not {action!r}")
    return action, os.environ.get("BROWSER_LOGIN", "alice")
