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
# archive itself. Everything else goes through shiv's bootstrap, which unpacks the dependencies once.
import sys

args = sys.argv[1:]
if args[:1] == ["docker-cli-plugin-metadata"]:
    sys.stdout.buffer.write(__loader__.get_data("plugin-metadata.json"))
elif {"-h", "--help"} & set(args[: args.index("--")] if "--" in args else args):
    sys.path.insert(0, sys.path[0] + "/site-packages")
    from docker_mcp.__main__ import main

    main()
else:
    import _bootstrap

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
