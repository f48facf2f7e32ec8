"""Shell completion: the answer to cobra's hidden `__complete` command.

The docker CLI completes a plugin's command line by running the plugin: `docker __complete mcp server e`
runs `docker-mcp __complete mcp server e` (docker/cli cli-plugins/manager/cobra.go, the plugin stub's
ValidArgsFunction: the plugin path, `__complete`, the plugin name, the words typed so far, then the word
being completed, `''` when it is empty) and prints the plugin's stdout as its own. The answer is cobra's
protocol (spf13/cobra completions.go): one candidate a line, optionally a tab and a description, then
`:<directive>`; stderr gets `Completion ended with directive: …`, which the shell scripts discard.

Candidates follow cobra's rules: subcommands with their short help, `--`/`-` flags not given yet, flag
values from the option's choices, and names read from local files only (catalogs, registry, the Docker
CLI config, the credential helper's list of keys; never a secret's value, never a container or the
network). A completion never fails loudly: on any error the answer is no candidates, directive 4.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from .argv import GlobalOptions
from .commands import ROOT
from .commands.spec import Command, Group, Option

if TYPE_CHECKING:
    from .catalog.schema import Server
    from .catalog.store import McpDir
    from .secrets.store import CredentialStore

# ShellCompDirective bits (cobra completions.go)
ERROR, NO_SPACE, NO_FILE_COMP, FILTER_FILE_EXT, FILTER_DIRS, KEEP_ORDER = 1, 2, 4, 8, 16, 32
DEFAULT = 0  # the shell's own completion (file names) when there is no candidate
_DIRECTIVE_NAMES = (
    (ERROR, "ShellCompDirectiveError"),
    (NO_SPACE, "ShellCompDirectiveNoSpace"),
    (NO_FILE_COMP, "ShellCompDirectiveNoFileComp"),
    (FILTER_FILE_EXT, "ShellCompDirectiveFilterFileExt"),
    (FILTER_DIRS, "ShellCompDirectiveFilterDirs"),
    (KEEP_ORDER, "ShellCompDirectiveKeepOrder"),
)

# What an Argument's `complete` may name (commands/spec.py): "" offers nothing, "file" the shell's file names.
KINDS = frozenset(
    {
        "",
        "file",
        "catalog",  # the configured catalogs
        "server",  # every server of the configured catalogs
        "server-enabled",
        "server-not-enabled",
        "oauth-server",  # remote servers with an `oauth` block
        "secret",  # names in the credential store, never values
        "secret-declared",  # secrets the enabled servers declare, for `secret set NAME=…`
        "feature-enabled",
        "feature-disabled",
        "tool",  # the tools the catalogs declare for the served servers (the gateway is not started)
        "command",  # a group or command of the tree, word after word (`help server enable`)
    }
)
# Option values that name things; options are matched by their long flag (Option has no `complete`).
_OPTION_KINDS = {"--servers": "server", "--catalog": "catalog", "--additional-catalog": "catalog"}
_FILE_METAVARS = frozenset({"FILE", "FILES", "PATHS"})
# A --format without choices also takes a Go template; its named formats (commands/listing.py) are offered.
_NAMED_FORMATS = (("json", "JSON"), ("table", "The command's table (the default)"))
_HELP_FLAGS = ("--help", "-h")


class Answer(NamedTuple):
    """Candidates as (value, description) pairs and the ShellCompDirective bits."""

    candidates: list[tuple[str, str]]
    directive: int


NOTHING = Answer([], NO_FILE_COMP)


class Names:
    """Where completion finds names: the catalog files under ~/.docker/mcp (`mcp`), the Docker CLI config
    dir (`config_dir`, features) and the credential store (`store`, opened only for secret names); `mcp`
    and `store` are called when a name is wanted, so that completing a command imports neither.
    `of(kind)` returns (name, description) pairs; errors from the sources propagate (DockerMcpError)."""

    def __init__(self, mcp: Callable[[], McpDir], config_dir: str | None, store: Callable[[], CredentialStore]) -> None:
        self.mcp, self.config_dir, self.store = mcp, config_dir, store

    def of(self, kind: str, servers: Sequence[str] = ()) -> list[tuple[str, str]]:
        """`servers`: the --servers given on the command line (they choose whose tools are offered)."""
        if kind == "catalog":
            return [(name, entry.display_name) for name, entry in sorted(self.mcp().read_index().items())]
        if kind.startswith("server") or kind == "oauth-server":
            return self._servers(kind)
        if kind == "secret":
            from .secrets.named import list_names

            return [(name, "") for name in list_names(self.store())]
        if kind == "secret-declared":
            catalog = self._catalog()
            return sorted(
                {(s.name, f"a secret of {n}") for n in self._enabled() if n in catalog for s in catalog[n].secrets}
            )
        if kind in ("feature-enabled", "feature-disabled"):
            from .features import list_features

            wanted = kind == "feature-enabled"
            return [
                (f.name, f.description or "") for f in list_features(self.config_dir) if f.known and f.enabled == wanted
            ]
        if kind == "tool":
            return self._tools(servers)
        return []

    def _catalog(self) -> dict[str, Server]:
        return {name: server for name, (_, server) in self.mcp().all_servers().items()}

    def _enabled(self) -> list[str]:
        from .catalog.registry import enabled_names

        return enabled_names(self.mcp())

    def _servers(self, kind: str) -> list[tuple[str, str]]:
        catalog = self._catalog()
        if kind == "server-enabled":
            return [(n, catalog[n].description if n in catalog else "") for n in self._enabled()]
        if kind == "server-not-enabled":
            enabled = set(self._enabled())
            return [(n, s.description) for n, s in sorted(catalog.items()) if n not in enabled]
        if kind == "oauth-server":
            return [(n, s.description) for n, s in sorted(catalog.items()) if s.type == "remote" and s.oauth]
        return [(n, s.description) for n, s in sorted(catalog.items())]

    def _tools(self, servers: Sequence[str]) -> list[tuple[str, str]]:
        """As `tools ls` would name them (the catalog prefix, tool-name-prefix, tools.yaml), from the tools
        each catalog entry lists; a server whose entry lists none contributes none."""
        from .features import is_enabled
        from .gateway.config import load_config

        config = load_config(self.mcp(), servers, prefix_all=is_enabled(self.config_dir, "tool-name-prefix"))
        return sorted(
            (config.exposed_name(name, str(tool["name"])), str(tool.get("description") or ""))
            for name, server in config.servers.items()
            for tool in server.tools
            if "name" in tool and config.tool_enabled(name, str(tool["name"]))
        )


def complete(words: Sequence[str], names: Names, root: Group = ROOT) -> Answer:
    """The candidates for the last of `words` (the arguments of `mcp`, the last one being typed, possibly
    empty), as cobra computes them for a command tree (completions.go, getCompletions)."""
    *given, current = list(words) or [""]
    node: Group | Command = root
    for i, word in enumerate(given):
        if isinstance(node, Command):
            return _complete_command(node, given[i:], current, names, root)
        if word in _HELP_FLAGS:
            return NOTHING
        if word.startswith("-"):
            continue  # a flag of the group itself (mcp --version)
        child = node.child(word)
        if child is None:
            return NOTHING
        node = child
    if isinstance(node, Command):
        return _complete_command(node, [], current, names, root)
    if current.startswith("-"):
        return Answer(_flag_names(node.name, node.options, set(), current), NO_FILE_COMP)
    return _subcommands(node, current)


def _subcommands(group: Group, current: str) -> Answer:
    found = []
    for c in group.commands:
        if c.name.startswith(current):
            found.append((c.name, c.short))
        elif current:  # an alias only when it is what was typed: `server rem` -> remove
            found += [(a, c.short) for a in c.aliases if a.startswith(current)]
    return Answer(found, NO_FILE_COMP)


def _command_path(root: Group, words: list[str], current: str) -> Answer:
    """`help COMMAND…`: the commands under the group the words lead to."""
    node: Group | Command | None = root
    for word in words:
        node = node.child(word) if isinstance(node, Group) else None
    return _subcommands(node, current) if isinstance(node, Group) else NOTHING


class _Parsed(NamedTuple):
    positional: list[str]
    seen: set[str]  # Option.dest of the options given
    values: dict[str, list[str]]  # Option.dest -> the values given
    after_dashes: bool
    pending: Option | None  # the last word is an option whose value is being typed now


def _parse(command: Command, words: list[str]) -> _Parsed:
    parsed = _Parsed([], set(), {}, False, None)
    pending: Option | None = None
    after_dashes = False
    for word in words:
        if pending is not None:
            parsed.values.setdefault(pending.dest, []).append(word)
            pending = None
        elif after_dashes or word == "-" or not word.startswith("-"):
            parsed.positional.append(word)
        elif word == "--":
            after_dashes = True
        else:
            name, eq, value = word.partition("=")
            option = _option(command.options, name)
            if option is None:
                continue  # an unknown flag: the command will say so when it runs
            parsed.seen.add(option.dest)
            if eq:
                parsed.values.setdefault(option.dest, []).append(value)
            elif not option.is_flag:
                pending = option
    return parsed._replace(after_dashes=after_dashes, pending=pending)


def _complete_command(command: Command, words: list[str], current: str, names: Names, root: Group) -> Answer:
    parsed = _parse(command, words)
    if any(w in _HELP_FLAGS for w in words[: words.index("--") if "--" in words else None]):
        return NOTHING  # as cobra: nothing more to complete once help is asked for
    servers = _split(parsed.values.get("servers", []))
    if parsed.pending is not None:
        return _option_values(parsed.pending, current, names, servers)
    if not parsed.after_dashes and current.startswith("-") and current != "-":
        name, eq, value = current.partition("=")
        if eq:
            option = _option(command.options, name)
            if option is None:
                return NOTHING
            if option.is_flag:
                return _matching([("true", ""), ("false", "")], value, NO_FILE_COMP)
            return _option_values(option, value, names, servers)
    if not parsed.after_dashes and current.startswith("-"):
        return Answer(_flag_names(command.name, command.options, parsed.seen, current), NO_FILE_COMP)
    index = len(parsed.positional)
    if index < len(command.args):
        argument = command.args[index]
    elif command.args and command.args[-1].variadic:
        argument = command.args[-1]
    else:
        return NOTHING
    if argument.complete == "file":
        return Answer([], DEFAULT)
    if not argument.complete:
        return NOTHING
    if argument.complete == "command":
        return _command_path(root, parsed.positional, current)
    given = set(parsed.positional)
    found = [(n, d) for n, d in names.of(argument.complete, servers) if n not in given]
    return _matching(found, current, NO_FILE_COMP | (NO_SPACE if argument.complete == "secret-declared" else 0))


def _option(options: tuple[Option, ...], flag: str) -> Option | None:
    return next((o for o in options if flag in o.flags), None)


def _flag_names(name: str, options: tuple[Option, ...], seen: set[str], current: str) -> list[tuple[str, str]]:
    """cobra's getFlagNameCompletions: the long form, then the short one, of each flag not given yet
    (a flag that may be repeated is always offered), and cobra's own --help/-h."""
    found = []
    for option in [*options, Option(_HELP_FLAGS, f"help for {name}")]:
        if option.dest in seen and not option.multiple:
            continue
        longs = [f for f in option.flags if f.startswith("--")]
        shorts = [f for f in option.flags if not f.startswith("--")]
        found += [(f, option.help) for f in [*longs, *shorts] if f.startswith(current)]
    return found


def _option_values(option: Option, value: str, names: Names, servers: list[str]) -> Answer:
    if option.choices:
        return _matching([(c, "") for c in option.choices], value, NO_FILE_COMP)
    if "--format" in option.flags:
        return _matching(list(_NAMED_FORMATS), value, NO_FILE_COMP)
    kind = _OPTION_KINDS.get(max(option.flags, key=len), "")
    if kind:
        if not option.multiple:
            return _matching(names.of(kind), value, NO_FILE_COMP)
        # a comma-separated list: complete its last item, keeping the ones before it
        head, _, last = value.rpartition(",")
        before = head.split(",") if head else []
        prefix = head + "," if head else ""
        found = [(prefix + n, d) for n, d in names.of(kind) if n not in before]
        return _matching(found, prefix + last, NO_FILE_COMP | (NO_SPACE if head else 0))
    if option.metavar in _FILE_METAVARS:
        return Answer([], DEFAULT)
    return NOTHING


def _split(values: list[str]) -> list[str]:
    return [n for v in values for n in v.split(",") if n]


def _matching(candidates: list[tuple[str, str]], prefix: str, directive: int) -> Answer:
    return Answer([(n, d) for n, d in candidates if n.startswith(prefix)], directive)


def render(answer: Answer, descriptions: bool = True) -> str:
    """The protocol's stdout: `value<TAB>description` lines (a description is one line, whitespace
    collapsed, at most 80 characters), then `:<directive>`. A value with whitespace or a control
    character cannot be one shell word and is left out."""
    lines = []
    for value, description in answer.candidates:
        if not value or any(c.isspace() or not c.isprintable() for c in value):
            continue
        text = " ".join("".join(c if c.isprintable() else " " for c in description).split()) if descriptions else ""
        if len(text) > 80:
            text = text[:77] + "..."
        lines.append(f"{value}\t{text}" if text else value)
    return "".join(line + "\n" for line in lines) + f":{answer.directive}\n"


def describe(directive: int) -> str:
    """cobra's ShellCompDirective.string(): the names of the bits set."""
    return ", ".join(n for bit, n in _DIRECTIVE_NAMES if directive & bit) or "ShellCompDirectiveDefault"


def answer(opts: GlobalOptions, args: list[str]) -> int:
    """Run `__complete WORDS…` (or `__completeNoDesc`): WORDS as the docker CLI passes them (`mcp` first,
    then what was typed after it, the last being the word to complete) or, run directly, without `mcp`.
    Prints the answer and returns 0, whatever happens (an exit code other than 0 makes the docker CLI
    print a directive of its own after ours)."""
    try:
        result = _answer(opts, args[1:])
    except Exception:  # a completion never fails loudly
        if opts.debug:
            import traceback

            traceback.print_exc(file=sys.stderr)
        result = NOTHING
    sys.stdout.write(render(result, descriptions=args[0] == "__complete"))
    sys.stdout.flush()
    sys.stderr.write(f"Completion ended with directive: {describe(result.directive)}\n")
    return 0


def _answer(opts: GlobalOptions, words: list[str]) -> Answer:
    from .argv import normalise
    from .errors import UsageError

    *given, current = words or [""]
    try:  # the docker CLI's global flags after `mcp` (docker mcp --config DIR …), and `mcp` itself
        local, given = normalise(["docker-mcp", *given], {})
    except UsageError:
        return Answer([], DEFAULT)  # the value of a global flag (--config DIR, --tlscacert FILE …)
    config = local.config or opts.config

    def mcp() -> McpDir:
        from .catalog.store import user_mcp_dir

        return user_mcp_dir()

    def store() -> CredentialStore:
        from .secrets.store import open_store

        return open_store(config)

    return complete([*given, current], Names(mcp, config, store))
