"""docker mcp secret set | ls | rm"""

from __future__ import annotations

import sys

from ..argv import GlobalOptions
from ..errors import UsageError
from ..output import print_json, print_table
from .spec import Argument, Command, Group, Option


def set_(g: GlobalOptions, secret: str) -> None:
    from ..secrets.named import check_name, set_secret
    from ..secrets.store import open_store

    name, sep, value = secret.partition("=")
    check_name(name)
    store = open_store(g.config)  # a missing helper is reported before the value is asked for
    if not sep:
        value = _read_value(name)
    set_secret(store, name, value)


def _read_value(name: str) -> str:
    if sys.stdin is None:
        return ""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"Value of {name}: ")
    value = sys.stdin.read()
    # One trailing newline (from echo or a file) is not part of the value.
    if value.endswith("\r\n"):
        return value[:-2]
    return value[:-1] if value.endswith("\n") else value


def ls(g: GlobalOptions, json: bool = False) -> None:
    from ..secrets.named import list_names
    from ..secrets.store import open_store

    store = open_store(g.config)
    names = list_names(store)
    if json:
        print_json([{"name": n, "provider": store.description} for n in names])
    elif names:
        print_table(("NAME", "STORE"), [(n, store.description) for n in names])


def rm(g: GlobalOptions, name: tuple[str, ...] = (), all: bool = False) -> None:
    from ..secrets.named import check_name, remove, remove_all
    from ..secrets.store import open_store

    if not name and not all:
        raise UsageError("either provide a secret name or use --all to remove all secrets", "docker mcp secret rm")
    for n in name:
        check_name(n)
    store = open_store(g.config)
    if all:
        remove_all(store)
    else:
        remove(store, list(name))


GROUP = Group(
    "secret",
    "Manage secrets in the Docker credential store",
    (
        Command(
            "set",
            "Store a secret: NAME=VALUE, or NAME with the value on stdin",
            set_,
            args=(Argument("SECRET", "NAME=VALUE, or NAME to read the value from stdin (prompted on a terminal)"),),
            example="docker mcp secret set slack-official.client_secret < client-secret.txt",
        ),
        Command(
            "ls",
            "List the secrets' names (never their values)",
            ls,
            options=(Option(("--json",), "Print JSON"),),
            aliases=("list",),
        ),
        Command(
            "rm",
            "Remove secrets by name, or every secret with --all",
            rm,
            args=(Argument("NAME", "Secret names", variadic=True, required=False),),
            options=(Option(("--all",), "Remove every secret"),),
            aliases=("remove",),
        ),
    ),
)
