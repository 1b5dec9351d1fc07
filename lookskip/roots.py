"""Where workers may read and write: ``LOOKSKIP_ALLOWED_ROOTS``.

Why: a Celery task takes its paths from its message, and whoever can put a message
on the broker could name any file the worker can read (``enqueue classify
/etc/shadow --threshold 0 --output out/`` copied the file's lines into the output)
or any folder it can write. Workers therefore check every local path a task names,
after resolving symbolic links (a link inside an allowed folder that points out of
it is refused too), against a list of allowed folders: by default the data dir and
the ``/data`` mount the compose file gives every container. A path outside is
refused with a one-line reason; inputs one by one (the others go on), an output dir
for the whole task.

Object-store URLs are allowed unless the list names URL prefixes: the store's own
credentials decide what a worker may reach there; with ``s3://bucket/in`` in the
list, only URLs under the listed prefixes are. Local ``lookskip classify`` never
checks: it runs as its user, on that user's files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lookskip import storage

if TYPE_CHECKING:
    from lookskip.bulk.inputs import Expansion

# The mount compose.yaml gives every worker container (the shared data volume).
DEFAULT_MOUNTS = ("/data",)


class PathNotAllowed(ValueError):
    """A task named a path outside the allowed roots (the message says which)."""


def allowed_roots(setting: str | None, data_dir: str) -> list[str]:
    """The roots from the setting (comma-separated), or the data dir and the mounts."""
    roots = [r.strip() for r in (setting or "").split(",") if r.strip()]
    return roots or [data_dir, *DEFAULT_MOUNTS]


def worker_roots() -> list[str]:
    """This worker's allowed roots, from its settings."""
    from lookskip.settings import get_settings

    s = get_settings()
    return allowed_roots(s.allowed_roots, s.data_dir)


def _real(url: str) -> str:
    return os.path.realpath(storage.fs_and_path(url)[1])


def _under(path: str, root: str) -> bool:
    root = root.rstrip("/") or "/"
    return path == root or path.startswith(root if root == "/" else f"{root}/")


def problem(url: str, roots: Sequence[str]) -> str | None:
    """Why ``url`` is outside ``roots`` (None: it is inside), in words for the user."""
    if storage.is_local(url):
        real = _real(url)
        local = [_real(r) for r in roots if storage.is_local(r)]
        if any(_under(real, r) for r in local):
            return None
        via = "" if real == os.path.abspath(storage.fs_and_path(url)[1]) else f" (it is {real})"
        return (
            f"{url}{via} is outside the folders workers may use "
            f"({', '.join(local) or 'none'}; set LOOKSKIP_ALLOWED_ROOTS)"
        )
    prefixes = [r for r in roots if not storage.is_local(r)]
    if not prefixes or any(_under(url, p) for p in prefixes):
        return None
    return (
        f"{url} is outside the URL prefixes workers may use "
        f"({', '.join(prefixes)}; set LOOKSKIP_ALLOWED_ROOTS)"
    )


def check(url: str, roots: Sequence[str], what: str) -> None:
    """Raise :class:`PathNotAllowed` (``what``: input, output …) if ``url`` is outside."""
    why = problem(url, roots)
    if why:
        raise PathNotAllowed(f"{what} refused: {why}")


def confine(inputs: Sequence[str], roots: Sequence[str], **expand: Any) -> Expansion:
    """Expand ``inputs`` as :func:`~lookskip.bulk.inputs.expand_inputs` does, within
    ``roots``: an input outside is an :class:`InputError` (never walked or opened),
    and so is a file found in a folder whose real path is outside (a link out)."""
    from lookskip.bulk.inputs import InputError, expand_inputs

    inside, refused = [], []
    for raw in inputs:
        why = problem(raw, roots)
        if why:
            refused.append(InputError(raw, f"input refused: {why}"))
        else:
            inside.append(raw)
    exp = expand_inputs(inside, **expand)
    kept = []
    for src in exp.sources:
        why = problem(src.url, roots)
        if why:
            refused.append(InputError(src.name, f"input refused: {why}"))
        else:
            kept.append(src)
    exp.sources = kept
    exp.errors = refused + exp.errors
    return exp
