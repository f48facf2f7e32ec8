from __future__ import annotations

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def setup_cfg_version() -> str:
    with open(os.path.join(ROOT, "setup.cfg"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("version ="):
                return line.split("=", 1)[1].strip()
    raise AssertionError("setup.cfg has no version")
