#!/usr/bin/env python3
"""A stand-in browser for Python's `webbrowser`: signs in and consents with the scripted user agent.

    BROWSER="/work/main/.venv/bin/python /work/main/tests/helpers/browser_approve.py %s"

webbrowser runs it with the URL as its one argument and waits for it to exit (append " &" to BROWSER
to have webbrowser start it in the background instead, as a real browser returns at once). It must run
under a Python that has `requests` (the project's venv: use sys.executable in tests).

Environment: BROWSER_LOG (a file: one JSON line appended per URL opened), BROWSER_ACTION
(approve | deny | deny-login, default approve), BROWSER_LOGIN (default alice).
Exit status 0 when the client's callback answered, 1 otherwise.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.helpers.user_agent import (
    approve,
    browser_action,
    callback_summary,
    deny,
    write_browser_log,
)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: browser_approve.py URL", file=sys.stderr)
        return 2
    url = argv[1]
    action, login = browser_action()
    record: dict[str, object] = {"agent": "requests", "action": action, "url": url}
    try:
        if action == "approve":
            response = approve(url, login=login)
        else:
            response = deny(url, login=login, at="login" if action == "deny-login" else "consent")
    except Exception as exc:
        record.update(ok=False, error=f"{type(exc).__name__}: {exc}")
        write_browser_log(record)
        print(f"browser_approve: {record['error']}", file=sys.stderr)
        return 1
    record.update(ok=True, status=response.status_code, body=response.text[:2000], **callback_summary(response.url))
    write_browser_log(record)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
