#!/usr/bin/env python
"""What the worker and the RunPod SDK's production loop cost around the quick endpoints.

1. Latency per endpoint (health, result, download, voices list): one job at a time through the fake
   job queue of ``tests/job_queue.py`` and the real production loop (``python runpod-handler.py`` with
   the SDK's job-take / job-done URLs pointed at it), measured from the moment the job is queued to the
   moment its job-done post arrives; and the same jobs in-process through ``handle_job``. Medians and
   90th percentiles in milliseconds, with the ratio loop / in-process.
2. Throughput of ``result`` and ``download`` jobs (half each) queued all at once, with
   ``MAX_CONCURRENCY=1`` and ``MAX_CONCURRENCY=4`` (the SDK then fetches batches of up to 4). runpod
   1.10.0 sleeps 1 s whenever its slots are full before it asks for more, so quick jobs run at about
   MAX_CONCURRENCY jobs per second however fast the handler is.

Storage is local (a temp dir) or moto's S3 server in this process (``--storage s3``). TTS is disabled in
the workers (the endpoints measured do not use it), so each worker starts in about 10 s.

    .venv/bin/python bench/handler_overhead.py
    .venv/bin/python bench/handler_overhead.py --storage s3 --jobs 40 --throughput-jobs 60
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.measure import add_smoke_flag  # noqa: E402
from tests.helpers import espeak_wav, free_port, s3_env, worker_env  # noqa: E402
from tests.job_queue import JobQueue, ProductionWorker  # noqa: E402

JOBS = {
    "health": {"endpoint": "health"},
    "result": {"endpoint": "result", "job_id": "bench-job"},
    "download": {"endpoint": "download", "job_id": "bench-job", "file": "srt", "delivery": "text"},
    "voices-list": {"endpoint": "voices", "action": "list"},
}
SRT = "".join(f"{n}\n00:00:{n:02d},000 --> 00:00:{n:02d},900\nCaption number {n}\n\n" for n in range(1, 40))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def seed(storage, work: Path) -> None:
    """A finished job (stored result + SRT) and two stored voices."""
    record = {
        "job_id": "bench-job",
        "endpoint": "stt",
        "created_at": "2026-11-23T00:00:00+00:00",
        "output": {
            "text": "hello " * 50,
            "words": [{"word": "hello", "start": i, "end": i + 0.5} for i in range(50)],
            "files": {"srt": {"key": "outputs/bench-job/timings.srt"}},  # download serves what the record names
        },
    }
    storage.put_bytes("results/bench-job.json", json.dumps(record).encode(), content_type="application/json")
    storage.put_bytes("outputs/bench-job/timings.srt", SRT.encode(), content_type="application/x-subrip")
    for name in ("alpha", "beta"):
        wav = espeak_wav(f"This is voice {name}, speaking for the benchmark.", work / f"{name}.wav")
        storage.put_bytes(f"voices/{name}.wav", wav.read_bytes(), content_type="audio/wav")
        storage.put_bytes(f"voices/{name}.txt", f"This is voice {name}.".encode(), content_type="text/plain")


def loop_latencies(queue: JobQueue, job_input: dict, count: int, warmup: int = 3) -> list[float]:
    """Jobs queued at random moments: the SDK's job runner wakes every 100 ms, and queuing right after the
    previous result would always land at the start of that wait."""
    rng = random.Random(3)
    times = []
    for index in range(warmup + count):
        time.sleep(rng.uniform(0.0, 0.25))
        job_id = queue.enqueue(job_input)
        queued = time.monotonic()
        body = queue.wait_for_result(job_id, timeout=60)
        assert "output" in body, body
        arrived = next(p.at for p in queue.final_posts() if p.job_id == job_id)
        if index >= warmup:
            times.append((arrived - queued) * 1000)
    return times


def inprocess_latencies(ctx, job_input: dict, count: int, warmup: int = 3) -> list[float]:
    from f5worker.dispatch import handle_job

    times = []
    for index in range(warmup + count):
        started = time.perf_counter()
        output = handle_job({"id": f"inproc-{index}", "input": job_input}, ctx)
        elapsed = (time.perf_counter() - started) * 1000
        assert "error" not in output, output
        if index >= warmup:
            times.append(elapsed)
    return times


def throughput(queue: JobQueue, count: int) -> float:
    """Jobs per second for ``count`` result/download jobs queued at once."""
    jobs = [(None, JOBS["result"] if n % 2 else JOBS["download"]) for n in range(count)]
    before = len(queue.final_posts())
    queued = time.monotonic()
    ids = set(queue.enqueue_many(jobs))
    queue.wait_for_results(before + count, timeout=600)
    finals = [p for p in queue.final_posts() if p.job_id in ids]
    assert len(finals) == count and all("output" in p.body for p in finals)
    return count / (max(p.at for p in finals) - queued)


def start_worker(storage_env: dict, concurrency: int, work: Path) -> tuple[JobQueue, ProductionWorker]:
    queue = JobQueue().start()
    env = worker_env(
        **storage_env,
        **queue.env(ping=False),
        MAX_CONCURRENCY=str(concurrency),
        VOICE_CACHE_DIR=str(work / f"voice-cache-{concurrency}"),
    )
    worker = ProductionWorker(env, work / f"worker-{concurrency}.log", work / f"cwd-{concurrency}")
    worker.wait_ready(queue, timeout=180)
    return queue, worker


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=40, help="jobs per endpoint for the latency table")
    parser.add_argument("--throughput-jobs", type=int, default=60)
    parser.add_argument("--storage", choices=["local", "s3"], default="local")
    add_smoke_flag(parser, jobs=2, throughput_jobs=4)
    args = parser.parse_args()

    from f5worker.context import build_context
    from f5worker.engines import Engines
    from f5worker.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="bench-handler-"))
    moto = None
    if args.storage == "s3":
        import logging

        from moto.server import ThreadedMotoServer

        from tests.conftest import make_bucket

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise

        port = free_port()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        moto.start()
        storage_env = s3_env(f"http://127.0.0.1:{port}", make_bucket(f"http://127.0.0.1:{port}"))
    else:
        storage_env = {"STORAGE_DIR": str(work / "storage")}
    settings = Settings(
        **{key.lower(): value for key, value in storage_env.items()}, voice_cache_dir=work / "voice-cache-inprocess"
    )
    ctx = build_context(settings, engines=Engines())
    seed(ctx.storage, work)

    print(
        f"storage {args.storage}; {args.jobs} jobs per endpoint (after 3 warm-up jobs); "
        f"throughput over {args.throughput_jobs} result/download jobs"
    )
    rates = {}
    latency_rows = []
    for concurrency in (4, 1):
        queue, worker = start_worker(storage_env, concurrency, work)
        try:
            if concurrency == 4:
                for name, job_input in JOBS.items():
                    loop = loop_latencies(queue, job_input, args.jobs)
                    local = inprocess_latencies(ctx, job_input, args.jobs)
                    latency_rows.append((name, loop, local))
            rates[concurrency] = throughput(queue, args.throughput_jobs)
            assert queue.protocol_errors() == [], queue.protocol_errors()
        finally:
            worker.stop()
            queue.close()
    if moto is not None:
        moto.stop()

    print()
    print(
        f"{'endpoint':<13}{'loop p50':>10}{'loop p90':>10}{'in-proc p50':>13}{'in-proc p90':>13}"
        f"{'loop-in-proc':>14}{'loop/in-proc':>14}"
    )
    for name, loop, local in latency_rows:
        loop_p50, local_p50 = statistics.median(loop), statistics.median(local)
        print(
            f"{name:<13}{loop_p50:>10.1f}{percentile(loop, 0.9):>10.1f}{local_p50:>13.2f}"
            f"{percentile(local, 0.9):>13.2f}{loop_p50 - local_p50:>14.1f}{loop_p50 / local_p50:>14.0f}"
        )
    print("(milliseconds; loop = queued -> job-done post through the SDK production loop)")
    print()
    print(f"{'MAX_CONCURRENCY':<17}{'jobs/s':>8}{'ratio':>8}")
    for concurrency in (1, 4):
        print(f"{concurrency:<17}{rates[concurrency]:>8.1f}{rates[concurrency] / rates[1]:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
