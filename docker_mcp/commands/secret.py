"""docker mcp secret set | ls | rm"""

from __future__ import annotations

import sys

from ..argv import GlobalOptions
from ..errors import UsageError
from ..output import print_json, print_table
from .listing import OPTIONS as LISTING_OPTIONS
from .listing import Listing
from .spec import Argument, Command, Group, Option


def set_(g: GlobalOptions, secret: str) -> None:
    from ..secrets.named import check_name, set_secret
    from ..secrets.store import open_store

    name, sep, value = secret.partition("=")
    check_name(name)
    store = open_store(g.config)  # a missing or unusable helper is reported before the value is asked for
    check = getattr(store, "check_can_store", None)
    if check is not None:
        check()
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


def ls(g: GlobalOptions, format: str | None = None, json: bool = False, quiet: bool = False) -> None:
    from ..dockercli import home_dir
    from ..secrets.go_plugin import go_places
    from ..secrets.named import list_everywhere
    from ..secrets.store import CredentialStoreError, open_store

    # {{.Store}}: the table's STORE column
    listing = Listing("docker mcp secret ls", format, json, quiet, ("name", "provider"), aliases={"store": "provider"})
    try:
        store = open_store(g.config)
    except CredentialStoreError as e:
        # no store of ours (no credsStore, say): the Go plugin's secrets are still listed, with the reason
        # ours are not on stderr; with none of those either, the reason is the error
        theirs = list_everywhere(None, go_places(home_dir()))
        if not theirs:
            raise
        sys.stderr.write(f"Warning: {e}\n")
        store, everywhere = None, theirs
    else:
        everywhere = list_everywhere(store, go_places(home_dir(), store))
    rows = [{"name": name, "provider": where} for name, where in everywhere.items()]
    if listing.kind == "json":
        print_json(rows)
    elif listing.kind != "table":
        listing.print(rows)
    else:
        print_table(("NAME", "STORE"), [(r["name"], r["provider"]) for r in rows])


def rm(g: GlobalOptions, name: tuple[str, ...] = (), all: bool = False) -> None:
    from ..dockercli import home_dir
    from ..secrets.go_plugin import go_places, refuse_removal
    from ..secrets.named import check_name, list_names, remove, remove_all
    from ..secrets.store import open_store

    if not name and not all:
        raise UsageError("either provide a secret name or use --all to remove all secrets", "docker mcp secret rm")
    for n in name:
        check_name(n)
    store = open_store(g.config)
    if all:
        remove_all(store)  # ours only: the Go plugin's stay where it put them
        return
    ours = set(list_names(store))
    theirs = [n for n in name if n not in ours]
    if theirs:  # one of them the Go plugin's: nothing is removed, and the line says how to remove it there
        refuse_removal(go_places(home_dir(), store), theirs)
    remove(store, list(name))


GROUP = Group(
    "secret",
    "Manage secrets in the Docker credential store",
    (
        Command(
            "set",
            "Store a secret: NAME=VALUE, or NAME with the value on stdin",
            set_,
            args=(
                Argument(
                    "SECRET",
                    "NAME=VALUE, or NAME to read the value from stdin (prompted on a terminal)",
                    complete="secret-declared",
                ),
            ),
            example="docker mcp secret set slack-official.client_secret < client-secret.txt",
            long="Store a secret: NAME=VALUE, or NAME alone to read the value from stdin (asked for without echo on a terminal). Prefer stdin: a value on the command line stays in the shell's history.",
        ),
        Command(
            "ls",
            "List the secrets' names (never their values)",
            ls,
            options=LISTING_OPTIONS,
            aliases=("list",),
            long="List the names of the stored secrets and where each is: the credential store, or where Docker's Go plugin put it (docker pass, or its earlier sm_ entries), which is read but never changed. Values are never printed.",
        ),
        Command(
            "rm",
            "Remove secrets by name, or every secret with --all",
            rm,
            args=(Argument("NAME", "Secret names", variadic=True, required=False, complete="secret"),),
            options=(Option(("--all",), "Remove every secret"),),
            aliases=("remove",),
            long="Remove the named secrets, or every secret with --all, from the credential store. The Go plugin's secrets are left alone: removing one by name fails and says how to remove it there.",
        ),
    ),
    long="Manage secrets in the Docker credential store (credsStore of the Docker CLI's config.json): the values servers' catalog entries ask for by name, such as slack-official.client_secret.",
)
