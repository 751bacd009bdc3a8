"""Races on names: N simultaneous uploads of one new voice name without ``overwrite``: exactly one wins.

Real concurrent jobs (threads calling ``handle_job``, released together by a barrier) on local disk
and on moto's S3 server (which honours PutObject If-None-Match, as AWS does; B2's caveat: API.md).
"""

from __future__ import annotations

import base64
import threading

import pytest

from f5worker.dispatch import handle_job
from tests.helpers import espeak_wav

RACERS = 6


@pytest.fixture(scope="module")
def speeches(tmp_path_factory) -> list[str]:
    folder = tmp_path_factory.mktemp("race")
    texts = [f"Racer number {index} says a short sentence here." for index in range(RACERS)]
    return [
        base64.b64encode(espeak_wav(text, folder / f"{i}.wav").read_bytes()).decode() for i, text in enumerate(texts)
    ]


def race(ctx, speeches: list[str], name: str, **extra) -> list[dict]:
    barrier = threading.Barrier(len(speeches))
    outputs: list[dict] = [{}] * len(speeches)

    def upload(index: int) -> None:
        job = {
            "endpoint": "voices",
            "action": "upload",
            "name": name,
            "audio": speeches[index],
            "text": f"Racer number {index} says a short sentence here.",
            **extra,
        }
        barrier.wait()
        outputs[index] = handle_job({"id": f"race-{index}", "input": job}, ctx)

    threads = [threading.Thread(target=upload, args=(index,)) for index in range(len(speeches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outputs


@pytest.mark.parametrize("backend", ["local_ctx", "s3_ctx"])
def test_exactly_one_of_n_simultaneous_uploads_creates_a_new_name(request, backend, speeches):
    ctx = request.getfixturevalue(backend)
    for round_number in range(2):
        name = f"contested{round_number}"
        outputs = race(ctx, speeches, name)
        winners = [index for index, output in enumerate(outputs) if "error" not in output]
        assert len(winners) == 1, outputs
        assert outputs[winners[0]]["replaced"] is False
        refused = f"invalid_input: name: voice '{name}' exists; use overwrite: true to replace it"
        assert [output["error"] for index, output in enumerate(outputs) if index != winners[0]] == [refused] * 5
        # the stored audio and text are the winner's, together
        stored_text = ctx.storage.get_bytes(f"voices/{name}.txt").decode()
        assert stored_text == f"Racer number {winners[0]} says a short sentence here."
        assert ctx.storage.list_keys(f"voices/{name}.") == [f"voices/{name}.txt", f"voices/{name}.wav"]
    # a good job afterwards: overwrite still replaces
    good = handle_job(
        {
            "id": "g",
            "input": {
                "endpoint": "voices",
                "action": "upload",
                "name": "contested0",
                "audio": speeches[0],
                "overwrite": True,
            },
        },
        ctx,
    )
    assert good["replaced"] is True


@pytest.mark.parametrize("backend", ["local_ctx", "s3_ctx"])
def test_simultaneous_overwrites_all_succeed_and_leave_one_whole_voice(request, backend, speeches):
    ctx = request.getfixturevalue(backend)
    outputs = race(ctx, speeches[:3], "shared", overwrite=True)
    assert all("error" not in output for output in outputs), outputs
    assert ctx.storage.list_keys("voices/shared.") == ["voices/shared.txt", "voices/shared.wav"]
