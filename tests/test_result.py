import json

from f5worker.dispatch import handle_job
from f5worker.storage.layout import result_key
from f5worker.storage.results import save_result


def test_saved_result_is_returned_whole(local_ctx):
    record = save_result(local_ctx.storage, "job-7", "stt", {"text": "hello", "words": []})
    output = handle_job({"id": "x", "input": {"endpoint": "result", "job_id": "job-7"}}, local_ctx)
    assert output == record
    assert output["endpoint"] == "stt" and output["output"]["text"] == "hello"
    assert set(output) == {"job_id", "endpoint", "created_at", "output"}


def test_result_on_s3_is_one_json_object(s3_ctx):
    save_result(s3_ctx.storage, "job-8", "tts", {"duration_s": 1.5})
    stored = json.loads(s3_ctx.storage.get_bytes(result_key("job-8")))
    assert stored["output"] == {"duration_s": 1.5}
    output = handle_job({"id": "x", "input": {"endpoint": "result", "job_id": "job-8"}}, s3_ctx)
    assert output["output"] == {"duration_s": 1.5}
