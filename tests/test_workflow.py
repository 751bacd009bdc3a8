"""GitHub Actions cannot run here: check the image workflow's structure and what it depends on."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.helpers import REPO

WORKFLOW_PATH = REPO / ".github" / "workflows" / "image.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW_PATH.read_text())


def triggers(workflow: dict) -> dict:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as true


def step_using(job: dict, action: str) -> dict:
    matches = [step for step in job["steps"] if step.get("uses", "").split("@")[0] == action]
    assert len(matches) == 1, f"expected one {action} step"
    return matches[0]


def test_triggers_are_version_tags_and_manual_dispatch_with_a_bake_input(workflow):
    on = triggers(workflow)
    assert set(on) == {"push", "workflow_dispatch"}
    assert on["push"] == {"tags": ["v*"]}
    bake = on["workflow_dispatch"]["inputs"]["bake_stack"]
    assert bake["type"] == "boolean" and bake["default"] is False


def test_two_jobs_tests_gate_the_push(workflow):
    jobs = workflow["jobs"]
    assert set(jobs) == {"test", "image"}
    assert jobs["test"]["runs-on"] == "ubuntu-latest"
    assert any(step.get("run", "").strip() == "bash scripts/test.sh" for step in jobs["test"]["steps"])
    assert jobs["image"]["needs"] == "test"
    assert step_using(jobs["test"], "actions/setup-python")["with"]["python-version"] == "3.11"
    assert workflow["permissions"] == {"contents": "read"}


def test_build_pushes_to_the_configured_registry_with_gha_layer_cache(workflow):
    image = workflow["jobs"]["image"]
    login = step_using(image, "docker/login-action")["with"]
    assert login["registry"] == "${{ vars.REGISTRY }}"
    assert login["username"].startswith("${{ secrets.") and login["password"].startswith("${{ secrets.")
    meta = step_using(image, "docker/metadata-action")["with"]
    assert meta["images"] == "${{ vars.REGISTRY }}/${{ vars.IMAGE_NAME }}"
    build = step_using(image, "docker/build-push-action")["with"]
    assert build["file"] == "Dockerfile.runpod" and build["context"] == "." and build["push"] is True
    assert build["tags"] == "${{ steps.meta.outputs.tags }}"
    assert re.search(r"^BAKE_STACK=\$\{\{ inputs\.bake_stack && '1' \|\| '0' \}\}$", build["build-args"], re.M)
    assert build["cache-from"].split(",")[0] == "type=gha"
    cache_to = dict(part.split("=", 1) for part in build["cache-to"].split(","))
    assert cache_to["type"] == "gha" and cache_to["mode"] == "max"
    step_using(image, "docker/setup-buildx-action")  # the gha cache needs a buildx builder


def test_no_secret_is_written_into_the_workflow():
    text = WORKFLOW_PATH.read_text()
    for line in text.splitlines():
        if re.search(r"(password|token|key)\s*:", line, re.I) and "${{" not in line:
            pytest.fail(f"literal credential-like value: {line.strip()}")


def test_every_file_the_workflow_references_exists(workflow):
    referenced = set()
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            referenced.update(re.findall(r"(?:scripts/[\w.-]+|[\w.-]+\.(?:sh|py|txt|in))", step.get("run", "")))
            options = step.get("with", {})
            if "file" in options:
                referenced.add(options["file"])
            if "context" in options:
                referenced.add(options["context"])
            for pattern in re.findall(r"hashFiles\(([^)]*)\)", str(options.get("key", ""))):
                referenced.update(re.findall(r"'([^']+)'", pattern))
    assert {"scripts/test.sh", "Dockerfile.runpod", "requirements.txt", "requirements-test.txt"} <= referenced
    missing = sorted(path for path in referenced if not (REPO / path).exists())
    assert not missing, missing
    # what scripts/test.sh needs in turn
    assert (REPO / "scripts" / "setup.sh").is_file() and (REPO / ".github" / "workflows").is_dir()
