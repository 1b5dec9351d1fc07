"""Compressed logs, by their magic bytes: the Python twin of ``rust/src/stream.rs``.

gzip, xz, bzip2 and zstd are read as streams (every member or frame of a concatenated
file, as ``zcat`` does); a format recognised but not read (lz4, ``.Z``, 7z …) is named
in the error instead of being called a binary file. Detection is by content, never by
name, as in Rust; names only decide which files are one stream (not split into byte
ranges) and which are archives (``lookskip.bulk.inputs``).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from typing import IO, Any

# kind -> file-name suffixes of a single compressed stream.
STREAM_SUFFIXES: dict[str, tuple[str, ...]] = {
    "gz": (".gz",),
    "xz": (".xz",),
    "bz2": (".bz2",),
    "zst": (".zst", ".zstd"),
}
# Tar archives by suffix, and the compression of their stream.
TAR_SUFFIXES: dict[str, str | None] = {
    ".tar.gz": "gz",
    ".tgz": "gz",
    ".tar.xz": "xz",
    ".txz": "xz",
    ".tar.bz2": "bz2",
    ".tbz2": "bz2",
    ".tbz": "bz2",
    ".tar.zst": "zst",
    ".tzst": "zst",
    ".tar": None,
}


def compressed_name(name: str) -> bool:
    """Whether ``name`` is named as one compressed stream (``app.log.gz``, ``x.zst`` …)."""
    return name.lower().endswith(tuple(s for v in STREAM_SUFFIXES.values() for s in v))


_BZIP2_BLOCKS = (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")

# Recognised, not read (rust/src/stream.rs `UNSUPPORTED`, same order and names).
UNSUPPORTED: tuple[tuple[bytes, str], ...] = (
    (b"\x04\x22\x4d\x18", "lz4"),
    (b"\x1f\x9d", "compress (.Z)"),
    (b"LZIP\x01", "lzip"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"\x5d\x00\x00", "lzma (legacy .lzma)"),
)

# Bytes a caller should peek to tell every format apart (bzip2 needs ten).
SNIFF_BYTES = 10


def sniff(head: bytes) -> str | None:
    """The compression (``gz``, ``xz``, ``bz2``, ``zst``) a stream starting ``head`` is in."""
    if head.startswith(b"\x1f\x8b"):
        return "gz"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zst"
    bzip2 = head[:3] == b"BZh" and head[3:4] in b"123456789" and head[3:4] != b""
    return "bz2" if bzip2 and head[4:10] in _BZIP2_BLOCKS else None


def unsupported(head: bytes) -> str | None:
    """The one-line error for a stream in a compressed format not read here, else None."""
    for magic, name in UNSUPPORTED:
        if head.startswith(magic):
            return (
                f"{name}-compressed input: a format lookskip does not read (decompress it "
                "first; gzip, xz, bzip2 and zstd are read directly)"
            )
    return None


BINARY_PROBE = 8192  # a NUL byte in the first 8 KiB of a stream: binary, not a log
BINARY_ERROR = "binary file (NUL bytes in the first 8 KiB)"


def unreadable(head: bytes) -> str | None:
    """Why a (decompressed) stream starting ``head`` cannot be classified, else None:
    a compressed format not read here, named, or binary (rust/src/bulk.rs ``unreadable``)."""
    return unsupported(head) or (BINARY_ERROR if b"\0" in head[:BINARY_PROBE] else None)


def decompress(kind: str, raw: IO[bytes]) -> Any:
    """A binary stream of ``raw``'s bytes decompressed as ``kind`` (``sniff``'s names)."""
    if kind == "gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if kind == "xz":
        return lzma.LZMAFile(raw, mode="rb")
    if kind == "bz2":
        return bz2.BZ2File(raw, mode="rb")
    if kind == "zst":
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        return io.BufferedReader(reader, 1 << 20)  # peek(), like the other three
    raise ValueError(f"unknown compression {kind!r}")


def skip(stream: Any, n: int) -> int:
    """Read and drop ``n`` bytes of a (decompressed, forward-only) stream; how many were."""
    done = 0
    while done < n:
        block = stream.read(min(1 << 20, n - done))
        if not block:
            break
        done += len(block)
    return done


def _decode_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [EOFError, zlib.error, lzma.LZMAError]
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:  # then zstd input fails on import, with its own message
        pass
    return tuple(errors)


# What a damaged or cut stream raises besides OSError (gzip.BadGzipFile, bz2's are
# OSErrors): "truncated or corrupt" errors for that input, never a crash.
DECODE_ERRORS = _decode_errors()


def stream_errors() -> tuple[type[BaseException], ...]:
    """Every error reading a compressed stream can raise."""
    return (OSError, *DECODE_ERRORS)
