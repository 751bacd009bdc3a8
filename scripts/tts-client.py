#!/usr/bin/env python
"""Call the F5-TTS worker on RunPod (or its local API) from the command line.

Examples:
  export RUNPOD_ENDPOINT_ID=abc123 RUNPOD_API_KEY=...
  scripts/tts-client.py tts --text "Hello there." --voice narrator --timings --formats srt,ass --out out/
  scripts/tts-client.py tts --text "Hi." --ref-audio me.wav --ref-text "What I say." --param nfe_step=16
  scripts/tts-client.py tts --text-file story.txt --voice narrator --stream --out out/   # STREAM_HANDLER workers
  scripts/tts-client.py stt --audio interview.mp3 --language en --out subs/
  scripts/tts-client.py voices upload --name narrator --audio narrator.wav --text "What the narrator says."
  scripts/tts-client.py download --job-id JOB --file srt --out subs/
  scripts/tts-client.py health --base-url http://127.0.0.1:8000

Exit status: 0 done, 1 the job failed (its "code: message" goes to stderr), 2 usage error,
3 the endpoint could not be reached or gave an unusable answer.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from f5worker.client import (  # noqa: E402
    TIMING_FILES,
    ClientError,
    JobFailed,
    RunPodClient,
    WaitTimeout,
    encode_file,
    stream_audio,
)

EXIT_JOB_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
INLINE_SHOWN = 120  # longer base64 strings are elided when printing


def key_value(text: str) -> tuple[str, Any]:
    """``key=value`` with a JSON value (``seed=3``, ``karaoke=true``); a non-JSON value stays a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


def format_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


REMOTE_PREFIXES = ("http://", "https://", "data:", "voices/", "outputs/")  # URLs and storage keys
BASE64 = re.compile(r"^[A-Za-z0-9+/]{16,}={0,2}$")


def audio_arg(value: str) -> str:
    """A local file is sent as base64; a URL, storage key or base64 text as given. Anything else is
    a local file name that does not exist: say so here rather than let the worker try it as a URL."""
    if os.path.isfile(value):
        return encode_file(value)
    if value.startswith(REMOTE_PREFIXES) or BASE64.match(value):
        return value
    raise argparse.ArgumentTypeError(f"file not found: {value} (and not a URL, a voices/ or outputs/ key, or base64)")


def common_options() -> argparse.ArgumentParser:
    """Options accepted before or after the subcommand (SUPPRESS: only what is given is set)."""
    parser = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    group = parser.add_argument_group("connection and output")
    group.add_argument(
        "--base-url",
        help="API base URL, e.g. http://127.0.0.1:8000 for the local API "
        "(default: $RUNPOD_BASE_URL, else https://api.runpod.ai/v2/<endpoint id>)",
    )
    group.add_argument("--endpoint-id", help="RunPod endpoint id (default: $RUNPOD_ENDPOINT_ID)")
    group.add_argument("--local", action="store_true", help="the SDK's local API: POST /status (detected when unset)")
    group.add_argument("--sync", action="store_true", help="use /runsync instead of /run + polling")
    group.add_argument("--out", type=Path, help="save the audio and timing files in this folder")
    group.add_argument("--timeout", type=float, help="seconds per HTTP request (default 300)")
    group.add_argument("--wait-timeout", type=float, help="seconds to wait for a job (default 3600)")
    group.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    group.add_argument("--raw", action="store_true", help="print inline base64 in full")
    return parser


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="tts-client.py",
        description=__doc__.split("\n\n")[0],
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    param = {
        "action": "append",
        "type": key_value,
        "default": [],
        "metavar": "KEY=VALUE",
        "help": "any other input field, value parsed as JSON (repeatable)",
    }

    tts = sub.add_parser("tts", parents=[common], help="voice-cloned speech, optionally with word timings")
    text = tts.add_mutually_exclusive_group(required=True)
    text.add_argument("--text", help="what to say")
    text.add_argument("--text-file", type=Path, help="read the text from a file")
    tts.add_argument("--voice", help="a stored voice name")
    tts.add_argument("--ref-audio", type=audio_arg, metavar="FILE_OR_URL", help="a file is sent inline")
    tts.add_argument("--ref-text", help="what the reference says")
    tts.add_argument("--timings", action="store_true", help="return word timings and timing files")
    tts.add_argument("--formats", type=format_list, help="timing files, e.g. srt,ass (default all five)")
    tts.add_argument("--format", dest="output_format", choices=("wav", "flac", "mp3", "ogg"), help="audio format")
    tts.add_argument("--seed", type=int)
    tts.add_argument(
        "--stream",
        action="store_true",
        help="streaming endpoint: write each chunk to --out as it arrives (stream.pcm.part, then "
        "stream.wav) and print the time to first audio",
    )
    tts.add_argument("--param", **param)

    stt = sub.add_parser("stt", parents=[common], help="speech to text with word times and timing files")
    stt.add_argument("--audio", type=audio_arg, required=True, metavar="FILE_OR_URL", help="a file is sent inline")
    stt.add_argument("--language", help="e.g. en (detected when absent)")
    stt.add_argument("--text", help="known transcript: time exactly these words")
    stt.add_argument("--formats", type=format_list, help="timing files, e.g. srt,vtt (default all five)")
    stt.add_argument("--param", **param)

    download = sub.add_parser("download", parents=[common], help="one stored file of an earlier job")
    download.add_argument("--job-id", required=True)
    download.add_argument("--file", required=True, choices=("audio", *TIMING_FILES))
    download.add_argument("--delivery", choices=("url", "base64", "text"))

    result = sub.add_parser("result", parents=[common], help="the stored result of an earlier job")
    result.add_argument("--job-id", required=True)

    voices = sub.add_parser("voices", parents=[common], help="list, upload or delete stored voices")
    voices.add_argument("action", choices=("list", "upload", "delete"))
    voices.add_argument("--name")
    voices.add_argument("--audio", type=audio_arg, metavar="FILE_OR_URL", help="upload: a file is sent inline")
    voices.add_argument("--text", help="upload: what the voice says")
    voices.add_argument("--overwrite", action="store_true")
    voices.add_argument("--param", **param)

    sub.add_parser("health", parents=[common], help="the worker's health report")
    return parser


def job_input(args: argparse.Namespace) -> dict:
    """The job's ``input`` from the subcommand's flags, then ``--param`` pairs on top."""
    command = args.command
    job: dict[str, Any] = {"endpoint": command}
    if command == "tts":
        job["text"] = args.text if args.text is not None else args.text_file.read_text(encoding="utf-8")
        fields = {
            "voice": args.voice,
            "ref_audio": args.ref_audio,
            "ref_text": args.ref_text,
            "timing_formats": args.formats,
            "output_format": args.output_format,
            "seed": args.seed,
        }
        if args.timings:
            job["return_word_timings"] = True
        if args.stream:
            job["stream"] = True
    elif command == "stt":
        fields = {"audio": args.audio, "language": args.language, "text": args.text, "timing_formats": args.formats}
    elif command == "download":
        fields = {"job_id": args.job_id, "file": args.file, "delivery": args.delivery}
    elif command == "result":
        fields = {"job_id": args.job_id}
    elif command == "voices":
        fields = {"action": args.action, "name": args.name, "audio": args.audio, "text": args.text}
        if args.overwrite:
            job["overwrite"] = True
    else:
        fields = {}
    job.update({key: value for key, value in fields.items() if value is not None})
    job.update(dict(getattr(args, "param", [])))
    return job


class Progress:
    """One line per event on stderr: submission, each progress update, the end."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        if not self.quiet:
            print(f"[{time.monotonic() - self.started:6.1f}s] {text}", file=sys.stderr, flush=True)

    def update(self, data: Any) -> None:
        if isinstance(data, dict) and "chunk" in data and "chunks" in data:
            self.say(f"{data.get('stage', 'progress')}: chunk {data['chunk']}/{data['chunks']}")
        elif isinstance(data, dict) and "stage" in data:
            self.say(str(data["stage"]))
        else:
            self.say(f"progress: {json.dumps(data)[:200]}")


def printable(value: Any, raw: bool) -> Any:
    """The output with long inline base64 replaced by a note, unless ``--raw``."""
    if raw:
        return value
    if isinstance(value, dict):
        return {
            key: (
                f"<{len(item)} base64 characters; --out saves the file, --raw prints them>"
                if key == "base64" and isinstance(item, str) and len(item) > INLINE_SHOWN
                else printable(item, raw)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [printable(item, raw) for item in value]
    return value


class ChunkWriter:
    """Appends each streamed chunk's PCM to ``<out>/stream.pcm.part`` as it arrives; ``finish`` renames it to
    ``stream.pcm`` and writes ``stream.wav`` (the same samples as the job's 24 kHz wav)."""

    def __init__(self, out_dir: Path | None, progress: Progress):
        self.out_dir = out_dir
        self.progress = progress
        self.items: list[dict] = []
        self.first_audio_s: float | None = None
        self._part = None
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            self._part = open(out_dir / "stream.pcm.part", "wb")  # noqa: SIM115 - closed in finish()

    def __call__(self, item: dict) -> None:
        if self.first_audio_s is None:
            self.first_audio_s = time.monotonic() - self.progress.started
            self.progress.say(f"first audio after {self.first_audio_s:.2f} s")
        self.items.append(item)
        if self._part is not None:
            self._part.write(base64.b64decode(item["audio"]))
            self._part.flush()
        self.progress.say(
            f"chunk {item['seq'] + 1}/{item.get('chunks', '?')}: {item['duration_s']:.2f} s "
            f"of audio at {item['start_s']:.2f} s"
        )

    def finish(self) -> None:
        if self._part is None:
            return
        self._part.close()
        self._part = None
        part = self.out_dir / "stream.pcm.part"
        os.replace(part, self.out_dir / "stream.pcm")
        if self.items:
            import io

            import numpy as np
            import soundfile

            samples = np.frombuffer(stream_audio(self.items), dtype="<i2")
            buffer = io.BytesIO()
            soundfile.write(buffer, samples, int(self.items[0]["sample_rate"]), format="WAV", subtype="PCM_16")
            temp = self.out_dir / ".stream.wav.part"
            temp.write_bytes(buffer.getvalue())
            os.replace(temp, self.out_dir / "stream.wav")
            self.progress.say(f"saved stream: {self.out_dir / 'stream.wav'}")


def execute(client: RunPodClient, args: argparse.Namespace, job: dict, progress: Progress) -> Any:
    if job.get("stream"):
        writer = ChunkWriter(getattr(args, "out", None), progress)
        progress.say("POST /run, reading /stream (tts)")
        try:
            output = client.stream(
                job, on_chunk=writer, on_progress=progress.update, timeout=getattr(args, "wait_timeout", None)
            )
        finally:
            writer.finish()
        if writer.first_audio_s is not None:
            print(f"time to first audio: {writer.first_audio_s:.3f} s", file=sys.stderr, flush=True)
        return output
    if getattr(args, "sync", False):
        progress.say(f"POST /runsync ({job['endpoint']})")
        return client.call(job, sync=True, on_progress=progress.update)
    job_id = client.run(job)
    progress.say(f"queued job {job_id} ({job['endpoint']})")
    body = client.wait(job_id, on_progress=progress.update, timeout=getattr(args, "wait_timeout", None))
    progress.say(f"job {job_id} {body.get('status')}")
    return client.output_of(body)


def save(client: RunPodClient, args: argparse.Namespace, output: Any, progress: Progress) -> None:
    out_dir = getattr(args, "out", None)
    if out_dir is None or not isinstance(output, dict):
        return
    if args.command == "download":
        paths = {"file": client.save_download(output, out_dir)}
    elif args.command in ("tts", "stt", "result"):
        paths = client.save_outputs(output, out_dir)
        record = output if args.command != "result" else output.get("output", {})
        job_id = record.get("job_id", "output")
        (Path(out_dir) / f"{job_id}.json").write_text(json.dumps(printable(output, False), indent=2) + "\n")
    else:
        return
    for name, path in paths.items():
        progress.say(f"saved {name}: {path}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    options = {
        "endpoint_id": getattr(args, "endpoint_id", None),
        "base_url": getattr(args, "base_url", None),
        "local": True if getattr(args, "local", False) else None,
    }
    if getattr(args, "timeout", None):
        options["timeout"] = args.timeout
    try:
        job = job_input(args)
    except OSError as exc:
        parser.error(f"cannot read {exc.filename}: {exc.strerror}")
    try:
        client = RunPodClient(**options)
    except ValueError as exc:
        parser.error(str(exc))
    progress = Progress(getattr(args, "quiet", False))
    with client:
        try:
            output = execute(client, args, job, progress)
            save(client, args, output, progress)
        except JobFailed as exc:
            where = f"job {exc.job_id} " if exc.job_id else ""
            print(f"{where}{exc.status}: {exc}", file=sys.stderr)
            return EXIT_JOB_FAILED
        except WaitTimeout as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_JOB_FAILED
        except ClientError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_UNREACHABLE
    print(json.dumps(printable(output, getattr(args, "raw", False)), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
