"""The per-process context: one voice cache for every job, also when a test builds the context itself."""

import dataclasses

from f5worker.context import WorkerContext, build_context
from f5worker.dispatch import handle_job
from f5worker.engines import Engines
from f5worker.job_outputs import job_outputs
from f5worker.reference_cache import ReferenceCache
from f5worker.settings import Settings
from f5worker.storage.local import LocalStorage
from tests.helpers import espeak_wav


def test_a_context_built_by_hand_gets_its_own_voice_cache(tmp_path):
    settings = Settings(storage_dir=tmp_path / "storage", voice_cache_dir=tmp_path / "cache")
    ctx = WorkerContext(settings=settings, storage=LocalStorage(settings.storage_dir), engines=Engines())
    assert isinstance(ctx.references, ReferenceCache)
    assert ctx.references.files.storage is ctx.storage and ctx.references.files.root == tmp_path / "cache"


def test_every_job_shares_the_process_cache(tmp_path):
    settings = Settings(storage_dir=tmp_path / "storage", voice_cache_dir=tmp_path / "cache")
    ctx = build_context(settings, engines=Engines())
    with job_outputs(ctx, "job-1") as job_ctx:
        assert job_ctx.storage is not ctx.storage  # the job's recording view of storage
        assert job_ctx.references is ctx.references
    assert dataclasses.replace(ctx).references is ctx.references


def test_build_context_reads_voices_through_the_storage_it_was_given(tmp_path):
    settings = Settings(storage_dir=tmp_path / "unused", voice_cache_dir=tmp_path / "cache")
    storage = LocalStorage(tmp_path / "given")
    ctx = build_context(settings, engines=Engines(), storage=storage)
    assert ctx.storage is storage and ctx.references.files.storage is storage


def test_the_same_voice_is_read_from_storage_once_across_jobs(tmp_path):
    ctx = build_context(
        Settings(storage_dir=tmp_path / "storage", voice_cache_dir=tmp_path / "cache"), engines=Engines()
    )
    ctx.storage.put_bytes("voices/host.wav", espeak_wav("A voice for the list.", tmp_path / "host.wav").read_bytes())
    for job_id in ("list-1", "list-2"):
        listed = handle_job({"id": job_id, "input": {"endpoint": "voices", "action": "list"}}, ctx)
        assert [voice["name"] for voice in listed["voices"]] == ["host"], listed
    assert ctx.references.files.downloads == 1
