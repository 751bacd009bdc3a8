"""The acoustic onset of a word after a pause: where its energy rises out of the pause's floor."""

from __future__ import annotations

import numpy as np

from f5worker.timing.onsets import REACH_S, acoustic_onset

RATE = 16000


def pause_then_sound(onset_s: float, floor: float, level: float, seconds: float = 0.6, seed: int = 0) -> np.ndarray:
    """Noise at ``floor`` RMS, then from ``onset_s`` a 150 Hz buzz at ``level`` RMS on top of it."""
    rng = np.random.default_rng(seed)
    audio = rng.standard_normal(round(seconds * RATE)) * floor
    start = round(onset_s * RATE)
    t = np.arange(audio.size - start) / RATE
    audio[start:] += np.sign(np.sin(2 * np.pi * 150 * t)) * level
    return audio.astype(np.float32)


def test_the_onset_is_found_to_a_few_milliseconds_either_side_of_the_aligners_boundary():
    audio = pause_then_sound(0.300, floor=1e-3, level=0.2)
    for boundary in (0.250, 0.280, 0.320, 0.350):
        onset = acoustic_onset(audio, RATE, boundary, earliest=0.05, latest=0.6)
        assert abs(onset - 0.300) < 0.005, (boundary, onset)


def test_levels_are_relative_so_a_quiet_voice_gets_the_same_onset():
    loud = acoustic_onset(pause_then_sound(0.3, 1e-3, 0.2), RATE, 0.27, 0.05, 0.6)
    quiet = acoustic_onset(pause_then_sound(0.3, 1e-5, 0.002), RATE, 0.27, 0.05, 0.6)
    assert abs(loud - quiet) < 0.002


def test_without_a_clear_rise_the_boundary_is_kept():
    noisy = pause_then_sound(0.3, floor=0.1, level=0.2)  # about 6 dB between pause and sound
    assert acoustic_onset(noisy, RATE, 0.27, 0.05, 0.6) == 0.27
    no_pause_before = pause_then_sound(0.0, floor=1e-3, level=0.2)
    assert acoustic_onset(no_pause_before, RATE, 0.001, 0.0, 0.6) == 0.001


def test_a_word_started_inside_the_pause_moves_to_where_the_pause_ends_however_far():
    """The search may stretch a word's first phone over the pause before it; no word starts in silence."""
    audio = pause_then_sound(0.45, floor=1e-4, level=0.2)
    for boundary in (0.45 - 2 * REACH_S, 0.45 - 3 * REACH_S):
        assert abs(acoustic_onset(audio, RATE, boundary, 0.05, 0.6) - 0.45) < 0.005, boundary


def test_an_onset_past_sound_is_never_moved_further_than_the_reach():
    """Beyond the reach only across silence: a weak sound (15 dB over the floor) ends the pause there."""
    audio = pause_then_sound(0.45, floor=1e-4, level=0.2)
    weak_from = round((0.45 - 2 * REACH_S) * RATE)
    audio[weak_from : round(0.45 * RATE)] *= 10 ** (15 / 20)
    boundary = 0.45 - 2 * REACH_S - 0.01
    assert acoustic_onset(audio, RATE, boundary, 0.05, 0.6) == boundary


def test_noise_close_to_the_speech_keeps_a_boundary_inside_the_pause():
    audio = pause_then_sound(0.45, floor=0.02, level=0.2)  # about 20 dB between pause and sound
    boundary = 0.45 - 2 * REACH_S
    assert acoustic_onset(audio, RATE, boundary, 0.05, 0.6) == boundary
