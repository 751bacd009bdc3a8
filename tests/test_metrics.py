"""The stage timer every ``*_ms`` metric comes from."""

import time

import pytest

from f5worker.metrics import elapsed_ms, timed


def test_a_finished_block_is_recorded_in_milliseconds_with_one_decimal():
    metrics = {"model_loaded": True}
    with timed(metrics, "synthesis_ms"):
        time.sleep(0.05)
    assert list(metrics) == ["model_loaded", "synthesis_ms"]
    assert 45 <= metrics["synthesis_ms"] < 5000
    assert metrics["synthesis_ms"] == round(metrics["synthesis_ms"], 1)


def test_nested_stages_each_get_their_own_duration_and_the_outer_one_is_recorded_last():
    metrics: dict[str, float] = {}
    with timed(metrics, "total_ms"):
        with timed(metrics, "decode_ms"):
            time.sleep(0.02)
        time.sleep(0.02)
    assert list(metrics) == ["decode_ms", "total_ms"]  # the order the outputs list them in
    assert metrics["total_ms"] >= metrics["decode_ms"] + 15


def test_a_failed_block_records_nothing_and_the_error_goes_on():
    metrics: dict[str, float] = {}
    with pytest.raises(ValueError, match="broken stage"), timed(metrics, "encoding_ms"):
        raise ValueError("broken stage")
    assert metrics == {}


def test_elapsed_ms_counts_from_a_perf_counter_reading():
    started = time.perf_counter() - 0.25
    assert 250 <= elapsed_ms(started) < 5000
