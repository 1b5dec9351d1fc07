"""Local classification of log files with the exported model (Rust extension or numpy).

``local`` picks the scorer and classifies files one by one; the CLI command
``lookskip classify`` only parses options and reports.
"""
