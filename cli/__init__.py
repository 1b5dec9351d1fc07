"""The ``lookskip`` command line (click)."""
