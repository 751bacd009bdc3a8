"""Word timing: how each word of a job gets its start and end.

``engine_choice`` picks the way (known-text forced alignment, recogniser times mapped onto a known
text, recogniser times alone) and falls back; ``aligner`` (with ``sphinx`` and ``pronounce``) is the
known-text forced aligner; ``recogniser_mapping`` maps a recogniser's words onto a known text;
``chunk_timer`` times ``tts`` chunk by chunk; ``transcript`` holds the types every way returns;
``time_offsets`` reads the time values speech APIs hand back. The models themselves live in ``engines``.
"""
