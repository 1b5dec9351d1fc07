"""The LOOK floor and ``has_level`` judge level/error words, not substrings of names.

Each example is checked three ways: Python ``re`` on its template key (what both
read), and the floor of a
model file scored by the Rust extension and by the numpy reference (the model's
intercept made hopeless, so a line is LOOK exactly where the floor holds it up).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from lookskip.classify.scorer import Scorer
from lookskip.model.export import read_document, write_document
from lookskip.model.features import FEATURE_PATTERNS, level_pattern
from lookskip.model.key import template_key
from lookskip.model.pipeline import LOOK_FLOOR_PATTERN
from lookskip.rust import rust_module
from lookskip.shipped import shipped_file

LEVEL_WORDS = [
    "2024-05-01 ERROR connection lost",
    "error: cannot open file",
    "Error",
    "[warn] disk almost full",
    "WARNING: low memory",
    "3 warnings.",
    "task failed.",
    "Job FAILED",
    "fatal: not a git repository",
    "CRITICAL temperature",
    "an exception occurred",
    "java.io.IOException: Broken pipe",
    "java.lang.Exception: boom",
    "ValueError: bad value",
    "reason = AuthFail:sts:5",
    "sendSyncFailedBroadcast",
    "production: FailedScheduling: 0/3 nodes",
    "Transitioned from RUNNING to FAIL_CONTAINER_CLEANUP",
    "state=SYNC_FAILED",
    "errors=3 warnings=0",
    '"level":"error"',
    "Errored out",
]

NAMES = [
    "status unpacked liberror-perl:all 0.17029-2",
    "configure libgpg-error-dev:amd64 1.46-1 <none>",
    "Unpacking liberror-prone-java (2.18.0-1) ...",
    "open /var/log/nginx/error.log",
    "CustomLog ${APACHE_LOG_DIR}/error_log combined",
    "break on objc_exception_throw to catch this",
    "failover to replica 2 complete",
    "fmt.Errorf wraps it",
    "fail2ban started",
    "switch_module bcast-error 12 0 Link ok",
    "restart policy on-failure",
    "org.error.Handler loaded",
]


def test_pattern_is_the_floor_and_the_feature():
    assert LOOK_FLOOR_PATTERN == FEATURE_PATTERNS["LEVEL"] == level_pattern()


@pytest.mark.parametrize("line", LEVEL_WORDS)
def test_a_level_word_matches(line):
    assert re.search(LOOK_FLOOR_PATTERN, template_key(line), re.ASCII), line


@pytest.mark.parametrize("line", NAMES)
def test_a_name_holding_a_level_word_does_not(line):
    assert not re.search(LOOK_FLOOR_PATTERN, template_key(line), re.ASCII), line


@pytest.fixture(scope="module")
def floor_only_model(tmp_path_factory) -> Path:
    """The shipped model with an intercept no line can overcome: LOOK iff the floor."""
    doc = read_document(str(shipped_file("models/look_skip_model.json.gz")))
    assert doc["look_floor"] == LOOK_FLOOR_PATTERN  # the shipped file carries the rule
    path = tmp_path_factory.mktemp("floor") / "floor.json.gz"
    write_document({**doc, "intercept": -1e6}, str(path))
    return path


@pytest.mark.parametrize("backend", ["rust", "reference"])
def test_both_engines_floor_exactly_the_word_lines(floor_only_model, backend, monkeypatch):
    if backend == "reference":
        monkeypatch.setenv("LOOKSKIP_NO_RUST", "1")
    elif rust_module()[0] is None:
        pytest.fail("lookskip_rs is not built (scripts/setup builds it)")
    scorer = Scorer(str(floor_only_model))
    assert scorer.backend == backend
    lines = LEVEL_WORDS + NAMES
    look = np.asarray(scorer.predict_proba(lines)) >= scorer.threshold
    assert look.tolist() == [True] * len(LEVEL_WORDS) + [False] * len(NAMES)
