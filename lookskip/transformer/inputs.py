"""The transformer's input text of a log line, derived from its template key.

The TF-IDF model already reads each line as its template key
(:func:`lookskip.model.key.template_key`). The transformer reads the same key, made
short enough that the *message* fits in the token budget:

1. **Compact placeholders.** ``<NUM>`` is four WordPiece tokens of the MiniLM
   vocabulary (``<``, ``nu``, ``##m``, ``>``), ``<HEX>`` and ``<UUID>`` three or
   more; a timestamp alone (``<NUM>-<NUM>-<NUM> <NUM>:<NUM>:<NUM>``) was 24 tokens,
   and in an earlier trial 99.9% of one unseen system's lines were truncated
   before their message at ``max_length`` 64. Each placeholder becomes ONE token
   of the uncased MiniLM/BERT vocab (``tests/test_transformer_inputs.py`` checks
   it): ``<NUM>`` → ``#`` (punctuation, so it never merges with a neighbouring
   word: ``workers<NUM>.properties`` → ``workers # . properties``), ``<IP>`` →
   ``ip``, ``<HEX>`` → ``hash``, ``<UUID>`` → ``id`` (words the pretrained model
   knows, and the key's rules put a word boundary on both sides of those three).
2. **Squeeze number runs.** A run of ``#`` joined only by punctuation and spaces
   (``#-#-# #:#:#,#``, ``#.#.#``, a host suffix ``-#-#-#-#``) becomes one ``#``: the
   digits' layout carries no LOOK/SKIP signal that survived masking anyway.
3. **Drop the header.** The leading space-separated fields that hold no letters
   other than a month/weekday name or a placeholder word (timestamps, ``[#]``,
   ``#``, ``Jun #``, ``[Sun Dec # #]``, ``-``) are dropped; the first field with any
   other letter starts the input, so a level (``INFO``, ``[error]``, ``D``), a host
   name or a process name is kept. Rule derived from the 20 training datasets'
   line formats only (syslog, log4j, Apache, Android, HDFS, Zookeeper, ...): it
   needs no per-format parser, and a level word is never dropped, which matters
   because the level is often the whole signal.

Measured on the 30,811 labeled lines of the 20 training datasets (MiniLM
tokenizer, with [CLS]/[SEP]): see ``benchmarks/bench_transformer_unseen.py``,
which prints the token lengths and truncated share per system.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lookskip.model.key import template_key

# key placeholder -> one WordPiece token of the uncased MiniLM vocab
COMPACT: dict[str, str] = {"<NUM>": "#", "<IP>": "ip", "<HEX>": "hash", "<UUID>": "id"}
_COMPACT_RE = re.compile("|".join(re.escape(p) for p in COMPACT))
# a '#' followed by one or more (non-word, non-'#' chars then '#'): one number run
_NUM_RUN = re.compile(r"#(?:[^\w#]*#)+")
_CALENDAR = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun"
_WORDS = "|".join(w for w in COMPACT.values() if w.isalpha())
# a header field: only punctuation, '#', placeholder words and month/weekday names
_HEADER_FIELD = re.compile(rf"(?:[^\w]|_|#|\b(?:{_WORDS}|{_CALENDAR})\b)*", re.IGNORECASE)


def compact_placeholders(key: str) -> str:
    """``key`` with each placeholder replaced by its one-token form (see :data:`COMPACT`)."""
    return _COMPACT_RE.sub(lambda m: COMPACT[m.group(0)], key)


def squeeze_numbers(text: str) -> str:
    """Each run of ``#`` joined only by punctuation/spaces becomes one ``#``.

    >>> squeeze_numbers("#-#-# #:#:#,# INFO took #.# ms")
    '# INFO took # ms'
    """
    return _NUM_RUN.sub("#", text)


def header_length(text: str) -> int:
    """How many leading space-separated fields of ``text`` are header (never all of them).

    A header field holds no letters but a month/weekday name or placeholder word."""
    fields = text.split(" ")
    i = 0
    while i < len(fields) - 1 and _HEADER_FIELD.fullmatch(fields[i]):
        i += 1
    return i


def drop_header(text: str) -> str:
    """Drop the leading fields with no letters but a month/weekday name or placeholder word.

    The last field is always kept, so a line is never emptied.

    >>> drop_header("[Sun Dec # #] [error] mod_jk child in error state #")
    '[error] mod_jk child in error state #'
    >>> drop_header("Jun # # combo sshd(pam_unix)[#]: check pass; user unknown")
    'combo sshd(pam_unix)[#]: check pass; user unknown'
    """
    return " ".join(text.split(" ")[header_length(text) :])


def split_key_header(key: str) -> tuple[str, str]:
    """``(header, message)`` of a template key, cut where :func:`drop_header` cuts.

    The rule reads the key's compact form (one token per placeholder), which has the
    same space-separated fields as the key itself, so the cut maps back exactly. Why:
    the report shows the message first and the timestamp/pid columns dimmed.

    >>> split_key_header("<NUM>-<NUM> <NUM>:<NUM>:<NUM>.<NUM> <NUM> <NUM> W ActivityManager: x")
    ('<NUM>-<NUM> <NUM>:<NUM>:<NUM>.<NUM> <NUM> <NUM>', 'W ActivityManager: x')
    """
    n = header_length(compact_placeholders(key))
    fields = key.split(" ")
    return " ".join(fields[:n]), " ".join(fields[n:])


def input_from_key(key: str) -> str:
    """The transformer input of a template key (compact, squeezed, header dropped)."""
    return drop_header(squeeze_numbers(compact_placeholders(key))).strip()


def model_input(line: str) -> str:
    """The transformer input of a raw log line: :func:`input_from_key` of its key.

    >>> model_input("2015-10-18 18:01:47,978 INFO [main] org.a.b.MRAppMaster: Created MRAppMaster")
    'INFO [main] org.a.b.MRAppMaster: Created MRAppMaster'
    >>> model_input("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: auth failure; rhost=1.2.3.4")
    'combo sshd(pam_unix)[#]: auth failure; rhost=ip'
    """
    return input_from_key(template_key(line))


def model_inputs(lines: Iterable[str]) -> list[str]:
    return [model_input(line) for line in lines]
