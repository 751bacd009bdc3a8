"""Docker cannot run here: check what the image build depends on instead."""

import re

from tests.helpers import REPO

DOCKERFILE = (REPO / "Dockerfile.runpod").read_text()


def test_every_copied_path_exists():
    for line in re.findall(r"^COPY\s+(.+)$", DOCKERFILE, flags=re.M):
        *sources, _dest = line.split()
        for source in sources:
            assert (REPO / source).exists(), source


def test_cmd_targets_an_existing_entry_point():
    command = re.search(r"^CMD\s+(\[.*\])$", DOCKERFILE, flags=re.M).group(1)
    assert "runpod-handler.py" in command or "startup-runpod.sh" in command
    target = "runpod-handler.py" if "runpod-handler.py" in command else "scripts/startup-runpod.sh"
    assert (REPO / target).is_file()
