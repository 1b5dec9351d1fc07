"""Celery app and thin task wrappers around ``lookskip`` functions."""
