"""The contract at the handler boundary: bad input gets a clear error and the next job is still served."""

import pytest

from f5worker import dispatch
from f5worker.dispatch import handle_job, storage_job_id


def job(payload, job_id="job-1"):
    return {"id": job_id, "input": payload}


BAD_INPUTS = [
    (None, "invalid_input: input: expected an object"),
    ("health", "invalid_input: input: expected an object"),
    ({"endpoint": "nope"}, "invalid_input: endpoint: expected one of tts, stt, voices, download, result, health (got"),
    ({"endpoint": 7}, "invalid_input: endpoint: expected one of tts, stt, voices, download, result, health (got an"),
    ({"endpoint": "result"}, "invalid_input: job_id: required field is missing"),
    ({"endpoint": "result", "job_id": 12}, "invalid_input: job_id: expected a string (got an integer)"),
    ({"endpoint": "result", "job_id": "../../etc/passwd"}, "invalid_input: job_id: must match"),
    ({"endpoint": "result", "job_id": "a/b"}, "invalid_input: job_id: must match"),
    ({"endpoint": "result", "job_id": ""}, "invalid_input: job_id: must match"),
    ({"endpoint": "result", "job_id": "j", "extra": 1}, "invalid_input: extra: unknown field"),
    ({"endpoint": "health", "verbose": True}, "invalid_input: verbose: unknown field"),
    ({"endpoint": "download", "job_id": "j", "file": "mp4"}, "invalid_input: file: expected one of"),
    ({"endpoint": "download", "job_id": "j", "file": "audio", "delivery": "text"}, "invalid_input: delivery: 'text'"),
    ({"endpoint": "download", "job_id": "j", "file": "srt", "delivery": "url"}, "invalid_input: delivery: 'url' needs"),
    ({"endpoint": "result", "job_id": "gone"}, "not_found: no stored result for job_id 'gone'"),
    ({"endpoint": "download", "job_id": "gone", "file": "srt"}, "not_found: job_id 'gone' has no stored srt"),
    ({"endpoint": "download", "job_id": "gone", "file": "audio"}, "not_found: job_id 'gone' has no stored audio"),
    ({"endpoint": "tts", "text": "hi", "voice": "v"}, "engine_unavailable: the tts engine is unavailable"),
    ({"text": "no endpoint means tts", "voice": "v"}, "engine_unavailable: the tts engine is unavailable"),
    ({"endpoint": "stt"}, "invalid_input: audio: required field is missing"),
]


@pytest.mark.parametrize(("payload", "expected"), BAD_INPUTS)
def test_bad_input_gets_a_clear_error_and_the_worker_keeps_serving(local_ctx, payload, expected):
    output = handle_job(job(payload), local_ctx)
    assert set(output) == {"error"}
    assert output["error"].startswith(expected), output["error"]
    assert "Traceback" not in output["error"]
    assert handle_job(job({"endpoint": "health"}), local_ctx)["status"] == "ok"


def test_unexpected_exceptions_become_internal_error_without_traceback(local_ctx, monkeypatch, caplog):
    def explode(request, ctx, job_id):
        raise RuntimeError("secret internals")

    monkeypatch.setitem(dispatch.ENDPOINTS, "health", dispatch.Endpoint(dispatch.schemas.HealthRequest, explode))
    output = handle_job(job({"endpoint": "health"}), local_ctx)
    assert output["error"].startswith("internal_error: ")
    assert "secret internals" not in output["error"]
    assert "secret internals" in caplog.text  # the log keeps the traceback


def test_job_ids_are_made_safe_for_keys():
    assert storage_job_id("sync-1b2c-u1") == "sync-1b2c-u1"
    assert storage_job_id("../x/y") == "___x_y"
    assert storage_job_id(None) == "job"
    assert len(storage_job_id("x" * 500)) == 128
