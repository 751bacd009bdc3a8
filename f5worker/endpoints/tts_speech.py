"""Speaking a :class:`~.tts_plan.SpeechPlan`: one loop, one cross-fade joiner, for every ``tts`` job.

Each chunk is synthesised in its turn's voice with its turn's settings and its own seed (checked,
and taken again while it fails, when the job verifies: :mod:`.tts_retakes`), then pushed into the
joiner; a pause is pushed as silence long enough that ``segment_pause_s`` holds no voice. A pause
tag's silence is pushed with no cross-fade on either side, and the chunks next to it lose their own
quiet edges there, so exactly the tag's seconds of silence lie between the two words. The joiner
releases only settled samples, and each released piece goes to ``on_piece`` at once (a streamed
job's item; every job's cancel check), so a cancelled job stops at the next chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..audio_rates import F5_SAMPLE_RATE
from ..engines.f5 import ChunkSpan, CrossFadeJoiner, PieceListener
from ..engines.roles import Synthesiser
from ..media.pauses import trim_for_pause
from .tts_plan import Pause, SpeechPlan
from .tts_retakes import Retakes


@dataclass
class SpokenPlan:
    """The joined audio at 24 kHz and where each of the plan's pieces lies in it (one span per piece)."""

    samples: np.ndarray
    spans: list[ChunkSpan]

    def turn_ranges(self, plan: SpeechPlan) -> list[tuple[float, float, str]]:
        """(start_s, end_s, speaker) of each turn in the audio."""
        ranges = []
        for position, turn in enumerate(plan.turns):
            spans = [
                span
                for span, piece in zip(self.spans, plan.pieces, strict=True)
                if not isinstance(piece, Pause) and piece.turn == position
            ]
            ranges.append((spans[0].start / F5_SAMPLE_RATE, spans[-1].end / F5_SAMPLE_RATE, turn.speaker))
        return ranges


def _exact_pause(piece) -> bool:
    return isinstance(piece, Pause) and piece.exact


def speak(
    engine: Synthesiser,
    plan: SpeechPlan,
    seed: int,
    cross_fade_s: float,
    on_piece: PieceListener,
    on_chunk,
    retakes: Retakes | None = None,
) -> SpokenPlan:
    """Every piece of the plan in order through one joiner; ``on_chunk(done, total)`` after each chunk.

    With ``retakes`` each chunk is checked (and taken again while it fails) before it is joined."""
    joiner = CrossFadeJoiner(round(cross_fade_s * F5_SAMPLE_RATE))
    released: list[np.ndarray] = []
    total = len(plan.chunks)
    done = 0
    for position, piece in enumerate(plan.pieces):
        before = _exact_pause(plan.pieces[position - 1] if position else None)
        after = _exact_pause(plan.pieces[position + 1] if position + 1 < len(plan.pieces) else None)
        if isinstance(piece, Pause) and piece.exact:  # a pause tag: exactly its silence, no fades into it
            wave = np.zeros(piece.samples, dtype=np.float32)
        elif isinstance(piece, Pause):  # the fades run into the silence: its samples are heard with no voice
            wave = np.zeros(piece.samples + 2 * joiner.fade_samples, dtype=np.float32)
        else:
            turn = plan.turns[piece.turn]

            def take(take_seed: int, turn=turn, piece=piece) -> np.ndarray:
                return engine.synthesize_chunk(
                    turn.ref_audio, turn.ref_text, piece.spoken, turn.params, seed=take_seed, duration=piece.duration_s
                )

            first_seed = plan.seed_of(piece, seed)
            wave = retakes.speak(piece, first_seed, take) if retakes is not None else take(first_seed)
            if before or after:  # the silence heard at a pause tag is the tag's, not the chunk's own
                wave = trim_for_pause(wave, F5_SAMPLE_RATE, head=before, tail=after)
            done += 1
            on_chunk(done, total)
        released.append(joiner.push(wave, piece.spoken, fade=not (before or _exact_pause(piece))))
        on_piece(released[-1], joiner.spans[-1], False)
    released.append(joiner.finish())
    on_piece(released[-1], joiner.spans[-1], True)
    return SpokenPlan(np.concatenate(released).astype(np.float32, copy=False), joiner.spans)
