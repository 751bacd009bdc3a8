from datetime import timedelta

import pytest
from google.protobuf.duration_pb2 import Duration

from f5worker.timing.time_offsets import to_seconds


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(seconds=1, microseconds=250000), 1.25),
        (Duration(seconds=2, nanos=500_000_000), 2.5),
        (Duration(seconds=0, nanos=100), 1e-7),
        (3, 3.0),
        (0.125, 0.125),
        ("1.5s", 1.5),
        ("2", 2.0),
    ],
)
def test_every_known_representation(value, expected):
    assert to_seconds(value) == pytest.approx(expected)


@pytest.mark.parametrize("value", [None, True, "soon", [1], float("nan")])
def test_unknown_or_broken_values_raise(value):
    with pytest.raises((TypeError, ValueError)):
        to_seconds(value)
