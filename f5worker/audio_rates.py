"""The two sample rates the worker's models fix, named once.

F5-TTS's Vocos vocoder produces 24 kHz; every recogniser and aligner here (Whisper, pocketsphinx,
wav2vec2, Google Speech) reads 16 kHz mono.
"""

F5_SAMPLE_RATE = 24000
SPEECH_SAMPLE_RATE = 16000
