"""Bulk classification of log archives: inputs, chunks, parts, merge, summary, report.

The same functions serve ``lookskip classify`` (one process) and the ``classify``
Celery workflow (``worker/tasks/classify.py``): both cut every input into the same
units of work (a byte range of a plain file, a whole compressed file, an archive
member) and score each unit with :func:`lookskip.bulk.scan.scan_unit`, so the two
give identical results by construction.
"""
