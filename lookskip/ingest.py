"""Ingestion: put each dataset's 2K-line sample under ``<data_dir>/loghub/``.

Where a sample comes from (the *source*):

* the dataset's registry entry (default): loghub datasets from ``settings.loghub_url``,
  synthetic ones from lookskip's seeded generator, a user's file from ``datasets add``;
* ``loghub``: the loghub datasets from ``settings.loghub_url``;
* ``synthetic``: the synthetic datasets, generated (``lookskip.synthetic``);
* an ``http(s)://`` base URL, a local directory or a ``file://`` (or any fsspec) URL:
  a *mirror*. Both layouts are accepted: flat ``<Name>_2k.log`` (like
  ``shared/data/loghub``) and loghub's own ``<Name>/<Name>_2k.log``. A mirror can
  hold synthetic datasets too; whatever registry datasets it has are taken.

What ingest accepts — a sample must be text a labeler and a classifier can read:
non-empty, no NUL byte (binary), strict UTF-8 (no lossy decoding: a replaced
character would silently change the labeled line; the error names the byte
offset), every line at most ``SAMPLE_MAX_LINE_BYTES`` (1 MiB, :mod:`lookskip.samples`),
the file at most ``MAX_FILE_BYTES``. Bytes are kept exactly as the source has them (CRLF, no
final newline), so the sha256 can be compared with the source.

Idempotency: a sample is rewritten only when its bytes would change. A local
mirror and the generator are compared by sha256 directly; for HTTP a record of
what was downloaded (source URL + sha256, ``<loghub_dir>/.ingest/<file>.json``,
one file per sample so that parallel per-dataset tasks never race on a shared
manifest) lets a re-run skip the download while still re-hashing the local copy:
a corrupted copy is fetched again. All writes are atomic (temp file + rename).

Each dataset is independent: a failure is reported in that dataset's
``IngestResult`` and the others go on. ``ingest_dataset`` is the unit a worker
task runs; ``ingest`` runs a selection in-process.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import httpx

from lookskip import datasets as ds
from lookskip import storage, synthetic
from lookskip.samples import SAMPLE_MAX_LINE_BYTES, IngestError, check_text
from lookskip.settings import Settings, get_settings

__all__ = ["SAMPLE_MAX_LINE_BYTES", "IngestError", "check_text"]  # (from samples)

MAX_FILE_BYTES = 256 << 20
TRUTH_SUFFIX = "_structured.csv"  # appended to the sample name: BGL_2k.log_structured.csv
RECORD_DIR = ".ingest"

#: HTTP answers worth retrying (the server or a proxy may recover).
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
DEFAULT_RETRIES = 4
DEFAULT_BACKOFF_S = 0.5
MAX_RETRY_AFTER_S = 30.0

#: Statuses of an IngestResult; only "failed" makes the command exit non-zero.
STATUSES = ("downloaded", "copied", "generated", "unchanged", "missing", "failed")


class NotFound(IngestError):
    """The source does not have the file."""


class SourceError(ValueError):
    """A ``--source`` that cannot be used at all (nothing to do per dataset)."""


@dataclass
class IngestResult:
    """What happened to one dataset; JSON-serialisable via ``to_dict`` (a task's result)."""

    dataset: str
    status: str
    source: str | None = None
    path: str | None = None
    lines: int = 0
    bytes: int = 0
    sha256: str | None = None
    error: str | None = None
    truth: str | None = None  # ground-truth CSV: copied/downloaded/unchanged/missing/failed: …

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- content


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class SampleSource:
    """A parsed ``--source``: ``registry``, ``loghub``, ``synthetic``, ``http`` or ``dir``."""

    kind: str
    location: str | None = None

    @property
    def is_mirror(self) -> bool:
        return self.kind in ("http", "dir")


def _location(url: str) -> SampleSource:
    if url.startswith(("http://", "https://")):
        return SampleSource("http", url.rstrip("/"))
    return SampleSource("dir", url.rstrip("/") or "/")


def source_dir(source: str | None) -> str | None:
    """The folder ``--source`` names (local or object store), the only kind of source
    that is a path: None for ``registry``, ``loghub``, ``synthetic`` and http(s)
    mirrors, which a worker's allowed roots do not govern."""
    if source in (None, "", "registry", "loghub", "synthetic"):
        return None
    src = _location(source)
    return src.location if src.kind == "dir" else None


def parse_source(source: str | None, settings: Settings | None = None) -> SampleSource:
    """Turn ``--source`` into a ``SampleSource``; a mirror directory must exist."""
    settings = settings or get_settings()
    if source in (None, "", "registry"):
        return SampleSource("registry")
    if source == "synthetic":
        return SampleSource("synthetic")
    if source == "loghub":
        return SampleSource("loghub", _location(settings.loghub_url).location)
    src = _location(source)
    if src.kind == "dir":
        try:
            fs, path = storage.fs_and_path(src.location)
            is_dir = fs.isdir(path)
            is_file = not is_dir and fs.exists(path)
        except (OSError, ValueError, ImportError) as exc:  # unknown scheme, unreachable host
            scheme = source.split("://", 1)[0] if "://" in source else "file"
            raise SourceError(
                f"source {source}: cannot open it as a {scheme} directory "
                f"({type(exc).__name__}: {exc}); use registry, loghub, synthetic, an "
                "http(s):// mirror or a directory"
            ) from None
        if is_file:
            raise SourceError(
                f"source {source}: is a file; --source takes a directory holding "
                "<Name>_2k.log samples (or registry, loghub, synthetic, an http(s):// mirror)"
            )
        if not is_dir:
            raise SourceError(f"source {source}: no such directory")
    return src


def _loghub_location(settings: Settings) -> SampleSource:
    return _location(settings.loghub_url)


def _candidates(name: str, file: str, nested_first: bool) -> list[str]:
    flat, nested = file, f"{name}/{file}"
    return [nested, flat] if nested_first else [flat, nested]


def _read_dir(base: str, name: str, file: str) -> tuple[bytes, str]:
    """The bytes of ``file`` in a mirror directory (flat or nested layout)."""
    for rel in _candidates(name, file, nested_first=False):
        path = storage.join(base, rel)
        fs, p = storage.fs_and_path(path)
        if fs.isfile(p):
            size = int(fs.size(p))
            if size > MAX_FILE_BYTES:
                raise IngestError(f"{path}: {size:,} bytes, larger than {MAX_FILE_BYTES:,}")
            return storage.read_bytes(path), path
    raise NotFound(f"{file} not found in {base}")


class Downloader:
    """An httpx client that retries transient failures with exponential backoff."""

    def __init__(
        self,
        retries: int = DEFAULT_RETRIES,
        backoff_s: float = DEFAULT_BACKOFF_S,
        timeout_s: float = 30.0,
        client: httpx.Client | None = None,
    ):
        self.retries = retries
        self.backoff_s = backoff_s
        # Hosts that could not be reached at all after every retry: the next files
        # from the same host fail at once instead of waiting through the backoff again.
        self.unreachable: dict[str, str] = {}
        self.client = client or httpx.Client(
            timeout=timeout_s,
            follow_redirects=True,
            headers={"User-Agent": "lookskip-ingest"},
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Downloader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str) -> bytes | None:
        """The body of ``url``; ``None`` on 404/410; ``IngestError`` once retries run out."""
        host = httpx.URL(url).host
        if host in self.unreachable:
            raise IngestError(f"{url}: {self.unreachable[host]} (host unreachable earlier)")
        last, reached = "", False
        for attempt in range(self.retries + 1):
            delay = self.backoff_s * (2**attempt)
            try:
                with self.client.stream("GET", url) as resp:
                    reached = True
                    if resp.status_code in (404, 410):
                        return None
                    if resp.status_code in RETRY_STATUSES:
                        last = f"HTTP {resp.status_code}"
                        delay = max(delay, _retry_after(resp))
                    elif resp.status_code >= 400:
                        raise IngestError(f"{url}: HTTP {resp.status_code}")
                    else:
                        return _read_capped(resp, url)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if attempt < self.retries:
                time.sleep(delay)
        if not reached:
            self.unreachable[host] = last
        raise IngestError(f"{url}: {last} (gave up after {self.retries + 1} attempts)")


def _retry_after(resp: httpx.Response) -> float:
    try:
        return min(float(resp.headers.get("retry-after", 0)), MAX_RETRY_AFTER_S)
    except ValueError:
        return 0.0


def _read_capped(resp: httpx.Response, url: str) -> bytes:
    chunks, total = [], 0
    for chunk in resp.iter_bytes():
        total += len(chunk)
        if total > MAX_FILE_BYTES:
            raise IngestError(f"{url}: larger than {MAX_FILE_BYTES:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _download(dl: Downloader, base: str, name: str, file: str) -> tuple[bytes, str]:
    tried = []
    for rel in _candidates(name, file, nested_first=True):
        url = f"{base}/{rel}"
        data = dl.get(url)
        if data is not None:
            return data, url
        tried.append(url)
    raise NotFound(f"HTTP 404 for {' and '.join(tried)}")


# --------------------------------------------------------------------------- records


def _record_path(settings: Settings, file: str) -> str:
    return storage.join(settings.loghub_dir, RECORD_DIR, f"{file}.json")


def read_record(settings: Settings, file: str) -> dict | None:
    """What the last ingest wrote for ``file`` (source, sha256, …), if anything."""
    path = _record_path(settings, file)
    try:
        return storage.read_json(path) if storage.exists(path) else None
    except (OSError, ValueError):
        return None  # a damaged record only costs a re-fetch


def _write_record(settings: Settings, file: str, source: str, sha: str, size: int) -> None:
    old = read_record(settings, file)
    if old and old.get("source") == source and old.get("sha256") == sha:
        return
    storage.write_json(
        _record_path(settings, file),
        {
            "file": file,
            "source": source,
            "sha256": sha,
            "bytes": size,
            "ingested_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )


def _local_sha(path: str) -> str | None:
    return storage.sha256(path) if storage.exists(path) else None


# --------------------------------------------------------------------------- one file


@dataclass
class _FileOutcome:
    status: str
    source: str
    path: str
    lines: int
    size: int
    sha: str


def _put(
    settings: Settings, file: str, data: bytes, source: str, fresh: str, force: bool
) -> _FileOutcome:
    """Check ``data`` and write it as ``<loghub_dir>/<file>`` unless identical already."""
    lines = check_text(data)
    target = storage.join(settings.loghub_dir, file)
    sha = sha256_bytes(data)
    status = "unchanged" if (not force and _local_sha(target) == sha) else fresh
    if status != "unchanged":
        storage.write_bytes(target, data)
    _write_record(settings, file, source, sha, len(data))
    return _FileOutcome(status, source, target, lines, len(data), sha)


def _ingest_file(
    settings: Settings,
    src: SampleSource,
    name: str,
    file: str,
    *,
    force: bool,
    dl: Downloader | None,
) -> _FileOutcome:
    """Fetch one file of dataset ``name`` from a mirror (``http`` or ``dir``)."""
    if src.kind == "dir":
        data, origin = _read_dir(src.location, name, file)
        return _put(settings, file, data, origin, "copied", force)
    target = storage.join(settings.loghub_dir, file)
    record = read_record(settings, file)
    urls = {f"{src.location}/{rel}" for rel in _candidates(name, file, True)}
    if not force and record and record.get("source") in urls and storage.exists(target):
        sha = storage.sha256(target)
        if sha == record.get("sha256"):  # re-verified: the local copy is what was downloaded
            data = storage.read_bytes(target)
            return _FileOutcome(
                "unchanged", record["source"], target, check_text(data), len(data), sha
            )
    assert dl is not None
    data, origin = _download(dl, src.location, name, file)
    return _put(settings, file, data, origin, "downloaded", force)


# --------------------------------------------------------------------------- one dataset


def _effective_source(d: ds.Dataset, src: SampleSource, settings: Settings) -> SampleSource:
    """Which source serves dataset ``d``; ``IngestError`` if the chosen one cannot."""
    if src.kind == "registry":
        if d.source == "loghub":
            return _loghub_location(settings)
        return SampleSource(d.source, d.path)
    if src.kind == "loghub":
        if d.source != "loghub":
            raise IngestError(
                f"{d.name} is a {d.source} dataset, not on loghub "
                f"(use --source {'synthetic' if d.source == 'synthetic' else 'DIR'})"
            )
        return _location(src.location)
    if src.kind == "synthetic" and d.name not in synthetic.GENERATORS:
        raise IngestError(
            f"{d.name} is not a synthetic dataset "
            f"(synthetic ones: {', '.join(synthetic.GENERATORS)})"
        )
    return src


def ingest_dataset(
    dataset: ds.Dataset | str,
    source: str | SampleSource | None = None,
    settings: Settings | None = None,
    *,
    force: bool = False,
    seed: int = synthetic.DEFAULT_SEED,
    required: bool = True,
    downloader: Downloader | None = None,
) -> IngestResult:
    """Ingest one dataset and report what happened; never raises for a bad item.

    ``required=False`` (a dataset the user did not name) turns "the mirror does not
    have it" into status ``missing`` instead of ``failed``.
    """
    settings = settings or get_settings()
    name = dataset if isinstance(dataset, str) else dataset.name
    origin = _describe(source)
    try:
        d = ds.select([name], settings)[0] if isinstance(dataset, str) else dataset
        src = source if isinstance(source, SampleSource) else parse_source(source, settings)
        if src.kind == "registry" and not force and (kept := _verified(settings, d)):
            return kept
        eff = _effective_source(d, src, settings)
        origin = eff.location or eff.kind
        if eff.kind == "synthetic":
            text = synthetic.generate(d.name, seed)
            out = _put(
                settings,
                d.sample_name,
                text.encode("utf-8"),
                f"synthetic:seed={seed}",
                "generated",
                force,
            )
            return _result(d, out)
        if eff.kind == "file":
            return _user_file(d, settings)
        own = downloader is None and eff.kind == "http"
        dl = Downloader() if own else downloader
        try:
            out = _ingest_file(settings, eff, d.name, d.sample_name, force=force, dl=dl)
            result = _result(d, out)
            if d.ground_truth:
                result.truth = _truth(settings, eff, d, force=force, dl=dl)
            return result
        finally:
            if own:
                dl.close()
    except NotFound as exc:
        status = "failed" if required else "missing"
        return IngestResult(name, status, source=origin, error=str(exc))
    except (IngestError, ds.DatasetError, SourceError, OSError, httpx.HTTPError) as exc:
        return IngestResult(name, "failed", source=origin, error=_one_line(exc))


def _verified(settings: Settings, d: ds.Dataset) -> IngestResult | None:
    """The sample already in place, if it is still exactly what an earlier ingest wrote.

    Without ``--source`` a verified sample is kept whatever its source was (a local
    mirror, a download, the generator): the user asked for "every dataset present
    and intact", not for a particular origin. A corrupted or unrecorded copy is
    fetched again from the registry source.
    """
    target = storage.join(settings.loghub_dir, d.sample_name)
    record = read_record(settings, d.sample_name)
    if not record or not storage.exists(target):
        return None
    data = storage.read_bytes(target)
    sha = sha256_bytes(data)
    if sha != record.get("sha256"):
        return None
    result = IngestResult(
        d.name,
        "unchanged",
        source=record.get("source"),
        path=target,
        lines=check_text(data),
        bytes=len(data),
        sha256=sha,
    )
    if d.ground_truth:
        truth = storage.join(settings.loghub_dir, d.sample_name + TRUTH_SUFFIX)
        result.truth = "unchanged" if storage.exists(truth) else "missing"
    return result


def _truth(
    settings: Settings, src: SampleSource, d: ds.Dataset, *, force: bool, dl: Downloader | None
) -> str:
    """Bring the ground-truth CSV along; its absence does not fail the dataset."""
    try:
        return _ingest_file(
            settings, src, d.name, d.sample_name + TRUTH_SUFFIX, force=force, dl=dl
        ).status
    except NotFound:
        return "missing"
    except (IngestError, OSError, httpx.HTTPError) as exc:
        return f"failed: {_one_line(exc)}"


def _user_file(d: ds.Dataset, settings: Settings) -> IngestResult:
    """A ``datasets add`` sample is already in place; check it rather than re-take it."""
    target = storage.join(settings.loghub_dir, d.sample_name)
    if not storage.exists(target):
        raise IngestError(
            f"sample {d.sample_name} is missing; run "
            f"`lookskip datasets add {d.name} {d.path or 'PATH'}` again"
        )
    data = storage.read_bytes(target)
    return IngestResult(
        d.name,
        "unchanged",
        source=d.path,
        path=target,
        lines=check_text(data),
        bytes=len(data),
        sha256=sha256_bytes(data),
    )


def _result(d: ds.Dataset, out: _FileOutcome) -> IngestResult:
    return IngestResult(
        d.name,
        out.status,
        source=out.source,
        path=out.path,
        lines=out.lines,
        bytes=out.size,
        sha256=out.sha,
    )


def _describe(source: str | SampleSource | None) -> str | None:
    if isinstance(source, SampleSource):
        return source.location or source.kind
    return source


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


# --------------------------------------------------------------------------- many


def plan(
    names: str | Iterable[str] | None, source: str | None, settings: Settings | None = None
) -> tuple[SampleSource, list[tuple[ds.Dataset, bool]]]:
    """The source and the datasets to ingest, each with whether the user named it.

    Unnamed datasets follow the source: ``loghub`` → the loghub ones, ``synthetic`` →
    the synthetic ones, a mirror or the registry → all of them.
    """
    settings = settings or get_settings()
    src = parse_source(source, settings)
    if isinstance(names, str):
        names = [n for n in (x.strip() for x in names.split(",")) if n]
    names = list(names or [])
    if names:
        return src, [(d, True) for d in ds.select(names, settings)]
    only = {"loghub": "loghub", "synthetic": "synthetic"}.get(src.kind)
    chosen = ds.select(None, settings, source=only)
    if src.kind == "synthetic":
        chosen = [d for d in chosen if d.name in synthetic.GENERATORS]
    return src, [(d, False) for d in chosen]


def ingest(
    names: str | Iterable[str] | None = None,
    source: str | None = None,
    settings: Settings | None = None,
    *,
    force: bool = False,
    seed: int = synthetic.DEFAULT_SEED,
    progress: Callable[[str, IngestResult | None], None] | None = None,
    retries: int = DEFAULT_RETRIES,
    backoff_s: float = DEFAULT_BACKOFF_S,
) -> list[IngestResult]:
    """Ingest a selection of datasets, one after the other; one result each.

    ``progress(name, None)`` is called when a dataset starts and
    ``progress(name, result)`` when it ends. Raises ``SourceError`` only for a
    source that cannot be used at all (a directory that does not exist, or a
    mirror that has none of the datasets).
    """
    settings = settings or get_settings()
    src, todo = plan(names, source, settings)
    results: list[IngestResult] = []
    with Downloader(retries=retries, backoff_s=backoff_s) as dl:
        for d, named in todo:
            if progress:
                progress(d.name, None)
            r = ingest_dataset(
                d, src, settings, force=force, seed=seed, required=named, downloader=dl
            )
            results.append(r)
            if progress:
                progress(d.name, r)
    if src.is_mirror and todo and all(r.status == "missing" for r in results):
        raise SourceError(
            f"source {src.location} has none of the datasets "
            f"(expected <Name>_2k.log or <Name>/<Name>_2k.log)"
        )
    return results


def summary(results: list[IngestResult]) -> dict:
    """Counts by status, for a one-line report and a task's result."""
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return {"datasets": len(results), "failed": counts.get("failed", 0), "by_status": counts}


def results_json(results: list[IngestResult]) -> str:
    return json.dumps([r.to_dict() for r in results], indent=2)
