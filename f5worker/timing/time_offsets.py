"""One conversion for word time offsets, whatever type a speech API hands back.

google-cloud-speech has returned ``datetime.timedelta`` (proto-plus), protobuf ``Duration``
(``seconds`` + ``nanos``) and plain numbers over the years; an earlier worker broke on exactly this.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta

_DURATION_TEXT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)s?\s*$")


def to_seconds(value: object) -> float:
    """Seconds as a float from timedelta, Duration-like objects, numbers or ``"1.5s"`` strings."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif hasattr(value, "seconds") and hasattr(value, "nanos"):
        seconds = int(value.seconds) + int(value.nanos) / 1e9
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION_TEXT.match(value)):
        seconds = float(match.group(1))
    else:
        raise TypeError(f"unsupported word time type: {type(value).__name__}")
    if not math.isfinite(seconds):
        raise ValueError("word time is not a finite number")
    return seconds
