from f5worker.dispatch import handle_job


def test_health_reports_versions_storage_engines_disk_and_device(s3_ctx):
    output = handle_job({"id": "h", "input": {"endpoint": "health"}}, s3_ctx)
    assert output["status"] == "ok"
    assert output["versions"]["runpod"] and output["versions"]["python"]
    assert output["storage"]["backend"] == "s3" and output["storage"]["region"] == "us-west-004"
    assert "tts" in output["engines"] or output["engines"] == {}
    assert output["free_disk_bytes"] > 0
    assert output["device"] in ("cpu", "cuda")
    assert "secret" not in str(output).lower()
