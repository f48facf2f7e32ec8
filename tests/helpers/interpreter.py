"""The Python interpreter the zipapp runs on: the one its first line, `#!/usr/bin/env python3`, finds."""

from __future__ import annotations

import os
import subprocess


def zipapp_interpreter() -> str | None:
    """The path of the interpreter `/usr/bin/env python3` starts, resolved past a version manager's shim
    (pyenv's is a bash script) and past a virtual environment (its base interpreter); None when there is
    no python3 on PATH. Waits at most 60 seconds."""
    found = subprocess.run(
        ["/usr/bin/env", "python3", "-c", "import sys; print(getattr(sys, '_base_executable', sys.executable))"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    interpreter = found.stdout.strip()
    return interpreter if found.returncode == 0 and os.path.isfile(interpreter) else None
