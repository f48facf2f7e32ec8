from __future__ import annotations

import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The server file of the feature request (examples/ holds the project's copy of it).
SLACK_EXAMPLE = os.path.join(ROOT, "examples", "slack-official.yaml")


def pytest_configure(config) -> None:
    """Put the interpreter that `/usr/bin/env python3` (the zipapp's first line) finds first on PATH, by
    itself (a directory holding one `python3` link to it), so that every plugin run in the tests starts
    it directly. On this machine `python3` on PATH is a pyenv shim, a bash script that costs ~100 ms of
    each of the two interpreter starts of a `docker mcp` command (the docker CLI's metadata call, then
    the command): a quarter of the suite's time. The interpreter is the same one; a machine whose
    python3 is a plain binary runs the plugin this way."""
    import atexit
    import tempfile

    from tests.helpers.interpreter import zipapp_interpreter

    interpreter = zipapp_interpreter()
    if interpreter is None:
        return  # no python3 on PATH: the tests that need one say so
    directory = tempfile.mkdtemp(prefix="docker-mcp-tests-python3-")
    atexit.register(shutil.rmtree, directory, True)
    os.symlink(interpreter, os.path.join(directory, "python3"))
    os.environ["PATH"] = directory + os.pathsep + os.environ.get("PATH", "")


def setup_cfg_version() -> str:
    with open(os.path.join(ROOT, "setup.cfg"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("version ="):
                return line.split("=", 1)[1].strip()
    raise AssertionError("setup.cfg has no version")


# --- a real credential helper: docker-credential-pass over a throwaway GPG key and password store ---

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def gnupg_home(tmp_path_factory):
    """A GPG home with one key and no passphrase; its agent is stopped at the end of the session."""
    for program in ("gpg", "pass", "docker-credential-pass"):
        if shutil.which(program) is None:
            pytest.fail(
                f"{program} is not installed: scripts/test installs it (pass, golang-docker-credential-helpers)"
            )
    home = tmp_path_factory.mktemp("gnupg")
    os.chmod(home, 0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "docker-mcp-test <test@example.invalid>",
         "default", "default", "never"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    listing = subprocess.run(
        ["gpg", "--list-keys", "--with-colons"], env=env, check=True, capture_output=True, text=True
    )
    fingerprint = next(line.split(":")[9] for line in listing.stdout.splitlines() if line.startswith("fpr"))
    yield str(home), fingerprint
    subprocess.run(["gpgconf", "--kill", "all"], env=env, capture_output=True)


def password_store(gnupg_home: tuple[str, str], directory: str) -> dict[str, str]:
    """Environment for a fresh password store in `directory` that docker-credential-pass uses."""
    home, fingerprint = gnupg_home
    env = {"GNUPGHOME": home, "PASSWORD_STORE_DIR": directory}
    subprocess.run(["pass", "init", fingerprint], env={**os.environ, **env}, check=True, capture_output=True)
    return env


@pytest.fixture
def pass_env(gnupg_home, tmp_path) -> dict[str, str]:
    return password_store(gnupg_home, str(tmp_path / "password-store"))


@pytest.fixture
def pass_config(pass_env, tmp_path, monkeypatch) -> str:
    """A Docker CLI config dir with credsStore "pass", and this process's environment pointing at it."""
    config = tmp_path / "docker-config"
    config.mkdir()
    (config / "config.json").write_text('{"credsStore": "pass"}')
    for key, value in pass_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    return str(config)


@pytest.fixture(scope="session")
def docker_engine():
    """A real Docker engine (Debian's dockerd), started for the session and stopped by PID."""
    from tests.helpers.docker_engine import engine_for_session, stop_session_engine

    yield engine_for_session()
    stop_session_engine()
