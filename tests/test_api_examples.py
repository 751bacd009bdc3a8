"""Every JSON example in API.md, run against the worker's local API (``--rp_serve_api``), so the
document cannot drift from the behaviour.

API.md marks its examples with a comment on the line before the ```json block:
``<!-- api-example -->`` (a request: it must complete), ``<!-- api-example: output -->`` (the output
of the request example before it: every field it shows must come back, with the same JSON type, and
no field it does not show, unless ``...`` stands for more), ``<!-- api-example: skip REASON -->``
(a request the test cannot run, reported as a skip with that reason). A request block without a
marker fails the test, so a new example is never left out silently.

Fixtures the examples name: the voice ``narrator`` (uploaded here from espeak-ng speech) and the job
``a1b2c3-u1`` (the stored result and files of a real tts job, copied under that id).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field

import pytest

from f5worker.storage.results import save_result
from tests.helpers import REPO, espeak_wav

API_MD = REPO / "API.md"
MARKER = re.compile(r"^<!-- api-example(?::\s*(?P<kind>output|skip)(?:\s+(?P<reason>.*?))?)?\s*-->$")
MORE = "\u2026"  # stands for a doc's "..." once parsed: more keys or items than shown
DOC_JOB = "a1b2c3-u1"
NARRATOR_TEXT = "The narrator reads this sentence clearly, for the reference clip."


@dataclass
class Example:
    line: int
    kind: str  # "request", "skip" or "output"
    text: str
    reason: str = ""
    outputs: list[Example] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"API.md:{self.line}"


def json_blocks(lines: list[str]):
    """(line number, marker line or None, block text) for every ```json block."""
    for index, line in enumerate(lines):
        if line.strip() == "```json":
            end = next(i for i in range(index + 1, len(lines)) if lines[i].strip() == "```")
            before = next((lines[i].strip() for i in range(index - 1, -1, -1) if lines[i].strip()), "")
            yield index + 1, before if MARKER.match(before) else None, "\n".join(lines[index + 1 : end])


def load_examples() -> list[Example]:
    """The request examples in document order, each with the output examples that follow it."""
    examples: list[Example] = []
    for line, marker, text in json_blocks(API_MD.read_text(encoding="utf-8").splitlines()):
        if marker is None:
            assert not text.lstrip().startswith('{"input"'), f"API.md:{line}: request example without a marker"
            continue
        match = MARKER.match(marker)
        kind = match["kind"] or "request"
        example = Example(line, kind, text, match["reason"] or "")
        if kind == "output":
            assert examples, f"API.md:{line}: an output example before any request example"
            examples[-1].outputs.append(example)
        else:
            examples.append(example)
    return examples


def parse_doc_json(text: str):
    """The doc's JSON with ``...`` (fields or items left out) turned into a marker the checks understand."""
    text = re.sub(r",\s*\.\.\.(?=\s*\})", f', "{MORE}": "{MORE}"', text)  # in an object
    text = re.sub(r",\s*\.\.\.(?=\s*\])", f', "{MORE}"', text)  # in an array
    return json.loads(text)


def json_kind(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def check_shape(documented, actual, where: str) -> list[str]:
    """Differences between a documented output and the real one: missing, extra or retyped fields."""
    if documented is None or actual is None:
        return []  # null documents "may be absent"; a real null may stand for any documented value
    if json_kind(documented) != json_kind(actual):
        return [f"{where}: documented {json_kind(documented)}, got {json_kind(actual)}"]
    if isinstance(documented, dict):
        shown = {key: value for key, value in documented.items() if key != MORE}
        problems = [f"{where}.{key}: documented, not returned" for key in shown if key not in actual]
        if MORE not in documented:
            problems += [f"{where}.{key}: returned, not documented" for key in actual if key not in shown]
        for key in [key for key in shown if key in actual]:
            problems += check_shape(shown[key], actual[key], f"{where}.{key}")
        return problems
    if isinstance(documented, list):
        items = [item for item in documented if item != MORE]
        if items and actual:
            return check_shape(items[0], actual[0], f"{where}[0]")
    return []


EXAMPLES = load_examples()


def test_api_md_has_examples_of_every_endpoint():
    runnable = [json.loads(example.text)["input"] for example in EXAMPLES if example.kind == "request"]
    assert {job.get("endpoint", "tts") for job in runnable} == {"tts", "stt", "voices", "download", "result", "health"}
    assert all(example.kind == "request" for example in EXAMPLES if example.outputs)


@pytest.fixture(scope="module")
def doc_fixtures(s3_worker, worker_storage, tmp_path_factory):
    """The voice and the stored job that the examples name."""
    wav = espeak_wav(NARRATOR_TEXT, tmp_path_factory.mktemp("api-examples") / "narrator.wav")
    s3_worker.output(
        {
            "endpoint": "voices",
            "action": "upload",
            "name": "narrator",
            "overwrite": True,
            "audio": base64.b64encode(wav.read_bytes()).decode(),
            "text": NARRATOR_TEXT,
        }
    )
    done = s3_worker.output(
        {
            "endpoint": "tts",
            "text": "A stored job for the examples.",
            "voice": "narrator",
            "nfe_step": 4,
            "return_word_timings": True,
        },
        timeout=300,
    )
    for key in worker_storage.list_keys(f"outputs/{done['job_id']}/"):
        worker_storage.put_bytes(key.replace(done["job_id"], DOC_JOB), worker_storage.get_bytes(key))
    # The copy's result names the copied files, as a result stored by a job with that id would.
    save_result(worker_storage, DOC_JOB, "tts", json.loads(json.dumps(done).replace(done["job_id"], DOC_JOB)))


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind != "output"], ids=lambda e: e.id)
def test_api_md_example_runs_and_returns_the_documented_fields(example, s3_worker, doc_fixtures):
    if example.kind == "skip":
        pytest.skip(f"{example.id}: {example.reason or 'marked skip in API.md'}")
    body = s3_worker.runsync(json.loads(example.text)["input"], timeout=300)
    assert body.get("status") == "COMPLETED", f"{example.id}: {body}"
    for output in example.outputs:
        problems = check_shape(parse_doc_json(output.text), body["output"], "output")
        assert not problems, f"{output.id} disagrees with the worker:\n" + "\n".join(problems)


def test_the_shape_check_catches_drift():
    documented = parse_doc_json('{"a": 1, "b": {"c": "x", ...}, "d": [{"e": true}, ...]}')
    assert check_shape(documented, {"a": 2, "b": {"c": "y", "z": 1}, "d": [{"e": False}]}, "o") == []
    assert check_shape(documented, {"a": "2", "b": {}, "d": [{"e": 1}], "f": 0}, "o") == [
        "o.f: returned, not documented",
        "o.a: documented number, got str",
        "o.b.c: documented, not returned",
        "o.d[0].e: documented boolean, got number",
    ]
