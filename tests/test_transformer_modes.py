"""The classification modes (``classify --model tfidf|transformer|cascade|blend``) end to end.

A tiny config-initialised BERT trained on template-key inputs with the project's own
commands (``train-transformer --base-model tiny --inputs keys``, ``export-transformer``)
is scored by the real Rust engine (candle) behind the TF-IDF model files lookskip
ships: every mode's probability follows its rule, Claude's answers and the keyword
floor apply in every mode, each distinct input is scored once, and the persistent
score cache changes no row.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli
from lookskip.classify.modes import blend
from lookskip.settings import get_settings
from lookskip.transformer.inputs import model_input

pytestmark = pytest.mark.transformer

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "data" / "models" / "look_skip_model.json.gz"


def _rs():
    rs = pytest.importorskip("lookskip_rs", reason="Rust extension not built (scripts/setup)")
    if not hasattr(rs, "BertClassifier"):
        pytest.fail("lookskip_rs was built without the `bert` feature; rebuild with scripts/setup")
    return rs


@pytest.fixture(scope="module")
def keys_export(tmp_path_factory, shared_data) -> Path:
    """A tiny BERT trained on template-key inputs and exported (1 epoch: only the
    plumbing is under test, not its quality)."""
    import torch

    from tests.test_transformer_stage import data_dir_env

    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("modes") / "data"
    d.mkdir()
    os.symlink(shared_data / "labels", d / "labels")
    with data_dir_env(d):
        runner = CliRunner()
        args = ["train-transformer", "--base-model", "tiny", "--epochs", "1", "--inputs", "keys"]
        args += ["--max-length", "48", "--datasets", "WebServer,Apache", "--holdout", "Apache"]
        res = runner.invoke(cli, [*args, "--device", "cpu"])
        assert res.exit_code == 0, res.output
        res = runner.invoke(cli, ["export-transformer", "--reference-lines", "8"])
        assert res.exit_code == 0, res.output
    export = d / "models" / "transformer" / "export"
    assert json.loads((export / "config.json").read_text())["lookskip_inputs"] == "keys"
    return export


def _model_copy(path: Path, **changes) -> Path:
    doc = json.loads(gzip.decompress(SHIPPED.read_bytes()))
    doc.update(changes)
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    return path


@pytest.fixture(scope="module")
def no_floor(tmp_path_factory) -> Path:
    """The shipped TF-IDF model without its keyword floor: the rules alone."""
    return _model_copy(tmp_path_factory.mktemp("m") / "nofloor.json.gz", look_floor=None)


@pytest.fixture(scope="module")
def lines(shared_data) -> list[str]:
    return (shared_data / "loghub" / "Apache_2k.log").read_text("utf-8").splitlines()[:600]


def _transformer_probs(bert, lines: list[str]) -> np.ndarray:
    inputs = [model_input(ln) for ln in lines]
    distinct = list(dict.fromkeys(inputs))
    q = dict(zip(distinct, bert.predict_proba(distinct), strict=True))
    return np.array([q[t] for t in inputs])


def test_transformer_mode_scores_each_distinct_model_input_once(keys_export, no_floor, lines):
    rs = _rs()
    bert = rs.BertClassifier(str(keys_export), device="cpu", threads=1)
    assert bert.inputs == "keys"
    clf = rs.Classifier(str(no_floor), threads=1, mode="transformer", bert=bert)
    assert clf.mode == "transformer" and clf.threshold == bert.threshold
    got = clf.predict_proba(lines)
    np.testing.assert_allclose(got, _transformer_probs(bert, lines), atol=1e-6, rtol=0)
    distinct = len(set(map(model_input, lines)))
    assert clf.transformer_stats()["scored"] == distinct < len(lines) / 10
    again = clf.predict_proba(lines[::-1])
    assert clf.transformer_stats()["scored"] == distinct  # nothing new
    assert list(again) == list(got[::-1])
    with pytest.raises(ValueError, match="needs a transformer"):
        rs.Classifier(str(no_floor), mode="blend")
    with pytest.raises(ValueError, match="unknown mode"):
        rs.Classifier(str(no_floor), mode="bert", bert=bert)


def test_cascade_and_blend_follow_their_rules(keys_export, no_floor, lines):
    rs = _rs()
    bert = rs.BertClassifier(str(keys_export), device="cpu", threads=1)
    p_tfidf = rs.Classifier(str(no_floor), threads=1).predict_proba(lines)
    q = _transformer_probs(bert, lines)
    mix = rs.Classifier(str(no_floor), threads=1, mode="blend", bert=bert)
    assert mix.threshold == blend(0.5, bert.threshold) and mix.tfidf_threshold == 0.5
    want = [blend(a, b) for a, b in zip(p_tfidf, q, strict=True)]
    np.testing.assert_allclose(mix.predict_proba(lines), want, atol=1e-6, rtol=0)
    cas = rs.Classifier(
        str(no_floor), threads=1, mode="cascade", bert=bert, candidate_threshold=0.2
    )
    got = cas.predict_proba(lines)
    candidates = p_tfidf >= 0.2
    assert 0 < candidates.sum() < len(lines)
    np.testing.assert_allclose(got[candidates], q[candidates], atol=1e-6, rtol=0)
    assert (got[~candidates] < cas.threshold).all()  # TF-IDF said SKIP: never LOOK
    # only the candidates' inputs were scored
    inputs = {model_input(ln) for ln, c in zip(lines, candidates, strict=True) if c}
    assert cas.transformer_stats()["scored"] == len(inputs)


def test_answers_and_the_keyword_floor_apply_in_every_mode(keys_export, lines, tmp_path):
    rs = _rs()
    tfidf = rs.Classifier(str(SHIPPED), threads=1)
    keys = [tfidf.template_key(ln) for ln in lines]
    skip_key = next(k for k in keys if "[error]" in k)
    look_key = next(k for k in keys if "[notice]" in k)
    answers = [
        {"template": skip_key, "label": "SKIP", "reason": "known noise"},
        {"template": look_key, "label": "LOOK", "reason": "matters here"},
    ]
    model = _model_copy(tmp_path / "answered.json.gz", answers=answers)
    floor = re.compile(json.loads(gzip.decompress(SHIPPED.read_bytes()))["look_floor"])
    bert = rs.BertClassifier(str(keys_export), device="cpu", threads=1)
    for mode in ("tfidf", "transformer", "cascade", "blend"):
        clf = rs.Classifier(str(model), threads=1, mode=mode, bert=bert)
        p = clf.predict_proba(lines)
        for k, pk in zip(keys, p, strict=True):
            if k == skip_key:
                assert pk == 0.0, mode
            elif k == look_key:
                assert pk == 1.0, mode
            elif floor.search(k):
                assert pk >= clf.threshold, (mode, k)
        # rows say an answer decided them, in every mode
        rows = clf.classify_file(str(_log(tmp_path, lines)))["look_lines"]
        answered = [r for r in rows if tfidf.template_key(r[2]) == look_key]
        assert answered and all(r[3].get("source") == "claude" for r in answered), mode


def _log(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "apache.log"
    if not path.exists():
        path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def test_candle_matches_torch_on_the_reference_inputs_in_the_engine(keys_export, no_floor):
    """Parity: the export's reference outputs (torch) against candle, directly and
    through the transformer mode (reference lines are model inputs: fixed points)."""
    rs = _rs()
    ref = json.loads((keys_export / "reference_outputs.json").read_text())
    assert all(model_input(t) == t for t in ref["lines"])
    bert = rs.BertClassifier(str(keys_export), device="cpu", threads=1)
    np.testing.assert_allclose(
        bert.predict_proba(ref["lines"]), ref["probabilities"], atol=1e-4, rtol=0
    )
    clf = rs.Classifier(str(no_floor), threads=1, mode="transformer", bert=bert)
    np.testing.assert_allclose(
        clf.predict_proba(ref["lines"]), ref["probabilities"], atol=1e-4, rtol=0
    )


def test_cache_off_on_and_persisted_give_identical_scores(keys_export, no_floor, lines):
    rs = _rs()
    bert = rs.BertClassifier(str(keys_export), device="cpu", threads=1)
    for mode in ("transformer", "cascade", "blend"):
        cached = rs.Classifier(str(no_floor), threads=1, mode=mode, bert=bert)
        off = rs.Classifier(
            str(no_floor), threads=1, mode=mode, bert=bert, cache_mib=0, memo_entries=0
        )
        want = cached.predict_proba(lines)
        assert list(off.predict_proba(lines)) == list(want), mode
        kept = cached.take_transformer_scores()
        assert len(kept) == cached.transformer_stats()["scored"] > 0
        warm = rs.Classifier(str(no_floor), threads=1, mode=mode, bert=bert)
        assert warm.load_transformer_scores(kept) == len(kept)
        assert list(warm.predict_proba(lines)) == list(want), mode
        assert warm.transformer_stats()["scored"] == 0, mode


def _classify(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, ["classify", *args])
    return res.exit_code, res.stdout, res.output


def test_classify_cli_modes_with_a_persistent_score_cache(
    keys_export, no_floor, lines, tmp_path, data_dir, monkeypatch
):
    _rs()
    monkeypatch.setenv("LOOKSKIP_DEVICE", "cpu")
    monkeypatch.setenv("LOOKSKIP_THREADS", "1")
    get_settings.cache_clear()
    log = _log(tmp_path, lines)
    exp = ["--bert-model", str(keys_export)]
    outputs = {}
    for name, extra in (("off", ["--no-score-cache"]), ("cold", []), ("warm", [])):
        out = tmp_path / name
        code, _, text = _classify(
            "--model", "transformer", *exp, *extra, str(log), "--output", str(out)
        )
        assert code == 0, text
        outputs[name] = ((out / "apache.log.look.jsonl").read_bytes(), text)
    distinct = len(set(map(model_input, lines)))
    assert f"scored {distinct:,} new inputs" in outputs["off"][1]
    assert f"scored {distinct:,} new inputs" in outputs["cold"][1]
    assert "scored 0 new inputs" in outputs["warm"][1]  # the second run scores nothing
    assert outputs["off"][0] == outputs["cold"][0] == outputs["warm"][0]
    caches = list((data_dir / "cache" / "transformer").glob("*.sqlite"))
    assert len(caches) == 1
    from lookskip.transformer.scorecache import ScoreCache

    assert len(ScoreCache(str(caches[0]))) == distinct
    rows = [json.loads(r) for r in outputs["cold"][0].splitlines()]
    assert rows and all(list(r) == ["file", "line", "prob", "text"] for r in rows)

    # cascade: --bert is its alias; rows carry prob_tfidf, on stdout as in files
    code, cascade_out, text = _classify("--model", "cascade", *exp, str(log))
    assert code == 0, text
    code, bert_out, _ = _classify("--bert", *exp, str(log))
    assert code == 0 and bert_out == cascade_out
    rows = [json.loads(r) for r in cascade_out.splitlines()]
    assert rows and all(list(r) == ["file", "line", "prob", "prob_tfidf", "text"] for r in rows)
    code, _, text = _classify("--model", "cascade", *exp, str(log), "--output", str(tmp_path / "c"))
    assert code == 0, text
    assert (tmp_path / "c" / "apache.log.look.jsonl").read_text() == cascade_out
    code, blend_out, _ = _classify("--model", "blend", *exp, str(log))
    assert code == 0 and all("prob_tfidf" in json.loads(r) for r in blend_out.splitlines())

    # --tfidf-model names the TF-IDF model file beside a mode
    out = tmp_path / "own"
    args = [
        "--model",
        "blend",
        "--tfidf-model",
        str(no_floor),
        *exp,
        str(log),
        "--output",
        str(out),
    ]
    code, _, text = _classify(*args)
    assert code == 0, text
    run = json.loads((out / "summary.json").read_text())["run"]
    assert run["model"] == str(no_floor) and run["scored_by"] == "blend"

    # clear one-line errors
    code, _, text = _classify("--model", str(SHIPPED), "--tfidf-model", str(no_floor), str(log))
    assert code == 2 and "--tfidf-model goes with --model MODE" in text
    code, _, text = _classify("--model", "transformer", *exp, "--why", str(log))
    assert code == 2 and "--why" in text
    code, _, text = _classify("--model", "blend", "--bert", *exp, str(log))
    assert code == 2 and "--bert means --model cascade" in text
    code, _, text = _classify("--model", "transformer", "--bert-model", str(tmp_path), str(log))
    assert code == 1 and "no transformer export" in text
    get_settings.cache_clear()


def test_the_shipped_transformer_matches_torch_through_the_engine(no_floor):
    """Parity of the export lookskip ships (data/models/transformer): candle through the
    transformer mode against the torch outputs recorded at export, within 1e-4."""
    from lookskip.shipped import shipped_file

    rs = _rs()
    weights = shipped_file("models/transformer/model.safetensors")
    if weights is None:
        pytest.skip("no shipped transformer in data/models/transformer (yet)")
    ref = json.loads((weights.parent / "reference_outputs.json").read_text())
    bert = rs.BertClassifier(str(weights.parent), device="cpu", threads=1)
    assert bert.inputs == "keys"
    clf = rs.Classifier(str(no_floor), threads=1, mode="transformer", bert=bert)
    np.testing.assert_allclose(
        clf.predict_proba(ref["lines"]), ref["probabilities"], atol=1e-4, rtol=0
    )


def test_cascade_rows_from_a_zip_member_match_the_plain_file(
    keys_export, lines, tmp_path, data_dir, monkeypatch
):
    """Zip members are read by Python and handed to the Rust reader as blocks
    (lookskip.bulk.scan): their rows carry prob_tfidf too, the plain file's rows."""
    import zipfile

    _rs()
    monkeypatch.setenv("LOOKSKIP_DEVICE", "cpu")
    get_settings.cache_clear()
    log = _log(tmp_path, lines)
    with zipfile.ZipFile(tmp_path / "logs.zip", "w") as z:
        z.write(log, "apache.log")
    exp = ["--model", "cascade", "--bert-model", str(keys_export)]
    for name in ("apache.log", "logs.zip"):
        code, _, text = _classify(*exp, str(tmp_path / name), "--output", str(tmp_path / name[:4]))
        assert code == 0, text
    plain = [json.loads(r) for r in (tmp_path / "apac" / "apache.log.look.jsonl").open()]
    member = [json.loads(r) for r in next((tmp_path / "logs").rglob("*.look.jsonl")).open()]
    assert plain and all("prob_tfidf" in r for r in plain)
    assert [{**r, "file": ""} for r in member] == [{**r, "file": ""} for r in plain]


def test_follow_rows_in_cascade_mode_carry_prob_tfidf(keys_export, lines, tmp_path, monkeypatch):
    """``classify --follow`` writes the bulk path's rows: in cascade (and blend) mode
    each carries TF-IDF's probability beside the mode's, the same as ``--output``."""
    from lookskip.classify.follow import follow
    from lookskip.classify.scorer import load_scorer

    _rs()
    monkeypatch.setenv("LOOKSKIP_DEVICE", "cpu")
    get_settings.cache_clear()
    log = _log(tmp_path, lines)
    scorer = load_scorer(None, threads=1, mode="cascade", bert_model=str(keys_export))
    got: list = []
    follow(str(log), scorer, got.extend, from_start=True, poll_s=0.01, stop=lambda: bool(got))
    code, _, text = _classify(
        "--model",
        "cascade",
        "--bert-model",
        str(keys_export),
        str(log),
        "--output",
        str(tmp_path / "out"),
    )
    assert code == 0, text
    bulk = [json.loads(r) for r in (tmp_path / "out" / "apache.log.look.jsonl").open()]
    assert got and len(got) <= len(bulk)  # the polls read so far: a prefix of the file
    assert [(r[0], r[3]["prob_tfidf"]) for r in got] == [
        (r["line"], pytest.approx(r["prob_tfidf"], abs=1e-9)) for r in bulk[: len(got)]
    ]
