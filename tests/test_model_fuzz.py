"""No model file can panic the classifier or reach the CLI as a traceback (issue 24, #9 and #15).

A model file is input like any other: a user can point ``--model`` at anything. The
property test mutates a real (shrunk) exported model, a field at a time: deleted,
retyped, emptied, zeroed, or a pattern made hostile (``\\é`` once sliced a Rust
string inside a character and panicked). Both backends must then either load it and
score lines to probabilities, or refuse it with ``ValueError``/``OSError``; a
``PanicException`` (a ``BaseException``, which nothing catches) fails the test.
"""

from __future__ import annotations

import contextlib
import copy
import gzip
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lookskip.model.reference import ReferenceModel

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "data" / "models" / "look_skip_model.json.gz"
LINES = [
    "2026-01-01 12:00:00 ERROR disk /dev/sda failed: I/O error (code=5)",
    "INFO started worker 7 in 0.3s",
    "\tat org.example.Foo.bar(Foo.java:12)",
    "",
    "caf\u00e9 \u00b2 \u2460 0xdeadbeef",
]
rs = pytest.importorskip("lookskip_rs")


def small_model() -> dict[str, Any]:
    """The shipped model with its vocabularies cut short: same shape, fast to load."""
    doc = json.loads(gzip.decompress(MODEL.read_bytes()))
    for block, n in (("word", 300), ("char", 1000)):
        for field in ("vocabulary", "idf"):
            doc[block][field] = doc[block][field][:n]
        doc["coef"][block] = doc["coef"][block][:n]
    doc.pop("trained", None)
    return doc


BASE = small_model()


def locations(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Paths to every field, and to the first few items of each array."""
    out = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc[:3])
    for k, v in items:
        path = (*prefix, k)
        out.append(path)
        if isinstance(v, dict | list):
            out.extend(locations(v, path))
    return out


PATHS = locations(BASE)


def _value_at(doc: Any, path: tuple) -> Any:
    for k in path:
        doc = doc[k]
    return doc


HOSTILE_STRINGS = ["\\\u00e9", "\u00e9", "\\", "(", "[", "a$", "\\<", "(?P<x>a)(?P<x>b)", "", "x"]
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.0, -1.0, 2.0, 1e308, math.nan, math.inf])
    | st.sampled_from(HOSTILE_STRINGS)
    | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=5,
)
PATTERN_PATHS = [p for p in PATHS if isinstance(_value_at(BASE, p), str)]
mutation = st.one_of(
    st.tuples(st.sampled_from(PATHS), st.sampled_from(["delete", "set"]), values),
    # every string field (patterns above all) made hostile, often enough to matter
    st.tuples(
        st.sampled_from(PATTERN_PATHS),
        st.just("set"),
        st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=6),
    ),
)


def mutate(doc: dict, path: tuple, how: str, value: Any) -> None:
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    key = path[-1]
    if how == "delete":
        del parent[key]
    else:
        parent[key] = value


def must_load_or_refuse(load, score) -> str:
    """``load()`` then ``score(model)``: 'loaded', or 'refused' on ValueError/OSError."""
    try:
        model = load()
    except (ValueError, OSError) as exc:
        assert str(exc), "a refusal says why"
        return "refused"
    except BaseException as exc:  # PanicException derives from BaseException
        pytest.fail(f"{type(exc).__name__} while loading: {exc}")
    try:
        probs = [float(p) for p in score(model)]
    except BaseException as exc:
        pytest.fail(f"{type(exc).__name__} while scoring a loaded model: {exc}")
    assert len(probs) == len(LINES)
    assert all(0.0 <= p <= 1.0 for p in probs), probs
    return "loaded"


def write(doc: dict, path: Path) -> str:
    path.write_text(json.dumps(doc))  # NaN/Infinity written as such: not JSON, refused
    return str(path)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(mutation, min_size=1, max_size=3))
def test_any_mutated_model_loads_or_is_refused_never_panics(tmp_path, mutations):
    doc = copy.deepcopy(BASE)
    for path, how, value in mutations:
        # (an earlier mutation may have removed or retyped the parent)
        with contextlib.suppress(KeyError, IndexError, TypeError):
            mutate(doc, path, how, value)
    path = write(doc, tmp_path / "model.json")
    must_load_or_refuse(lambda: rs.Classifier(path, threads=1), lambda m: m.predict_proba(LINES))
    must_load_or_refuse(lambda: ReferenceModel.load(path), lambda m: m.predict_proba_look(LINES))


BAD_MODELS = {
    "a backslash before a non-ASCII character": (("look_floor",), "\\\u00e9", "look_floor"),
    "a wrong field type": (("word", "vocabulary"), 3, "word.vocabulary"),
    "a missing field": (("coef",), None, "coef"),
    "a threshold above 1": (("threshold",), 2, "threshold"),
    "a bad pattern": (("handcrafted", "patterns", "KV"), "(", "KV"),
}


@pytest.mark.parametrize("case", list(BAD_MODELS))
@pytest.mark.parametrize("rust", [True, False], ids=["rust", "numpy"])
def test_a_bad_model_is_one_clear_line_from_the_cli(tmp_path, case, rust):
    """Defect 9 (numpy: a 13-frame TypeError, a KeyError: 'coef') and 15 (Rust: a panic)."""
    where, value, named = BAD_MODELS[case]
    doc = copy.deepcopy(BASE)
    mutate(doc, where, "delete" if value is None else "set", value)
    model = write(doc, tmp_path / "bad.json")
    log = tmp_path / "a.log"
    log.write_text("ERROR disk failed\n")
    env = {**os.environ, "LOOKSKIP_DATA_DIR": str(tmp_path)}
    env.pop("LOOKSKIP_NO_RUST", None)
    if not rust:
        env["LOOKSKIP_NO_RUST"] = "1"
    run = subprocess.run(
        [sys.executable, "-m", "cli.main", "classify", "--model", model, str(log)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr and "Panic" not in run.stderr
    errors = [ln for ln in run.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and named in errors[0], run.stderr
