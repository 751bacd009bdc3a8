"""``stt`` end to end through ``--rp_serve_api`` with S3: transcribe, then ``result`` and ``download`` its SRT."""

import base64

import requests
import srt

from tests.helpers import espeak_wav
from tests.piper_speech import speak


def test_stt_then_result_then_download_srt(s3_worker, tmp_path):
    speech = espeak_wav("Bring the blue box to the kitchen table before noon.", tmp_path / "speech.wav")
    audio = base64.b64encode(speech.read_bytes()).decode()
    output = s3_worker.output({"endpoint": "stt", "audio": audio, "language": "en"})
    job_id = output["job_id"]
    assert output["words"] and output["engine"]["name"] == "whisperx"
    via_url = requests.get(output["files"]["srt"]["url"], timeout=10).text
    captions = list(srt.parse(via_url))
    assert captions[0].start.total_seconds() == output["words"][0]["start"]

    stored = s3_worker.output({"endpoint": "result", "job_id": job_id})
    assert stored["endpoint"] == "stt" and stored["output"]["text"] == output["text"]

    download = s3_worker.output({"endpoint": "download", "job_id": job_id, "file": "srt", "delivery": "text"})
    assert download["text"] == via_url
    as_base64 = s3_worker.output({"endpoint": "download", "job_id": job_id, "file": "srt", "delivery": "base64"})
    assert base64.b64decode(as_base64["base64"]).decode() == via_url


def test_stt_bad_audio_then_the_worker_still_serves(s3_worker):
    error = s3_worker.error({"endpoint": "stt", "audio": base64.b64encode(b"%PDF-1.7 not audio").decode()})
    assert error.startswith("invalid_input: audio: not decodable audio")
    assert s3_worker.output({"endpoint": "health"})["status"] == "ok"


def wav_base64(audio, rate: int = 16000) -> str:
    import io

    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, audio, rate, format="WAV", subtype="PCM_16")
    return base64.b64encode(buffer.getvalue()).decode()


def piper_wav_base64(text: str) -> str:
    """Natural speech (the Piper voice) as a base64 16 kHz WAV, as a caller would send it."""

    return wav_base64(speak(text, noise_scale=0.0).audio)


def test_stt_verify_passes_the_script_and_names_what_a_corrupted_text_adds_or_lacks(s3_worker):
    spoken = "The pilot announced that the flight would land twenty minutes early."
    audio = piper_wav_base64(spoken)
    job = {"endpoint": "stt", "audio": audio, "verify": True, "timing_formats": ["srt"]}

    clean = s3_worker.output({**job, "text": spoken})
    check = clean["script_check"]
    assert check["verdict"] == "pass", check["reasons"]
    assert not check["missing"] and not check["extra"] and not check["repeated"]
    assert [w["word"] for w in clean["words"]] == spoken.split()
    assert all(0 < w["confidence"] <= 1 for w in clean["words"])
    assert clean["metrics"]["verify_ms"] > 0

    adds = spoken.replace("the flight", "the delayed flight")  # the text has a word the audio lacks
    lacking = s3_worker.output({**job, "text": adds})["script_check"]
    assert lacking["verdict"] == "fail"
    assert [(f["word"], f["position"]) for f in lacking["missing"]] == [("delayed", 5)]
    assert lacking["missing"][0]["start"] is not None

    lacks = spoken.replace(" twenty minutes", " minutes")  # the audio has a word the text lacks
    extra = s3_worker.output({**job, "text": lacks})["script_check"]
    assert extra["verdict"] == "fail"
    assert [(f["word"], f["position"]) for f in extra["extra"]] == [("twenty", 7)]
    assert extra["extra"][0]["start"] > 0


def test_stt_verify_without_text_is_refused(s3_worker):
    error = s3_worker.error({"endpoint": "stt", "audio": piper_wav_base64("Hello there."), "verify": True})
    assert error.startswith("invalid_input: verify: checks the audio against 'text'")


# Issue 25's targets for stt without text on held-out natural speech (words heard right), asserted as
# they are: measured 21 ms mean, 52 ms p95 (docs/notes/issue-25-stt-align-2.md), and at most this share
# of Whisper's own mean error (measured: about 0.24).
TARGET_MEAN_MS, TARGET_P95_MS = 25, 60
GUARD_RATIO = 0.4


def test_natural_speech_without_text_is_force_aligned_through_the_local_api(s3_worker):
    """stt without text on held-out Piper speech (tests/natural_sentences.py's ``HELD_OUT``, which no
    benchmark or constant was chosen on), spoken without sampling noise so the run is repeatable.

    Only words tiny.en heard right count (the recogniser's mistakes are not timing errors); the words
    and text must be exactly those of Whisper's own times (``timing_engine: whisper``, the old default).
    """
    import numpy as np

    from tests.natural_sentences import HELD_OUT
    from tests.piper_speech import word_times
    from tests.speech import matched_start_offsets, normalised_words

    offsets: dict[str, list[float]] = {"aligner": [], "whisper": []}
    reference = 0
    for rate in (0.9, 1.1):
        for text in HELD_OUT:
            utterance = speak(text, length_scale=rate, noise_scale=0.0)
            job = {"endpoint": "stt", "audio": wav_base64(utterance.audio), "language": "en", "timing_formats": []}
            outputs = {way: s3_worker.output(job | {"timing_engine": way}) for way in ("auto", "whisper")}
            aligned, heard = outputs["auto"], outputs["whisper"]
            assert aligned["engine"]["timing"] == "aligner" and heard["engine"]["timing"] == "whisper"
            assert aligned["text"] == heard["text"]
            assert [w["word"] for w in aligned["words"]] == [w["word"] for w in heard["words"]]
            truth = [(word.token, word.start_s) for word in word_times(utterance)]
            for way, output in (("aligner", aligned), ("whisper", heard)):
                offsets[way] += matched_start_offsets(truth, [(w["word"], w["start"]) for w in output["words"]])
            reference += len(normalised_words(text))
    errors = {way: np.abs(values) * 1000 for way, values in offsets.items()}
    mean, p95 = errors["aligner"].mean(), np.percentile(errors["aligner"], 95)
    print(
        f"{len(errors['aligner'])}/{reference} words heard right: aligned {mean:.0f} ms mean, {p95:.0f} ms p95 "
        f"(target and limit {TARGET_MEAN_MS}/{TARGET_P95_MS}); Whisper's own {errors['whisper'].mean():.0f} ms mean, "
        f"{np.percentile(errors['whisper'], 95):.0f} ms p95"
    )
    assert len(errors["aligner"]) >= 0.8 * reference
    assert mean <= TARGET_MEAN_MS and p95 <= TARGET_P95_MS, (round(mean, 1), round(p95, 1))
    assert mean <= GUARD_RATIO * errors["whisper"].mean()
