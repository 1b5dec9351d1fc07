"""The LOOK/SKIP model's text transforms, defined once and exported by name.

Everything here must be exactly reproducible outside Python (the Rust classifier
re-implements it from the exported file), so the rules are deliberately ASCII-only
and regex-only in a dialect both Python ``re`` (with ``re.ASCII``) and Rust's
``regex::bytes`` (with ``(?-u)``) read identically: no look-around, no
back-references, no ``.`` counted in a fixed repeat.
"""
