"""lookskip: find the few log lines worth a human's attention.

The core package holds the pipeline logic as plain functions and small classes.
It never imports Celery: ``worker/`` wraps these functions as tasks and ``cli/``
wraps them as commands, so every stage runs the same code in-process or on workers.
"""

__version__ = "0.1.0"
