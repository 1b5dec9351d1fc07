"""Thin Celery tasks: parse arguments, call ``lookskip`` functions, report progress."""
