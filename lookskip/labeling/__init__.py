"""Labeling: every sample line LOOK or SKIP, by Claude through the Message Batches API.

Steps (each usable alone, e.g. as a Celery task): ``batches.prepare`` →
``batches.submit_batch`` → ``batches.poll_batch`` (one check) → ``batches.collect_batch``
→ ``batches.prepare_resubmits`` → ``merge.merge_labels``. ``pipeline.run_label`` chains
them in one process for ``lookskip label``.
"""
