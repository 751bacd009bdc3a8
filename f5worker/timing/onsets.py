"""Where a word that follows silence really starts: the rise of its energy out of the pause.

A forced aligner places a boundary to the nearest 10 ms frame, and its silence model and
spectral features (25.6 ms windows, deltas over +-3 frames) smear an onset from silence over
several frames. Out of a pause the onset is simply where the signal rises above the pause's
noise floor, which short energy frames find to a few milliseconds: the aligner says which
rise (the one nearest its own boundary), the energy says exactly where. A word the search began
inside the pause (its first phone stretched over silence) starts where the pause ends, even when
that is further than the usual reach: no word starts in silence.

Levels are relative (the pause's floor, the word's first peak), so the same rule holds for a
quiet or loud voice and for clean or noisy audio; it was measured on espeak-ng and on a Piper
VITS voice (docs/notes/issue-22-onsets.md, issue-22-onsets-3.md).
"""

from __future__ import annotations

import numpy as np

WINDOW_S = 0.005  # energy window: shorter than a stop burst, long enough to average a glottal pulse or two
HOP_S = 0.001
REACH_S = 0.08  # how far from the aligner's boundary the onset may lie (a few aligner frames either side)
PEAK_S = 0.1  # the word's first peak is looked for this far after the boundary
RISE = 0.5  # the onset: where the level (in dB) first climbs halfway from the pause floor to the peak
# Less between floor and peak: keep the aligner's boundary. Noise that close to the speech (10 dB SNR
# leaves 15-25 dB between pause and vowel) masks weak consonants such as /h/ or /ð/, and the rise
# found would be the vowel's; clean speech, synthetic or recorded, has 40 dB and more.
MIN_CONTRAST_DB = 30.0
# Within this of the pause's floor a 5 ms window is still pause: a word the search started inside the
# pause (its first phone stretched over silence) starts where the pause ends, however far that is from
# the boundary (up to the word's end), since no word starts in silence. A pause's windows lie within
# about 3 dB of its floor on both voices (lead-ins, median: espeak-ng 3.1, Piper 2.6 dB); 6 to 15 dB
# gave the same word starts on every set (docs/notes/issue-22-onsets-3.md).
SILENT_DB = 10.0


def acoustic_onset(audio: np.ndarray, rate: int, boundary: float, earliest: float, latest: float) -> float:
    """The onset nearest ``boundary`` (seconds) inside [earliest, latest]; ``boundary`` when unclear.

    ``earliest`` is where the pause before the word starts (the floor is read there), ``latest``
    where the word ends. A boundary inside the pause moves first to where the pause ends.
    """
    window = max(1, round(WINDOW_S * rate))
    hop = max(1, round(HOP_S * rate))
    first = max(0, round(max(earliest, boundary - REACH_S) * rate))
    last = min(audio.size, round(latest * rate) + window)
    if last - first < 4 * window or round(boundary * rate) <= first:
        return boundary
    times, level = _levels(audio, rate, first, last, window, hop)
    before = times < boundary
    if before.sum() < 3:
        return boundary
    floor = float(np.percentile(level[before], 10))
    boundary = _pause_end(times, level, boundary, floor)
    after = (times >= boundary) & (times <= boundary + PEAK_S)
    if not after.any():
        return boundary
    peak_index = int(np.flatnonzero(after)[np.argmax(level[after])])
    peak = float(level[peak_index])
    if peak - floor < MIN_CONTRAST_DB:
        return boundary
    threshold = floor + RISE * (peak - floor)
    index = peak_index
    while index > 0 and level[index - 1] >= threshold:
        index -= 1
    onset = float(times[index])
    return onset if abs(onset - boundary) <= REACH_S else boundary


def _levels(audio: np.ndarray, rate: int, first: int, last: int, window: int, hop: int):
    """(window centre times, levels in dB) of short energy windows over samples [first, last)."""
    segment = np.asarray(audio[first:last], dtype=np.float64)
    power = np.convolve(segment**2, np.ones(window) / window, mode="valid")[::hop]
    return first / rate + (np.arange(power.size) * hop + window / 2) / rate, 10 * np.log10(power + 1e-12)


def _pause_end(times: np.ndarray, level: np.ndarray, boundary: float, floor: float) -> float:
    """``boundary``, or where the pause it lies in ends when the level stays at the pause's ``floor`` (within
    ``SILENT_DB`` of it) for longer than the onset search's reach; kept where the speech rises less than
    ``MIN_CONTRAST_DB`` above the floor (noise masks where the pause ends)."""
    if level.max() - floor < MIN_CONTRAST_DB:
        return boundary
    loud = np.flatnonzero((times >= boundary) & (level > floor + SILENT_DB))
    if not loud.size or times[loud[0]] - boundary <= REACH_S:  # within reach: the onset search finds it
        return boundary
    return float(times[loud[0] - 1])
