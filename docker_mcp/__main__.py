"""Entry point. The metadata request, which the docker CLI makes before every command, is answered
before anything else is imported."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["docker-cli-plugin-metadata"]:
        from .metadata import render_plugin_metadata

        sys.stdout.write(render_plugin_metadata())
        sys.stdout.flush()
        return
    from .argv import normalise
    from .cli import run

    try:
        opts, args = normalise(sys.argv)
    except Exception as e:  # a malformed global flag is a usage error, reported like any other
        from .errors import UsageError

        if not isinstance(e, UsageError):
            raise
        sys.stderr.write(f"{e}\n\nRun 'docker mcp --help' for more information.\n")
        sys.exit(e.exit_code)
    sys.exit(run(opts, args))


if __name__ == "__main__":
    main()
