"""Test-only fault injection, active only when F5WORKER_TEST_OOM_MARKER is set.

First on a worker's PYTHONPATH (``tests.helpers.oom_injection_env``), Python imports it at start-up:
it wraps ``F5Engine.synthesize_chunk`` to raise ``torch.cuda.OutOfMemoryError`` for chunks that
contain the marker, without the worker's code knowing of it.
"""

import os

_marker = os.environ.get("F5WORKER_TEST_OOM_MARKER")
if _marker:
    from f5worker.engines import f5 as _f5

    _original = _f5.F5Engine.synthesize_chunk

    def _synthesize(self, ref_audio, ref_text, text, *args, **kwargs):
        if _marker in text:
            import torch

            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (injected by a test)")
        return _original(self, ref_audio, ref_text, text, *args, **kwargs)

    _f5.F5Engine.synthesize_chunk = _synthesize
