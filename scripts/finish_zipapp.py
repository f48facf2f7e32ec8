"""Give shiv's zipapp our own __main__.py, which answers the plugin-metadata request and help requests
from the archive.

The docker CLI runs `docker-mcp docker-cli-plugin-metadata` before every `docker mcp …` and for
`docker --help`. Shiv's bootstrap opens the archive with zipfile (over a thousand entries) and may unpack
site-packages first; this entry answers the metadata request from a file in the archive (read through
the zipimporter that is already loaded), renders --help with the package imported from the archive
(standard library only on that path), and hands every other command to shiv's bootstrap.

usage: python scripts/finish_zipapp.py dist/docker-mcp
"""

from __future__ import annotations

import os
import sys
import zipfile

from docker_mcp.metadata import render_plugin_metadata

MAIN_PY = b"""\
# docker-mcp zipapp entry (scripts/finish_zipapp.py). The docker CLI asks for the plugin metadata before
# every command: that answer comes straight from the archive. A help request (-h/--help before "--",
# which the CLI answers from the command specs without running anything) imports the package from the
# archive itself. Everything else runs from the unpacked dependencies, which shiv's bootstrap unpacks
# once, on the first run (later runs find them where the bootstrap would, and skip it).
import sys

args = sys.argv[1:]
if args[:1] == ["docker-cli-plugin-metadata"]:
    sys.stdout.buffer.write(__loader__.get_data("plugin-metadata.json"))
elif {"-h", "--help"} & set(args[: args.index("--")] if "--" in args else args):
    sys.path.insert(0, sys.path[0] + "/site-packages")
    from docker_mcp.__main__ import main

    main()
else:
    import os

    # Unpacked already (every run but the first): put its site-packages on sys.path and run, without
    # shiv's bootstrap (zipfile, hashlib, subprocess, compileall: ~25 ms of every command).
    env = __loader__.get_data("environment.json").decode()
    start = env.index('"build_id": "') + 13
    root = os.environ.get("SHIV_ROOT") or os.path.expanduser("~/.shiv")
    name = os.path.basename(os.path.realpath(__loader__.archive)) + "_" + env[start : env.index('"', start)]
    site_packages = os.path.join(root, name, "site-packages")
    if os.path.isdir(site_packages) and not os.environ.get("SHIV_FORCE_EXTRACT"):
        import site

        # as shiv's bootstrap does: addsitedir (.pth files are honoured), placed before the first
        # site-packages already on sys.path
        length = len(sys.path)
        index = next(
            (i for i, p in enumerate(sys.path) if os.path.basename(p) in ("site-packages", "dist-packages")), length
        )
        site.addsitedir(site_packages)
        sys.path = sys.path[:index] + sys.path[length:] + sys.path[index:length]
        from docker_mcp.__main__ import main

        main()
        sys.exit(0)
    import _bootstrap

    if sys.stderr.isatty():  # the first run unpacks tens of MB (seconds): on a terminal, say so first
        import types
        from _bootstrap import cache_path
        from _bootstrap.environment import Environment

        env = Environment.from_json(__loader__.get_data("environment.json").decode())
        unpacked = cache_path(types.SimpleNamespace(filename=__loader__.archive), env.root, env.build_id)
        if not (unpacked / "site-packages").exists():
            sys.stderr.write("Unpacking docker-mcp (first run, a few seconds)...\\n")
            sys.stderr.flush()
    _bootstrap.bootstrap()
"""


def finish(path: str) -> None:
    with open(path, "rb") as f:
        shebang = f.readline()
        if not shebang.startswith(b"#!"):
            sys.exit(f"{path}: not a shiv zipapp (no interpreter line)")
    tmp = path + ".tmp"
    with zipfile.ZipFile(path) as src, open(tmp, "wb") as out:
        out.write(shebang)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
            stamp = src.getinfo("environment.json").date_time
            for info in src.infolist():
                if info.filename not in ("__main__.py", "plugin-metadata.json"):
                    dst.writestr(info, src.read(info))
            for name, data in (
                ("plugin-metadata.json", render_plugin_metadata().encode()),
                ("__main__.py", MAIN_PY),
            ):
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                dst.writestr(info, data)
    os.chmod(tmp, 0o755)
    os.replace(tmp, path)


if __name__ == "__main__":
    finish(sys.argv[1])
