"""One module per endpoint; each exposes ``run(request, ctx, job_id) -> dict``."""
