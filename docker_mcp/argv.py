"""Argument-vector normalisation: plugin mode vs standalone, and the docker CLI's global flags.

Invoked by the docker CLI, the plugin sees `docker-mcp [global flags] mcp ARGS`; run directly,
`docker-mcp ARGS` behaves as `docker mcp ARGS`. Either way the result is the global options and the
arguments of the `mcp` command.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from .errors import UsageError

PLUGIN_ENV = "DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND"

# The docker CLI's global flags (docker --help), accepted before `mcp` and right after it.
_VALUE_FLAGS = {
    "--config": "config",
    "-c": "context",
    "--context": "context",
    "-H": "hosts",
    "--host": "hosts",
    "-l": "log_level",
    "--log-level": "log_level",
    "--tlscacert": "tlscacert",
    "--tlscert": "tlscert",
    "--tlskey": "tlskey",
}
_BOOL_FLAGS = {"-D": "debug", "--debug": "debug", "--tls": "tls", "--tlsverify": "tlsverify"}
_TRUE = {"1", "t", "true", "T", "TRUE", "True"}
_FALSE = {"0", "f", "false", "F", "FALSE", "False"}


class GlobalOptions:
    """The docker CLI's global flags as given (a plain class: this is on the timed --help path)."""

    def __init__(
        self,
        config: str | None = None,  # --config: the Docker CLI config dir
        context: str | None = None,
        hosts: list[str] | None = None,
        log_level: str | None = None,
        debug: bool = False,
        tls: bool = False,
        tlsverify: bool = False,
        tlscacert: str | None = None,
        tlscert: str | None = None,
        tlskey: str | None = None,
        plugin_mode: bool = False,  # started by the docker CLI rather than directly
    ) -> None:
        self.config, self.context, self.hosts, self.log_level = config, context, hosts or [], log_level
        self.debug, self.tls, self.tlsverify = debug, tls, tlsverify
        self.tlscacert, self.tlscert, self.tlskey = tlscacert, tlscert, tlskey
        self.plugin_mode = plugin_mode


def normalise(argv: Sequence[str], env: Mapping[str, str] | None = None) -> tuple[GlobalOptions, list[str]]:
    """Split argv into the global options and the arguments of `mcp`."""
    env = os.environ if env is None else env
    opts = GlobalOptions(plugin_mode=bool(env.get(PLUGIN_ENV)))
    args = _take_global_flags(list(argv[1:]), opts)
    if args and args[0] == "mcp":
        args = _take_global_flags(args[1:], opts)
    if env.get("DOCKER_MCP_DEBUG", "") not in ("", "0", "false"):
        opts.debug = True
    return opts, args


def _take_global_flags(args: list[str], opts: GlobalOptions) -> list[str]:
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, inline = arg.partition("=")
        if not eq and name[:2] in ("-c", "-H", "-l") and len(name) > 2 and not name.startswith("--"):
            name, inline, eq = name[:2], name[2:], "="  # -Hunix:///x, pflag's attached short form
        if name in _VALUE_FLAGS:
            if eq:
                value = inline
            elif i + 1 < len(args):
                i += 1
                value = args[i]
            else:
                raise UsageError(f"flag needs an argument: {name}")
            attr = _VALUE_FLAGS[name]
            if attr == "hosts":
                opts.hosts.append(value)
            else:
                setattr(opts, attr, value)
        elif name in _BOOL_FLAGS:
            if eq and inline not in _TRUE | _FALSE:
                raise UsageError(f'invalid argument "{inline}" for "{name}" flag: use true or false')
            setattr(opts, _BOOL_FLAGS[name], not eq or inline in _TRUE)
        else:
            break  # the command, or a flag of the mcp command itself
        i += 1
    return args[i:]
