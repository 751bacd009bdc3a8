"""The two sample rates the worker's models fix, and F5-TTS's mel frame, named once.

F5-TTS's Vocos vocoder produces 24 kHz, one mel frame per 256 samples (fixed by f5-tts's
utils_infer); every recogniser and aligner here (Whisper, pocketsphinx, wav2vec2, Google Speech)
reads 16 kHz mono.
"""

F5_SAMPLE_RATE = 24000
F5_HOP_LENGTH = 256
SPEECH_SAMPLE_RATE = 16000
